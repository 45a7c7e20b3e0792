/**
 * The life of one ADS gRPC stream, shared by the state-of-the-world and the delta clients: open
 * it with the call metadata, hand each response to the protocol, and on error or end reconnect
 * with backoff (reporting `connected` / `disconnected`), until closed. The protocols differ only
 * in what they send when a stream opens and how they answer a response.
 */
import * as grpc from '@grpc/grpc-js';
import { Backoff } from './xds-backoff.js';
import type { XdsClientOptions } from './xds-client.js';

export type AdsDuplex = grpc.ClientDuplexStream<object, Record<string, unknown>>;

export interface AdsMethod {
  readonly path: string;
  readonly requestSerialize: (value: object) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => Record<string, unknown>;
}

export const INVALID_ARGUMENT = 3;

export abstract class AdsStream {
  private readonly client: grpc.Client;
  private readonly backoff: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  protected stream: AdsDuplex | undefined;
  connected = false;

  constructor(protected readonly opts: XdsClientOptions) {
    this.client = new grpc.Client(opts.address, opts.credentials);
    this.backoff = opts.backoff ?? new Backoff();
  }

  start(): void {
    this.connect();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
  }

  /** The bidi method (SotW or delta). */
  protected abstract method(): AdsMethod;
  /** A new stream is open: send the initial requests on it. */
  protected abstract onOpen(stream: AdsDuplex): void;
  protected abstract onResponse(res: Record<string, unknown>): void;

  private connect(): void {
    if (this.closed) return;
    const m = this.method();
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.opts.metadata?.() ?? {})) md.set(k, v);
    const stream = this.client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, md) as AdsDuplex;
    this.stream = stream;
    this.onOpen(stream);
    stream.on('data', (res: Record<string, unknown>) => {
      if (!this.connected) {
        this.connected = true;
        this.backoff.reset();
        this.opts.onEvent?.({ kind: 'connected' });
      }
      this.onResponse(res);
    });
    stream.on('error', (err: Error) => this.onBroken(stream, err.message));
    stream.on('end', () => this.onBroken(stream, 'stream ended by the control plane'));
  }

  private onBroken(stream: AdsDuplex, error: string): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.connected = false;
    stream.cancel();
    if (this.closed) return;
    const retryInMs = this.backoff.next();
    this.opts.onEvent?.({ kind: 'disconnected', error, retryInMs });
    this.timer = setTimeout(() => this.connect(), retryInMs);
    this.timer.unref();
  }
}
