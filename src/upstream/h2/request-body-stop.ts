/**
 * Stops reading an upstream request body the exchange no longer sends (the response ended first,
 * the request failed or was aborted). Shared by both HTTP/2 upstream clients.
 */
const { IncomingMessage } = process.getBuiltinModule('node:http');
type Readable = import('node:stream').Readable;

/**
 * The body is destroyed as undici did, except a body that does not destroy itself (an inner
 * HTTP/2 request's stream, whose writable side is the response still to be sent: destroying it
 * would reset the client's stream), which is only paused.
 */
export function stopRequestBody(body: Readable | undefined, err?: Error): void {
  if (!body || body.destroyed) return;
  if ((body as Readable & { _readableState?: { autoDestroy?: boolean } })._readableState?.autoDestroy === false) {
    body.pause();
    return;
  }
  // A downstream IncomingMessage is detached from its socket first (as undici did), so
  // destroying it does not close the client's connection before the waypoint answers.
  if (body instanceof IncomingMessage) (body as { socket: unknown }).socket = null;
  body.destroy(err);
}
