/**
 * The error a body stream's `_destroy` should report. Node emits 'error' on a later tick, and a
 * request body often loses its reader in between (an upstream attempt abandoned, a filter that
 * answered, a pipeline torn down): an 'error' nobody listens for is an uncaught exception, which
 * would take the whole proxy down for one bad request. So the error is reported only to a reader
 * listening when the stream is destroyed, and a no-op listener catches it if that reader leaves.
 */
import type { Readable } from 'node:stream';

function ignoreError(): void {}

export function guardedDestroyError(stream: Readable, err: Error | null): Error | null {
  if (err === null || stream.listenerCount('error') === 0) return null;
  stream.once('error', ignoreError);
  return err;
}
