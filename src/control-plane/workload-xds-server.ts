/**
 * Istio's workload xDS, served: `envoy.service.discovery.v3.AggregatedDiscoveryService/
 * DeltaAggregatedResources` with the types ztunnel subscribes to (`istio.workload.Address`,
 * `istio.security.Authorization`), from the same mesh view every role reads.
 *
 * Incremental xDS as ztunnel speaks it: the first request of a type subscribes (a wildcard `*` or
 * no names: everything) and may list `initial_resource_versions` the client already holds after a
 * reconnect; the answer is what differs (new or changed resources, and held names now gone). Each
 * later config change pushes, per stream and type, only the differences. ACKs need no answer; a
 * NACK (`error_detail`) is logged and the resource is not re-sent until it changes.
 */
const { createHash } = process.getBuiltinModule('node:crypto');
import * as grpc from '@grpc/grpc-js';
import { adsDeltaMethod } from '../sources/xds-protos.js';
import type { MeshView } from '../state/mesh-view.js';
import type { ViewSource } from '../state/view-source.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, workloadResources, type WireObject, type WorkloadResources } from './workload-resources.js';

type TypeUrl = typeof ADDRESS_TYPE_URL | typeof AUTHORIZATION_TYPE_URL;
const TYPES: readonly TypeUrl[] = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL];
type DeltaCall = grpc.ServerDuplexStream<Record<string, unknown>, object>;

interface Versioned {
  readonly version: string;
  readonly resource: WireObject;
}

interface Stream {
  readonly call: DeltaCall;
  readonly peer: string;
  /** Type → name → version this stream holds. */
  readonly held: Map<TypeUrl, Map<string, string>>;
}

export interface WorkloadXdsServerOptions {
  readonly view: ViewSource;
  readonly clusterId: string;
  /** Whether a stream's call metadata (the bearer token) admits it; refused with UNAUTHENTICATED. */
  readonly authenticate?: (metadata: grpc.Metadata) => boolean;
  readonly log?: (line: string) => void;
}

export interface WorkloadXdsStats {
  readonly streams: number;
  readonly pushes: number;
  readonly nacks: readonly { readonly typeUrl: string; readonly detail: string }[];
}

export class WorkloadXdsServer {
  private readonly streams = new Set<Stream>();
  private resources: Record<TypeUrl, Map<string, Versioned>>;
  private systemVersion = 0;
  private nonce = 0;
  private pushes = 0;
  private readonly nacks: { typeUrl: string; detail: string }[] = [];
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: WorkloadXdsServerOptions) {
    this.resources = this.build(opts.view.current());
    this.unsubscribe = opts.view.onChange((view) => {
      this.resources = this.build(view);
      for (const s of this.streams) for (const t of s.held.keys()) this.push(s, t, false);
    });
  }

  /** Adds the ADS delta method to a gRPC server (the other ADS methods stay unimplemented). */
  register(server: grpc.Server): void {
    const delta = adsDeltaMethod();
    server.addService(
      { DeltaAggregatedResources: { ...delta, originalName: 'deltaAggregatedResources' } },
      { DeltaAggregatedResources: (call: DeltaCall) => this.onStream(call) },
    );
  }

  stats(): WorkloadXdsStats {
    return { streams: this.streams.size, pushes: this.pushes, nacks: [...this.nacks] };
  }

  close(): void {
    this.unsubscribe();
    for (const s of this.streams) s.call.end();
    this.streams.clear();
  }

  private build(view: MeshView): Record<TypeUrl, Map<string, Versioned>> {
    const all: WorkloadResources = workloadResources(view, { clusterId: this.opts.clusterId });
    this.systemVersion++;
    const out = {} as Record<TypeUrl, Map<string, Versioned>>;
    for (const t of TYPES) {
      const m = new Map<string, Versioned>();
      for (const [name, r] of all[t]) m.set(name, { version: createHash('sha256').update(JSON.stringify(r)).digest('base64url').slice(0, 16), resource: r });
      out[t] = m;
    }
    return out;
  }

  private onStream(call: DeltaCall): void {
    if (this.opts.authenticate && !this.opts.authenticate(call.metadata)) {
      (this.opts.log ?? (() => undefined))(`xds: refused ${call.getPeer()}: no valid bearer token`);
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'a bearer token of this mesh is required' });
      return;
    }
    const s: Stream = { call, peer: call.getPeer(), held: new Map() };
    this.streams.add(s);
    const log = this.opts.log ?? (() => undefined);
    call.on('data', (req: Record<string, unknown>) => {
      const typeUrl = req['type_url'];
      if (typeUrl !== ADDRESS_TYPE_URL && typeUrl !== AUTHORIZATION_TYPE_URL) {
        // Unknown types get an empty answer so the client is not left waiting.
        if (typeof typeUrl === 'string' && req['response_nonce'] === undefined) call.write({ type_url: typeUrl, nonce: `n${++this.nonce}`, system_version_info: `v${this.systemVersion}`, resources: [] });
        return;
      }
      const err = req['error_detail'] as Record<string, unknown> | undefined;
      if (err) {
        const detail = typeof err['message'] === 'string' ? err['message'] : JSON.stringify(err);
        this.nacks.push({ typeUrl, detail });
        log(`xds: ${s.peer} rejected ${typeUrl}: ${detail}`);
      }
      if (!s.held.has(typeUrl)) {
        const initial = (req['initial_resource_versions'] as Record<string, string> | undefined) ?? {};
        s.held.set(typeUrl, new Map(Object.entries(initial)));
        this.push(s, typeUrl, true);
      }
    });
    const drop = (): void => void this.streams.delete(s);
    call.on('error', drop);
    call.on('close', drop);
    call.on('end', () => {
      drop();
      call.end();
    });
  }

  /** Sends a stream what differs from what it holds of one type; the first answer is always sent. */
  private push(s: Stream, typeUrl: TypeUrl, first: boolean): void {
    const current = this.resources[typeUrl];
    const held = s.held.get(typeUrl) ?? new Map<string, string>();
    const resources: object[] = [];
    for (const [name, v] of current) {
      if (held.get(name) === v.version) continue;
      held.set(name, v.version);
      resources.push({ name, version: v.version, resource: { '@type': typeUrl, ...v.resource } });
    }
    const removed = [...held.keys()].filter((n) => !current.has(n));
    for (const n of removed) held.delete(n);
    if (!first && resources.length === 0 && removed.length === 0) return;
    this.pushes++;
    s.call.write({ type_url: typeUrl, system_version_info: `v${this.systemVersion}`, nonce: `n${++this.nonce}`, resources, removed_resources: removed });
  }
}
