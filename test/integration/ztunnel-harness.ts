/**
 * A two-node local mesh for ztunnel integration tests: a test CA, a mutable view, one Ztunnel per
 * node, plain TCP apps on pod IPs that record what they saw, and a SOCKS5 client that connects
 * "from" a pod. Everything binds loopback addresses from the file's own random block.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { WorkloadIR } from '../../src/config/ir.js';
import { socks5Connect, Socks5Error } from '../../src/net/socks5-client.js';
import type { MeshView } from '../../src/state/mesh-view.js';
import type { ConnectionRecord } from '../../src/ztunnel/connection-record.js';
import { Ztunnel } from '../../src/ztunnel/ztunnel.js';
import type { ZtunnelOptions } from '../../src/ztunnel/ztunnel.js';
import { mutableViewSource } from '../helpers/mesh-builders.js';
import type { MutableViewSource } from '../helpers/mesh-builders.js';
import { createTestCa } from '../helpers/test-ca.js';
import type { TestCa } from '../helpers/test-ca.js';

/**
 * How a test app answers: `echo` copies bytes back as they come; `after-end` waits for the client's
 * end, then answers `<bytes>:<sha256>` and ends (proves half-close); `bulk` hashes what it reads
 * while sending `bulk` pseudo-random bytes, then ends.
 */
export type AppBehavior = 'echo' | 'after-end' | { readonly bulk: number };

export interface AppConnection {
  readonly peerAddress: string;
  readonly peerPort: number;
  /** Set when the client's side ended: what the app read. */
  received?: { readonly bytes: number; readonly sha256: string };
  /** Set for bulk apps once everything was written. */
  sentSha256?: string;
  /** Set once the socket closed; `error` when it was reset rather than ended. */
  closed?: boolean;
  error?: string;
}

export interface TestApp {
  readonly ip: string;
  readonly port: number;
  readonly connections: AppConnection[];
  close(): Promise<void>;
}

export async function startApp(ip: string, port: number, behavior: AppBehavior): Promise<TestApp> {
  const connections: AppConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    const conn: AppConnection = { peerAddress: socket.remoteAddress ?? '', peerPort: socket.remotePort ?? 0 };
    socket.on('close', () => {
      sockets.delete(socket);
      conn.closed = true;
    });
    socket.on('error', (err) => (conn.error ??= err.message));
    connections.push(conn);
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    socket.on('end', () => {
      conn.received = { bytes, sha256: hash.digest('hex') };
      if (behavior === 'after-end') socket.end(`${conn.received.bytes}:${conn.received.sha256}`);
      if (behavior === 'echo') socket.end();
    });
    if (behavior === 'echo') {
      socket.on('data', (chunk: Buffer) => {
        if (!socket.write(chunk)) socket.pause();
      });
      socket.on('drain', () => socket.resume());
    } else if (behavior !== 'after-end') {
      void writeBulk(socket, behavior.bulk).then((sha) => (conn.sentSha256 = sha));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ip, port }, () => resolve());
  });
  return {
    ip,
    port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `total` pseudo-random bytes with backpressure, ends, and returns their sha256. */
export async function writeBulk(s: Duplex, total: number): Promise<string> {
  const hash = createHash('sha256');
  const block = Buffer.alloc(64 * 1024);
  let seed = 0x9e3779b9;
  let sent = 0;
  while (sent < total) {
    const n = Math.min(block.length, total - sent);
    for (let i = 0; i < n; i += 4) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      block.writeUInt32LE(seed, i);
    }
    const chunk = Buffer.from(block.subarray(0, n));
    hash.update(chunk);
    sent += n;
    if (!s.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          s.off('close', onClose);
          resolve();
        };
        const onClose = (): void => {
          s.off('drain', onDrain);
          reject(new Error('closed while writing'));
        };
        s.once('drain', onDrain);
        s.once('close', onClose);
      });
    }
  }
  s.end();
  return hash.digest('hex');
}

/** Reads to the end; resolves with the bytes (or what arrived before a reset, with `error`). */
export function readAll(s: Duplex): Promise<{ data: Buffer; sha256: string; error?: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    let error: Error | undefined;
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      hash.update(c);
    });
    s.on('error', (e: Error) => (error ??= e));
    s.once('close', () => {
      const data = Buffer.concat(chunks);
      resolve(error ? { data, sha256: hash.digest('hex'), error } : { data, sha256: hash.digest('hex') });
    });
  });
}

export interface ZtunnelMesh {
  readonly ca: TestCa;
  readonly view: MutableViewSource;
  readonly ztunnels: ReadonlyMap<string, Ztunnel>;
  readonly records: ConnectionRecord[];
  readonly errors: unknown[];
  /** Opens a SOCKS5 connection from `from` (bound to its IP) through its node's ztunnel. */
  socks(from: WorkloadIR, host: string, port: number, opts?: { readonly via?: string; readonly bindIp?: string | null }): Promise<net.Socket>;
  /** The SOCKS5 reply code of a CONNECT that must fail. */
  socksReply(from: WorkloadIR, host: string, port: number): Promise<number>;
  close(): Promise<void>;
}

/** `extra` adds per-node Ztunnel options (fixed listeners...). */
export async function startMesh(initial: MeshView, nodes: readonly string[], extra?: (node: string) => Partial<ZtunnelOptions>): Promise<ZtunnelMesh> {
  const ca = await createTestCa();
  const view = mutableViewSource(initial);
  const records: ConnectionRecord[] = [];
  const errors: unknown[] = [];
  const ztunnels = new Map<string, Ztunnel>();
  const opened = new Set<net.Socket>();
  for (const node of nodes) {
    const z = new Ztunnel({
      node,
      view,
      certs: ca.certSource,
      accessLog: (r) => records.push(r),
      socksHandshakeTimeoutMs: 2000,
      connectTimeoutMs: 3000,
      onError: (err) => errors.push(err),
      ...extra?.(node),
    });
    await z.start();
    ztunnels.set(node, z);
  }
  const socks = async (from: WorkloadIR, host: string, port: number, opts: { via?: string; bindIp?: string | null } = {}): Promise<net.Socket> => {
    const bind = opts.bindIp === null ? undefined : (opts.bindIp ?? from.ip);
    const s = await socks5Connect({
      proxyHost: opts.via ?? from.ip,
      proxyPort: 15080,
      host,
      port,
      timeoutMs: 10_000,
      ...(bind ? { localAddress: bind } : {}),
    });
    opened.add(s);
    s.once('close', () => opened.delete(s));
    return s;
  };
  return {
    ca,
    view,
    ztunnels,
    records,
    errors,
    socks,
    socksReply: async (from, host, port) => {
      try {
        const s = await socks(from, host, port);
        s.destroy();
        return assert.fail(`CONNECT to ${host}:${port} unexpectedly succeeded`);
      } catch (err) {
        if (err instanceof Socks5Error) return err.reply;
        throw err;
      }
    },
    close: async () => {
      for (const s of opened) s.destroy();
      await Promise.all([...ztunnels.values()].map((z) => z.close(500)));
      ca.close();
    },
  };
}

/** Sends `payload`, half-closes, and reads the whole answer. */
export async function exchange(s: net.Socket, payload: string | Buffer): Promise<Buffer> {
  const done = readAll(s);
  s.end(payload);
  const r = await done;
  if (r.error) throw r.error;
  return r.data;
}
