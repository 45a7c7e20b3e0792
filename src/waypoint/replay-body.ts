/**
 * A request body kept for replay, so a retry can send it again byte for byte (Envoy buffers the
 * request for retries up to `per_request_buffer_limit_bytes`, 1 MiB by default).
 *
 * The body streams to the current attempt as it arrives, and a copy is kept. A retry gets a new
 * stream: everything received so far, then the rest as it arrives. Past the limit the copy is
 * dropped and {@link ReplayBody.overflowed} says so: the request then streams on but is not
 * retried (Envoy: "buffer limit exceeded, retries disabled").
 *
 * Backpressure: the source is paused while the current attempt cannot take more and while no
 * attempt is reading (during a retry's back-off), so nothing arrives that could not be kept.
 */
const { Readable } = process.getBuiltinModule('node:stream');
type Readable = import('node:stream').Readable;

/** Envoy's default per-request buffer limit (the listener's connection buffer limit). */
export const DEFAULT_REPLAY_LIMIT_BYTES = 1024 * 1024;

class AttemptBody extends Readable {
  constructor(private readonly owner: ReplayBody) {
    super();
  }

  override _read(): void {
    this.owner.wanted(this);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.owner.detached(this);
    cb(err);
  }
}

export class ReplayBody {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private ended = false;
  private failure: Error | undefined;
  private current: AttemptBody | undefined;
  /** The kept copy was dropped: a retry can no longer send the whole body. */
  overflowed = false;

  constructor(
    private readonly source: Readable,
    private readonly limit: number = DEFAULT_REPLAY_LIMIT_BYTES,
  ) {
    source.on('data', this.onData);
    source.once('end', this.onEnd);
    source.once('error', this.onError);
    source.pause();
  }

  /** A body stream for the next attempt; the previous attempt's stream is detached. */
  stream(): Readable {
    const old = this.current;
    this.current = undefined;
    old?.destroy();
    const s = new AttemptBody(this);
    this.current = s;
    for (const c of this.chunks) s.push(c);
    if (this.failure) s.destroy(this.failure);
    else if (this.ended) s.push(null);
    return s;
  }

  /** No retry can happen any more (the response started): stop keeping the copy. */
  release(): void {
    this.overflowed = true;
    this.chunks = [];
  }

  /** Stops reading: the exchange is over. */
  close(): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onError);
    this.chunks = [];
    this.current?.destroy();
    this.current = undefined;
  }

  /** @internal The current attempt wants more. */
  wanted(s: AttemptBody): void {
    if (s === this.current && !this.ended) this.source.resume();
  }

  /** @internal An attempt's stream went away. */
  detached(s: AttemptBody): void {
    if (s !== this.current) return;
    this.current = undefined;
    this.source.pause();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.overflowed) {
      this.bytes += chunk.length;
      if (this.bytes > this.limit) {
        this.overflowed = true;
        this.chunks = [];
      } else this.chunks.push(chunk);
    }
    const cur = this.current;
    if (!cur || !cur.push(chunk)) this.source.pause();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.current?.push(null);
  };

  private readonly onError = (err: unknown): void => {
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.current?.destroy(this.failure);
  };
}
