/**
 * OTLP/HTTP with JSON bodies: `POST <endpoint><path>` (default path `/v1/traces`) carrying an
 * `ExportTraceServiceRequest`, with the provider's extra headers and a per-request timeout.
 */
import type { OtlpSpan } from './otlp-span.js';
import type { SpanBatchOptions, SpanTransport } from './span-exporter.js';
import { SpanExporter } from './span-exporter.js';

export interface OtlpHttpOptions {
  /** Collector base URL, e.g. `http://127.0.0.1:4318`. */
  readonly endpoint: string;
  /** Default `/v1/traces` (OTLP/HTTP's and Istio's). */
  readonly path?: string;
  readonly serviceName: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export class OtlpHttpTransport implements SpanTransport {
  readonly target: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: OtlpHttpOptions) {
    this.target = `${opts.endpoint.replace(/\/$/, '')}${opts.path ?? '/v1/traces'}`;
    this.headers = { ...opts.headers, 'content-type': 'application/json' };
  }

  async send(spans: readonly OtlpSpan[]): Promise<boolean> {
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: this.opts.serviceName } }] },
          scopeSpans: [{ scope: { name: 'ambient-waypoint' }, spans }],
        },
      ],
    });
    try {
      const res = await fetch(this.target, { method: 'POST', headers: this.headers, body, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  close(): void {}
}

/** A batching exporter over OTLP/HTTP. */
export class OtlpHttpExporter extends SpanExporter {
  constructor(opts: OtlpHttpOptions & SpanBatchOptions) {
    super(new OtlpHttpTransport(opts), opts);
  }
}
