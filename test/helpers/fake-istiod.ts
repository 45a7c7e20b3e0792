/**
 * A fake istiod: a real gRPC server on loopback speaking ADS, state-of-the-world
 * (`StreamAggregatedResources`, Envoy types) and delta (`DeltaAggregatedResources`, used for
 * Istio's workload API). Tests set resources per type; every subscribed stream gets a push with a
 * new version and nonce. Every request is recorded so tests can assert ACKs and NACKs.
 *
 * `set` encodes plain objects with the project's schema (`proto/`, audited against Istio's);
 * `setRaw` sends bytes a test wrote from Istio's published field numbers, which is what tests of
 * the schema itself must use.
 */
import * as grpc from '@grpc/grpc-js';
import { adsDeltaMethod, adsSotwMethod, ADS_SERVICE } from '../../src/sources/xds-protos.js';

export interface RecordedRequest {
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  readonly names: readonly string[];
  readonly errorDetail?: string;
  readonly node?: Record<string, unknown>;
  /** Delta only. */
  readonly initialVersions?: Readonly<Record<string, string>>;
  readonly subscribe?: readonly string[];
}

type Resource = Record<string, unknown>;

interface SotwStream {
  readonly call: grpc.ServerDuplexStream<Record<string, unknown>, object>;
  readonly names: Map<string, readonly string[] | undefined>;
}

interface DeltaStream {
  readonly call: grpc.ServerDuplexStream<Record<string, unknown>, object>;
  /** Type → version sent per resource name. */
  readonly sent: Map<string, Map<string, string>>;
}

export interface FakeIstiodOptions {
  readonly port?: number;
  readonly credentials?: grpc.ServerCredentials;
  /** Metadata every call must carry, e.g. `authorization`. */
  readonly requireMetadata?: Readonly<Record<string, string>>;
  /** Delta types whose initial (subscription) response is not sent: the first `set` sends it. */
  readonly holdInitial?: readonly string[];
}

