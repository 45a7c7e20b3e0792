/**
 * A span transport whose implementation is loaded on first need. The OTLP/gRPC transport pulls in
 * @grpc/grpc-js and @grpc/proto-loader (~15 MiB of RSS and a few hundred ms at start-up): a
 * waypoint that never exports over gRPC should not pay for them. `load` starts at once (config
 * time), so the first batch normally finds the transport ready.
 */
import type { OtlpSpan } from './otlp-span.js';
import type { SpanTransport } from './span-exporter.js';

export class DeferredSpanTransport implements SpanTransport {
  private inner: SpanTransport | undefined;
  private closed = false;
  private readonly loading: Promise<SpanTransport | undefined>;

  constructor(
    readonly target: string,
    load: () => Promise<SpanTransport>,
  ) {
    this.loading = load().then(
      (t) => {
        if (this.closed) {
          t.close();
          return undefined;
        }
        this.inner = t;
        return t;
      },
      // An installed dependency that fails to load leaves the batches counted as failed sends.
      () => undefined,
    );
  }

  async send(batch: readonly OtlpSpan[]): Promise<boolean> {
    const t = this.inner ?? (await this.loading);
    return t ? t.send(batch) : false;
  }

  close(): void {
    this.closed = true;
    this.inner?.close();
  }
}
