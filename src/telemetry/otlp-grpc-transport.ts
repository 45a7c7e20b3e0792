/**
 * OTLP/gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export` — what Istio's
 * `opentelemetry` extension provider speaks when it has no `http` block (collector port 4317).
 * Plaintext, as a waypoint's own telemetry traffic is; the schema is the project's
 * `proto/opentelemetry/trace_service.proto`, loaded once on first use (config time).
 */
const path = process.getBuiltinModule('node:path');
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadSync } from '@grpc/proto-loader';
import { PROJECT_PROTO_DIR } from '../grpc/proto-paths.js';
import type { OtlpSpan } from './otlp-span.js';
import type { SpanBatchOptions, SpanTransport } from './span-exporter.js';
import { SpanExporter } from './span-exporter.js';

export const OTLP_EXPORT_METHOD = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** The request as proto-loader's (camelCase) object form. */
export interface ExportRequestMessage {
  readonly resourceSpans: readonly {
    readonly resource: { readonly attributes: readonly unknown[] };
    readonly scopeSpans: readonly { readonly scope: { readonly name: string }; readonly spans: readonly unknown[] }[];
  }[];
}

let method: MethodDefinition<ExportRequestMessage, object> | undefined;

/** The Export method's (de)serializers; also used by test receivers. */
export function otlpExportMethod(): MethodDefinition<ExportRequestMessage, object> {
  if (method) return method;
  const def = loadSync(path.join(PROJECT_PROTO_DIR, 'opentelemetry', 'trace_service.proto'), { longs: String, defaults: false, oneofs: true });
  const service = def['opentelemetry.proto.collector.trace.v1.TraceService'] as Record<string, MethodDefinition<ExportRequestMessage, object>> | undefined;
  const m = service?.['Export'];
  if (!m) throw new Error('TraceService/Export missing from proto/opentelemetry/trace_service.proto');
  method = m;
  return m;
}

/** JSON-mapping span → proto object: hex ids become bytes, the rest keeps its shape. */
function toProtoSpan(s: OtlpSpan): object {
  return {
    traceId: Buffer.from(s.traceId, 'hex'),
    spanId: Buffer.from(s.spanId, 'hex'),
    ...(s.parentSpanId ? { parentSpanId: Buffer.from(s.parentSpanId, 'hex') } : {}),
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: s.startTimeUnixNano,
    endTimeUnixNano: s.endTimeUnixNano,
    attributes: s.attributes,
    status: s.status,
  };
}

export interface OtlpGrpcOptions {
  /** `host:port` of the collector's OTLP/gRPC listener. */
  readonly address: string;
  readonly serviceName: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export class OtlpGrpcTransport implements SpanTransport {
  readonly target: string;
  private readonly client: grpc.Client;
  private readonly metadata = new grpc.Metadata();
  private readonly method = otlpExportMethod();

  constructor(private readonly opts: OtlpGrpcOptions) {
    this.target = `grpc://${opts.address}`;
    this.client = new grpc.Client(opts.address, grpc.credentials.createInsecure());
    for (const [k, v] of Object.entries(opts.headers ?? {})) this.metadata.set(k, v);
  }

  send(spans: readonly OtlpSpan[]): Promise<boolean> {
    const request: ExportRequestMessage = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: this.opts.serviceName } }] },
          scopeSpans: [{ scope: { name: 'ambient-waypoint' }, spans: spans.map(toProtoSpan) }],
        },
      ],
    };
    const deadline = Date.now() + (this.opts.timeoutMs ?? 5000);
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(OTLP_EXPORT_METHOD, this.method.requestSerialize, this.method.responseDeserialize, request, this.metadata, { deadline }, (err) =>
        resolve(!err),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

/** A batching exporter over OTLP/gRPC. */
export class OtlpGrpcExporter extends SpanExporter {
  constructor(opts: OtlpGrpcOptions & SpanBatchOptions) {
    super(new OtlpGrpcTransport(opts), opts);
  }
}
