/**
 * Reads a stream's first bytes until a classifier decides, then puts every byte back
 * (`unshift`), leaving the stream **paused** for its consumer to attach listeners and `resume()`.
 * Shared by protocol sniffing (HTTP/1, HTTP/2 or TCP) and the TLS ClientHello inspector (SNI).
 *
 * A stream that ends, fails, times out or passes `maxBytes` before a decision gets `fallback`.
 * When its readable side ended first, the bytes read cannot be put back (Node forbids `unshift`
 * after `end`): they are returned as `endedWith` for the consumer to forward itself.
 */
import type { Duplex } from 'node:stream';

export interface PrefixRead<T> {
  readonly value: T;
  readonly endedWith?: Buffer;
}

export interface PrefixReaderOptions<T> {
  /** `more` until the bytes so far decide. Called with the whole prefix each time. */
  readonly classify: (prefix: Buffer) => T | 'more';
  /** The answer when nothing decides. */
  readonly fallback: T;
  readonly maxBytes: number;
  /** Give up after this long without a decision. `undefined`: wait for bytes. */
  readonly timeoutMs?: number | undefined;
}

export function readPrefix<T>(stream: Duplex, opts: PrefixReaderOptions<T>): Promise<PrefixRead<T>> {
  return new Promise((resolve) => new PrefixReader(stream, opts, resolve).start());
}

class PrefixReader<T> {
  private chunks: Buffer[] = [];
  private length = 0;
  private timer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly stream: Duplex,
    private readonly opts: PrefixReaderOptions<T>,
    private readonly resolve: (r: PrefixRead<T>) => void,
  ) {}

  start(): void {
    const s = this.stream;
    s.on('data', this.onData);
    s.once('end', this.onEnd);
    s.once('error', this.onGiveUp);
    s.once('close', this.onGiveUp);
    if (this.opts.timeoutMs !== undefined) this.timer = setTimeout(this.onGiveUp, this.opts.timeoutMs);
    s.resume();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const head = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.length);
    if (this.chunks.length > 1) this.chunks = [head];
    const c = this.opts.classify(head);
    if (c !== 'more') this.finish(c);
    else if (this.length >= this.opts.maxBytes) this.finish(this.opts.fallback);
  };

  private readonly onGiveUp = (): void => {
    this.finish(this.opts.fallback);
  };

  private readonly onEnd = (): void => {
    this.finish(this.opts.fallback, true);
  };

  private finish(value: T, ended = false): void {
    if (this.done) return;
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    const s = this.stream;
    s.pause();
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onGiveUp);
    s.off('close', this.onGiveUp);
    const head = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.length);
    if (ended) {
      this.resolve({ value, endedWith: head });
      return;
    }
    // Bytes go back in front of anything still buffered, so the consumer sees the stream intact.
    if (this.length > 0 && !s.destroyed) s.unshift(head);
    this.resolve({ value });
  }
}
