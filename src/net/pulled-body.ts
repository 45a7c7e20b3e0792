/**
 * A request body as a Readable that a codec feeds with `push()` and reads its connection for only
 * when asked: `_read` calls `resume` (so a paused body stops reading from the client: backpressure
 * end to end), and a destroy reports its error only to a reader still listening
 * ({@link guardedDestroyError}), as Node's IncomingMessage does. Shared by the HTTP/1.1 and HTTP/2
 * downstream codecs.
 */
const { Readable } = process.getBuiltinModule('node:stream');
import { guardedDestroyError } from './guarded-destroy-error.js';

export class PulledBody extends Readable {
  constructor(private readonly pull: () => void) {
    super();
  }

  override _read(): void {
    this.pull();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    cb(guardedDestroyError(this, err));
  }
}
