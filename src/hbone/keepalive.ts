/**
 * HTTP/2 keepalive as ztunnel and Envoy do it on HBONE: a PING every interval; a PING unanswered
 * for the timeout means the peer (or the path) is gone, and the session is destroyed so its
 * streams fail fast instead of hanging on a dead TCP connection.
 */
import type { Http2Session } from 'node:http2';
import { KEEPALIVE_INTERVAL_MS, KEEPALIVE_TIMEOUT_MS } from './settings.js';

export interface KeepaliveOptions {
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

export class KeepaliveTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`HTTP/2 keepalive PING unanswered for ${timeoutMs} ms`);
    this.name = 'KeepaliveTimeoutError';
  }
}

/** Starts the PING loop; it stops by itself when the session closes. Returns a stop function. */
export function startKeepalive(session: Http2Session, opts: KeepaliveOptions = {}): () => void {
  const intervalMs = opts.intervalMs ?? KEEPALIVE_INTERVAL_MS;
  const timeoutMs = opts.timeoutMs ?? KEEPALIVE_TIMEOUT_MS;
  let deadline: NodeJS.Timeout | undefined;

  const stop = (): void => {
    clearInterval(interval);
    clearTimeout(deadline);
    deadline = undefined;
    session.off('close', stop);
  };

  const tick = (): void => {
    if (session.destroyed || session.closed) {
      stop();
      return;
    }
    if (deadline) return; // one PING in flight at a time
    let sent: boolean;
    try {
      sent = session.ping((err) => {
        clearTimeout(deadline);
        deadline = undefined;
        // A cancelled PING means the session is going away; its own close handles the rest.
        if (err) stop();
      });
    } catch {
      stop();
      return;
    }
    if (!sent) return; // too many outstanding pings: nghttp2 still counts earlier ones
    deadline = setTimeout(() => {
      stop();
      if (!session.destroyed) session.destroy(new KeepaliveTimeoutError(timeoutMs));
    }, timeoutMs);
    deadline.unref();
  };

  const interval = setInterval(tick, intervalMs);
  interval.unref();
  session.once('close', stop);
  return stop;
}