export class FakeIstiod {
  readonly requests: RecordedRequest[] = [];
  private readonly resources = new Map<string, Map<string, Resource>>();
  private readonly sotw = new Set<SotwStream>();
  private readonly delta = new Set<DeltaStream>();
  private version = 0;
  private nonce = 0;
  /** Resource names, per type, whose delta pushes are deliberately skipped (to test resume). */
  connections = 0;

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
    private readonly opts: FakeIstiodOptions,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(opts: FakeIstiodOptions = {}, state?: FakeIstiod): Promise<FakeIstiod> {
    const server = new grpc.Server();
    const port: number = await new Promise((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${opts.port ?? 0}`, opts.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const fake = new FakeIstiod(server, port, opts);
    if (state) for (const [t, m] of state.resources) fake.resources.set(t, new Map(m));
    const sotw = adsSotwMethod();
    const delta = adsDeltaMethod();
    const impl: grpc.UntypedServiceImplementation = {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<Record<string, unknown>, object>) => fake.onSotw(call),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<Record<string, unknown>, object>) => fake.onDelta(call),
    };
    server.addService(
      {
        StreamAggregatedResources: { ...sotw, originalName: 'streamAggregatedResources' },
        DeltaAggregatedResources: { ...delta, originalName: 'deltaAggregatedResources' },
      },
      impl,
    );
    void ADS_SERVICE;
    return fake;
  }

  /** Replaces every resource of a type (keyed by `name`, or `cluster_name` for endpoints) and pushes. */
  set(typeUrl: string, resources: readonly Resource[]): void {
    const m = new Map<string, Resource>();
    for (const r of resources) m.set(nameOf(r), { '@type': typeUrl, ...r });
    this.resources.set(typeUrl, m);
    this.version++;
    for (const s of this.sotw) if (s.names.has(typeUrl)) this.pushSotw(s, typeUrl);
    for (const s of this.delta) if (s.sent.has(typeUrl)) this.pushDelta(s, typeUrl);
  }

  /**
   * Replaces every resource of a type with bytes encoded elsewhere (by hand from Istio's published
   * field numbers, `istio-wire.ts`), sent as `Any{type_url, value}` untouched by the project's
   * schema, and pushes.
   */
  setRaw(typeUrl: string, resources: readonly { readonly name: string; readonly value: Uint8Array }[]): void {
    const m = new Map<string, Resource>();
    for (const r of resources) m.set(r.name, { type_url: typeUrl, value: r.value });
    this.resources.set(typeUrl, m);
    this.version++;
    for (const s of this.sotw) if (s.names.has(typeUrl)) this.pushSotw(s, typeUrl);
    for (const s of this.delta) if (s.sent.has(typeUrl)) this.pushDelta(s, typeUrl);
  }

  /** Requests of one type that NACKed (carry `error_detail`). */
  nacks(typeUrl: string): RecordedRequest[] {
    return this.requests.filter((r) => r.typeUrl === typeUrl && r.errorDetail !== undefined);
  }

  /** ACKs of one type: a nonce and no error. */
  acks(typeUrl: string): RecordedRequest[] {
    return this.requests.filter((r) => r.typeUrl === typeUrl && r.nonce !== '' && r.errorDetail === undefined);
  }

  /** Stops serving at once (streams break): the control plane "disappears". */
  close(): void {
    for (const s of this.sotw) s.call.destroy();
    for (const s of this.delta) s.call.destroy();
    this.server.forceShutdown();
  }

  /** A new server on the same port with the same resources (istiod came back). */
  restart(): Promise<FakeIstiod> {
    return FakeIstiod.start({ ...this.opts, port: this.port }, this);
  }

  private authorized(call: grpc.ServerDuplexStream<Record<string, unknown>, object>): boolean {
    for (const [k, v] of Object.entries(this.opts.requireMetadata ?? {})) {
      if (call.metadata.get(k)[0] !== v) {
        call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: `missing or wrong ${k}` });
        return false;
      }
    }
    return true;
  }

  private onSotw(call: grpc.ServerDuplexStream<Record<string, unknown>, object>): void {
    if (!this.authorized(call)) return;
    this.connections++;
    const s: SotwStream = { call, names: new Map() };
    this.sotw.add(s);
    call.on('data', (req: Record<string, unknown>) => {
      const typeUrl = text(req['type_url']);
      const names = (req['resource_names'] as string[] | undefined) ?? [];
      const err = req['error_detail'] as Record<string, unknown> | undefined;
      this.requests.push({
        typeUrl,
        version: text(req['version_info']),
        nonce: text(req['response_nonce']),
        names,
        ...(err ? { errorDetail: text(err['message']) } : {}),
        ...(req['node'] ? { node: req['node'] as Record<string, unknown> } : {}),
      });
      const wanted = names.length > 0 ? names : undefined;
      const before = s.names.get(typeUrl);
      const changed = !s.names.has(typeUrl) || JSON.stringify(before) !== JSON.stringify(wanted);
      s.names.set(typeUrl, wanted);
      if (req['response_nonce'] === undefined || req['response_nonce'] === '' || changed) this.pushSotw(s, typeUrl);
    });
    call.on('error', () => this.sotw.delete(s));
    call.on('end', () => {
      this.sotw.delete(s);
      call.end();
    });
    call.on('close', () => this.sotw.delete(s));
  }

  private pushSotw(s: SotwStream, typeUrl: string): void {
    const all = [...(this.resources.get(typeUrl)?.entries() ?? [])];
    const wanted = s.names.get(typeUrl);
    const resources = (wanted ? all.filter(([n]) => wanted.includes(n)) : all).map(([, r]) => r);
    s.call.write({ type_url: typeUrl, version_info: `v${this.version}`, nonce: `n${++this.nonce}`, resources });
  }

  private onDelta(call: grpc.ServerDuplexStream<Record<string, unknown>, object>): void {
    if (!this.authorized(call)) return;
    this.connections++;
    const s: DeltaStream = { call, sent: new Map() };
    this.delta.add(s);
    call.on('data', (req: Record<string, unknown>) => {
      const typeUrl = text(req['type_url']);
      const err = req['error_detail'] as Record<string, unknown> | undefined;
      const initial = (req['initial_resource_versions'] as Record<string, string> | undefined) ?? {};
      const subscribe = (req['resource_names_subscribe'] as string[] | undefined) ?? [];
      this.requests.push({
        typeUrl,
        version: '',
        nonce: text(req['response_nonce']),
        names: subscribe,
        subscribe,
        initialVersions: initial,
        ...(err ? { errorDetail: text(err['message']) } : {}),
        ...(req['node'] ? { node: req['node'] as Record<string, unknown> } : {}),
      });
      if (!s.sent.has(typeUrl)) {
        // The client already holds these versions: only differences are sent.
        s.sent.set(typeUrl, new Map(Object.entries(initial)));
        if (!this.opts.holdInitial?.includes(typeUrl)) this.pushDelta(s, typeUrl, true);
      }
    });
    call.on('error', () => this.delta.delete(s));
    call.on('end', () => {
      this.delta.delete(s);
      call.end();
    });
    call.on('close', () => this.delta.delete(s));
  }

  /** Sends what changed for this stream: new or updated resources, and removed names. */
  private pushDelta(s: DeltaStream, typeUrl: string, initial = false): void {
    const current = this.resources.get(typeUrl) ?? new Map<string, Resource>();
    const sent = s.sent.get(typeUrl) ?? new Map<string, string>();
    const resources: Record<string, unknown>[] = [];
    for (const [name, r] of current) {
      const version = JSON.stringify(r).length.toString(36) + '-' + hash(JSON.stringify(r));
      if (sent.get(name) === version) continue;
      sent.set(name, version);
      resources.push({ name, version, resource: r });
    }
    const removed = [...sent.keys()].filter((n) => !current.has(n));
    for (const n of removed) sent.delete(n);
    s.sent.set(typeUrl, sent);
    if (resources.length === 0 && removed.length === 0 && !initial) return;
    s.call.write({ type_url: typeUrl, system_version_info: `v${this.version}`, nonce: `n${++this.nonce}`, resources, removed_resources: removed });
  }
}

function nameOf(r: Resource): string {
  const svc = r['service'] as Resource | undefined;
  const n = r['name'] ?? r['cluster_name'] ?? (r['workload'] as Resource | undefined)?.['uid'] ?? (svc ? `${text(svc['namespace'])}/${text(svc['hostname'])}` : '');
  return text(n);
}

function text(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function hash(s: string): string {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return (h >>> 0).toString(36);
}
