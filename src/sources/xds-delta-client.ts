/**
 * A delta (incremental) ADS client (`DeltaAggregatedResources`), as ztunnel uses for Istio's
 * workload API: wildcard subscriptions per type, responses carrying only changed resources and
 * removed names. Transport only: handlers translate and answer with problems; the client ACKs
 * (nonce) or NACKs (nonce + `error_detail` naming each rejected resource and field). It remembers
 * the version of every accepted resource and, after a reconnect (with backoff), sends them as
 * `initial_resource_versions` so the control plane only sends what changed meanwhile.
 */
import * as grpc from '@grpc/grpc-js';
import type { DecodedResource, ResourceProblem } from '../config/from-xds/envoy-resources.js';
import { formatProblem } from '../config/from-xds/envoy-resources.js';
import { Backoff } from './xds-backoff.js';
import type { XdsClientEvent, XdsNode } from './xds-client.js';
import { adsDeltaMethod } from './xds-protos.js';

export interface DeltaTypeHandler {
  readonly typeUrl: string;
  /** Applies changed resources (with names) and removals; returns the rejected resources. */
  apply(updated: readonly (DecodedResource & { readonly name: string })[], removed: readonly string[]): readonly ResourceProblem[];
}

export interface DeltaClientOptions {
  readonly address: string;
  readonly credentials: grpc.ChannelCredentials;
  readonly metadata?: () => Readonly<Record<string, string>>;
  readonly node: XdsNode;
  readonly backoff?: Backoff;
  readonly onEvent?: (event: XdsClientEvent) => void;
}

const INVALID_ARGUMENT = 3;

export class DeltaXdsClient {
  private readonly client: grpc.Client;
  private readonly handlers = new Map<string, DeltaTypeHandler>();
  /** Accepted version per resource name, per type. */
  private readonly versions = new Map<string, Map<string, string>>();
  private stream: grpc.ClientDuplexStream<object, Record<string, unknown>> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private closed = false;
  connected = false;

  constructor(
    private readonly opts: DeltaClientOptions,
    handlers: readonly DeltaTypeHandler[],
  ) {
    this.client = new grpc.Client(opts.address, opts.credentials);
    this.backoff = opts.backoff ?? new Backoff();
    for (const h of handlers) {
      this.handlers.set(h.typeUrl, h);
      this.versions.set(h.typeUrl, new Map());
    }
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

  private connect(): void {
    if (this.closed) return;
    const m = adsDeltaMethod();
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.opts.metadata?.() ?? {})) md.set(k, v);
    const stream = this.client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, md);
    this.stream = stream;
    let first = true;
    for (const typeUrl of this.handlers.keys()) {
      const initial = Object.fromEntries(this.versions.get(typeUrl) ?? []);
      stream.write({
        type_url: typeUrl,
        // Wildcard: everything of the type, as ztunnel subscribes.
        resource_names_subscribe: ['*'],
        initial_resource_versions: initial,
        ...(first ? { node: { id: this.opts.node.id, cluster: this.opts.node.cluster } } : {}),
      });
      first = false;
    }
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

  private onBroken(stream: grpc.ClientDuplexStream<object, Record<string, unknown>>, error: string): void {
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

  private onResponse(res: Record<string, unknown>): void {
    const typeUrl = typeof res['type_url'] === 'string' ? res['type_url'] : '';
    const handler = this.handlers.get(typeUrl);
    const nonce = typeof res['nonce'] === 'string' ? res['nonce'] : '';
    if (!handler) return;
    const versions = this.versions.get(typeUrl)!;
    const updated: (DecodedResource & { name: string; version: string })[] = [];
    const problems: ResourceProblem[] = [];
    for (const r of Array.isArray(res['resources']) ? (res['resources'] as Record<string, unknown>[]) : []) {
      const name = typeof r['name'] === 'string' ? r['name'] : '';
      const version = typeof r['version'] === 'string' ? r['version'] : '';
      const body = r['resource'] as Record<string, unknown> | undefined;
      if (!body || body['@type'] !== typeUrl) {
        problems.push({ typeUrl, name: name || '(unnamed)', field: 'resource', message: `not a ${typeUrl}` });
        continue;
      }
      updated.push({ name, version, value: body });
    }
    const removed = Array.isArray(res['removed_resources']) ? (res['removed_resources'] as unknown[]).filter((n): n is string => typeof n === 'string') : [];
    const rejected = handler.apply(updated, removed);
    problems.push(...rejected);
    const bad = new Set(problems.map((p) => p.name));
    for (const u of updated) if (!bad.has(u.name)) versions.set(u.name, u.version);
    for (const n of removed) versions.delete(n);
    if (problems.length === 0) {
      this.stream?.write({ type_url: typeUrl, response_nonce: nonce });
      this.opts.onEvent?.({ kind: 'ack', typeUrl, version: nonce });
    } else {
      const message = problems.map(formatProblem).join('; ');
      this.stream?.write({ type_url: typeUrl, response_nonce: nonce, error_detail: { code: INVALID_ARGUMENT, message } });
      this.opts.onEvent?.({ kind: 'nack', typeUrl, version: nonce, message });
    }
  }
}
