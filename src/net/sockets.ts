/**
 * Every TCP socket the data plane makes or accepts is made here (house rule 6), so listen/connect
 * behaviour — half-open, no-delay, timeouts, error mapping — is decided once, and tests or other
 * deployment modes can change it in one place.
 */
const cluster = process.getBuiltinModule('node:cluster') as unknown as typeof import('node:cluster').default;
const net = process.getBuiltinModule('node:net');
declare namespace net { export type AddressInfo = import('node:net').AddressInfo; export type Server = import('node:net').Server; export type Socket = import('node:net').Socket; }
import type { Outcome } from '../failures.js';
import { fail, ok } from '../failures.js';

/** How long a TCP connect may take before it counts as failed (ztunnel's CONNECTION_TIMEOUT). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** A server for byte streams. `allowHalfOpen` so a peer's FIN does not end our side (pitfall 3). */
export function createTcpServer(onConnection: (socket: net.Socket) => void): net.Server {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false, noDelay: true }, onConnection);
  return server;
}

/** Binds `server` to host:port (0 = any free port) and resolves with the bound address. */
export function listenTcp(server: net.Server, host: string, port: number): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server.address() as net.AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    // exclusive: a second process binding the same ip:port must fail, not share it — except the
    // workers of one `--concurrency` role, which share every listener through node:cluster.
    server.listen({ host, port, exclusive: !cluster.isWorker });
  });
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Source address to bind; ztunnel keeps the client's address, the waypoint uses its own. */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

/**
 * Opens a TCP connection. Resolves `ok` once connected, or with `APP_CONNECT_FAILED` (refused,
 * unreachable, timed out): an expected outcome, never a throw.
 */
export function connectTcp(opts: ConnectOptions): Promise<Outcome<net.Socket>> {
  return new Promise((resolve) => {
    const socket = net.connect({
      host: opts.host,
      port: opts.port,
      allowHalfOpen: true,
      noDelay: true,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    const timeout = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      resolve(fail('APP_CONNECT_FAILED', `connect to ${opts.host}:${opts.port} timed out after ${timeout} ms`));
    }, timeout);
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      resolve(fail('APP_CONNECT_FAILED', `connect to ${opts.host}:${opts.port}: ${err.message}`));
    };
    const onConnect = (): void => {
      cleanup();
      resolve(ok(socket));
    };
    function cleanup(): void {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('connect', onConnect);
    }
    socket.once('error', onError);
    socket.once('connect', onConnect);
  });
}

/** Closes a server: stop accepting now, wait for its connections until the deadline, then resolve. */
export function closeTcpServer(server: net.Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, deadlineMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Closes a socket so its peer sees a reset (RST), not a clean end of data. libuv cannot RST-close
 * a socket whose write side was already shut down (uv_tcp_close_reset fails with EINVAL after
 * uv_shutdown), and Node then never closes the handle — a leak. Our FIN is already sent in that
 * case, so a plain destroy is all that is left to do.
 */
export function resetSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (!socket.writableEnded && !socket.connecting) socket.resetAndDestroy();
  else socket.destroy();
}
