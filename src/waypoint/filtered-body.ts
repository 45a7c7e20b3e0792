/**
 * A request body passed through the filters' request-body hooks on its way upstream. Used only
 * when some filter has such a hook; otherwise the downstream request stream goes to the upstream
 * client untouched (no extra stream, no copies).
 *
 * At the end of the body, a request with trailers passes them through the trailer hooks (the
 * last chunk then went with `endOfStream` false, as in Envoy); one without gets the final empty
 * chunk with `endOfStream` true, during which filters may add trailers.
 *
 * Backpressure: the source is paused while the upstream cannot take more (`push` returned false)
 * and while an asynchronous hook is pending, so chunks stay in order and memory stays bounded.
 */
const { Readable } = process.getBuiltinModule('node:stream');
type Readable = import('node:stream').Readable;
import { guardedDestroyError } from '../net/guarded-destroy-error.js';
import type { FilterResult, Respond } from '../filter/api.js';
import { isAsync } from '../filter/api.js';
import type { ChainRun } from '../filter/chain.js';
import type { RequestTrailers } from './request-trailers.js';

const EMPTY = Buffer.alloc(0);

export class FilteredRequestBody extends Readable {
  private ended = false;

  /**
   * @param onReply called once if a hook answers with a local reply; the body then errors so the
   *   upstream attempt stops.
   */
  constructor(
    private readonly source: Readable,
    private readonly run: ChainRun,
    private readonly onReply: (reply: Respond) => void,
    private readonly trailers: RequestTrailers,
  ) {
    super();
    source.on('data', this.onData);
    source.once('end', this.onEnd);
    source.once('error', this.onSourceError);
    source.pause();
  }

  override _read(): void {
    if (!this.ended) this.source.resume();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onSourceError);
    cb(guardedDestroyError(this, err));
  }

  private readonly onData = (chunk: Buffer): void => {
    const r = this.run.requestBody(chunk, false);
    if (isAsync(r)) {
      this.source.pause();
      r.then((res) => {
        if (this.deliver(res, chunk)) this.source.resume();
      }, this.onSourceError);
      return;
    }
    if (!this.deliver(r, chunk)) this.source.pause();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    const received = this.trailers.received();
    let r;
    if (received) r = this.run.requestTrailers(received);
    else {
      this.trailers.allowAdding(true);
      r = this.run.requestBody(EMPTY, true);
      this.trailers.allowAdding(false);
    }
    if (isAsync(r)) {
      r.then((res) => this.finish(res), this.onSourceError);
      return;
    }
    this.finish(r);
  };

  private readonly onSourceError = (err: unknown): void => {
    this.destroy(err instanceof Error ? err : new Error(String(err)));
  };

  /** Forwards one chunk; false when the reader is full (or the stream stopped). */
  private deliver(r: FilterResult, chunk: Buffer): boolean {
    if (this.destroyed) return false;
    if (r.action === 'respond') {
      this.onReply(r);
      this.destroy(new Error('request body answered by a filter'));
      return false;
    }
    return this.push(r.body ?? chunk);
  }

  private finish(r: FilterResult): void {
    if (this.destroyed) return;
    if (r.action === 'respond') {
      this.deliver(r, EMPTY);
      return;
    }
    if (r.body && r.body.length > 0) this.push(r.body);
    this.push(null);
  }
}
