/**
 * Envoy's HTTP connection manager `idle_timeout` (1 h by default) for an inner HTTP/2 session:
 * the time a downstream connection may stay open with no active stream. When it passes, the
 * session gets GOAWAY and closes (Envoy drains it the same way). Streams that are open but quiet
 * do not count as idle here: that would be the stream idle timeout's business.
 *
 * HTTP/1.1 tunnels get the same limit from Node's `keepAliveTimeout` (armed after a response,
 * cleared by the next request), set in http-proxy.ts.
 */
import type { ServerHttp2Session } from 'node:http2';

export function closeWhenIdle(session: ServerHttp2Session, idleMs: number): void {
  if (!(idleMs > 0) || !Number.isFinite(idleMs)) return;
  let active = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => {
      timer = undefined;
      if (active === 0 && !session.closed && !session.destroyed) session.close();
    }, idleMs);
    timer.unref();
  };
  session.on('stream', (stream) => {
    active++;
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    stream.once('close', () => {
      if (--active === 0 && !session.closed) arm();
    });
  });
  session.once('close', () => {
    if (timer !== undefined) clearTimeout(timer);
  });
  arm();
}
