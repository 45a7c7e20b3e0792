/**
 * A state-of-the-world ADS client (`StreamAggregatedResources`): one gRPC stream, several resource
 * types, each with its own version and nonce. Transport only: decoded resources go to a handler
 * per type, which answers with the problems it found; the client then ACKs (the response's
 * version) or NACKs (the last accepted version, `error_detail` naming each rejected resource and
 * field). On a broken stream it reconnects with backoff and asks again for what it knew, sending
 * the last accepted versions so a control plane can skip unchanged pushes.
 */
import type * as grpc from '@grpc/grpc-js';
import type { DecodedResource, ResourceProblem } from '../config/from-xds/envoy-resources.js';
import { formatProblem } from '../config/from-xds/envoy-resources.js';
import type { AdsMethod } from './ads-stream.js';
import { AdsStream, INVALID_ARGUMENT } from './ads-stream.js';
import type { Backoff } from './xds-backoff.js';
import { adsSotwMethod } from './xds-protos.js';

export interface XdsNode {
  /** Istio's form: `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>`. */
  readonly id: string;
  readonly cluster: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface SotwTypeHandler {
  readonly typeUrl: string;
  /** Resource names to ask for; `undefined` = all (wildcard, LDS/CDS). Empty = do not ask yet. */
  names(): readonly string[] | undefined;
  /** Applies a response's resources; returns the rejected ones (none = ACK). */
  apply(resources: readonly DecodedResource[]): readonly ResourceProblem[];
}

export interface XdsClientOptions {
  /** `host:port` of the control plane (Istio's `XDS_ADDRESS`, e.g. `istiod.istio-system.svc:15012`). */
  readonly address: string;
  readonly credentials: grpc.ChannelCredentials;
  /** Per-call metadata, e.g. `authorization: Bearer <token>`. */
  readonly metadata?: () => Readonly<Record<string, string>>;
  readonly node: XdsNode;
  readonly backoff?: Backoff;
  readonly onEvent?: (event: XdsClientEvent) => void;
}

export type XdsClientEvent =
  | { readonly kind: 'connected' }
  | { readonly kind: 'disconnected'; readonly error: string; readonly retryInMs: number }
  | { readonly kind: 'ack'; readonly typeUrl: string; readonly version: string }
  | { readonly kind: 'nack'; readonly typeUrl: string; readonly version: string; readonly message: string };

interface TypeState {
  readonly handler: SotwTypeHandler;
  /** Last accepted version. */
  version: string;
  nonce: string;
  /** Names last sent (to notice when a resubscription is due). */
  sentNames: string | undefined;
}

export class XdsClient extends AdsStream {
  private readonly types = new Map<string, TypeState>();
  private sentNode = false;

  constructor(opts: XdsClientOptions, handlers: readonly SotwTypeHandler[]) {
    super(opts);
    for (const h of handlers) this.types.set(h.typeUrl, { handler: h, version: '', nonce: '', sentNames: undefined });
  }

  /** Re-sends the request of a type whose names changed (e.g. new RDS names after an LDS push). */
  resubscribe(typeUrl: string): void {
    const st = this.types.get(typeUrl);
    if (!st || !this.stream) return;
    const names = st.handler.names();
    if ((names === undefined ? '*' : names.join(',')) !== st.sentNames) this.request(st);
  }

  protected method(): AdsMethod {
    return adsSotwMethod();
  }

  protected onOpen(): void {
    this.sentNode = false;
    // Nonces belong to a stream; versions carry over so the server knows what we hold.
    for (const st of this.types.values()) {
      st.nonce = '';
      st.sentNames = undefined;
      this.request(st);
    }
  }

  protected onResponse(res: Record<string, unknown>): void {
    const typeUrl = typeof res['type_url'] === 'string' ? res['type_url'] : '';
    const st = this.types.get(typeUrl);
    if (!st) return;
    const version = typeof res['version_info'] === 'string' ? res['version_info'] : '';
    const nonce = typeof res['nonce'] === 'string' ? res['nonce'] : '';
    const raw = Array.isArray(res['resources']) ? (res['resources'] as unknown[]) : [];
    const resources: DecodedResource[] = [];
    const problems: ResourceProblem[] = [];
    for (const r of raw) {
      const t = typeof r === 'object' && r !== null ? (r as Record<string, unknown>)['@type'] : undefined;
      if (t !== typeUrl) problems.push({ typeUrl, name: '(unknown)', field: '@type', message: `resource of type ${typeof t === 'string' ? t : 'unknown'} in a ${typeUrl} response` });
      else resources.push({ value: r });
    }
    problems.push(...st.handler.apply(resources));
    st.nonce = nonce;
    if (problems.length === 0) {
      st.version = version;
      this.request(st);
      this.opts.onEvent?.({ kind: 'ack', typeUrl, version });
    } else {
      const message = problems.map(formatProblem).join('; ');
      this.request(st, message);
      this.opts.onEvent?.({ kind: 'nack', typeUrl, version, message });
    }
  }

  private request(st: TypeState, errorMessage?: string): void {
    const names = st.handler.names();
    // An empty name list means "everything" to a SotW server: ask for nothing instead.
    if (names !== undefined && names.length === 0) return;
    st.sentNames = names === undefined ? '*' : names.join(',');
    const req: Record<string, unknown> = {
      type_url: st.handler.typeUrl,
      version_info: st.version,
      response_nonce: st.nonce,
      resource_names: names ?? [],
      ...(errorMessage !== undefined ? { error_detail: { code: INVALID_ARGUMENT, message: errorMessage } } : {}),
    };
    if (!this.sentNode) {
      req['node'] = { id: this.opts.node.id, cluster: this.opts.node.cluster, ...(this.opts.node.metadata ? { metadata: toStruct(this.opts.node.metadata) } : {}) };
      this.sentNode = true;
    }
    this.stream?.write(req);
  }
}

/** A `google.protobuf.Struct` of strings, as protobufjs' plain-object form writes it. */
function toStruct(m: Readonly<Record<string, string>>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { string_value: v }])) };
}
