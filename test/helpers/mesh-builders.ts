/**
 * Builders for IR objects and mesh views in tests: sensible defaults for everything a test does not
 * care about, so a test names only what it asserts on. Everything returned is frozen like a real
 * snapshot.
 */
import type {
  AppProtocol,
  CidrIR,
  ContainerPortIR,
  L4MatchIR,
  ServiceAccountMatchIR,
  L4PolicyIR,
  L4PolicyScope,
  MeshIR,
  NamespaceIR,
  ServiceIR,
  ServicePortIR,
  Snapshot,
  SpiffeUri,
  StringMatchIR,
  TunnelProtocol,
  WaypointFor,
  WaypointIR,
  WaypointRef,
  WorkloadIR,
} from '../../src/config/ir.js';
import type { MtlsModeIR, PeerAuthnIR, PeerAuthnScopeIR } from '../../src/config/ir-security.js';
import { DEFAULT_MESH, HBONE_PORT, objectKey } from '../../src/config/ir.js';
import { parseCidr } from '../../src/net/cidr.js';
import { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';

const TEST_ORIGIN = Object.freeze({ source: 'test' });

export function spiffeId(namespace: string, serviceAccount: string, trustDomain = DEFAULT_MESH.trustDomain): SpiffeUri {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export interface WorkloadSpec {
  readonly name: string;
  readonly ip: string;
  readonly namespace?: string;
  /** Defaults to `node-a`. */
  readonly node?: string;
  /** Defaults to the workload name. */
  readonly serviceAccount?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Defaults to HBONE (in the mesh). */
  readonly protocol?: TunnelProtocol;
  readonly containerPorts?: readonly (number | ContainerPortIR)[];
  readonly trustDomain?: string;
}

export function workload(spec: WorkloadSpec): WorkloadIR {
  const namespace = spec.namespace ?? 'default';
  const serviceAccount = spec.serviceAccount ?? spec.name;
  const labels = spec.labels ?? { app: spec.name };
  return Object.freeze({
    uid: `Pod/${namespace}/${spec.name}`,
    name: spec.name,
    namespace,
    serviceAccount,
    identity: spiffeId(namespace, serviceAccount, spec.trustDomain),
    ip: spec.ip,
    node: spec.node ?? 'node-a',
    labels: Object.freeze({ ...labels }),
    protocol: spec.protocol ?? 'HBONE',
    containerPorts: Object.freeze(
      (spec.containerPorts ?? []).map((p): ContainerPortIR => (typeof p === 'number' ? { port: p, protocol: 'TCP' } : p)),
    ),
    canonicalName: labels['app'] ?? spec.name,
    canonicalRevision: labels['version'] ?? 'latest',
    workloadName: spec.name,
    origin: TEST_ORIGIN,
  });
}

export interface ServicePortSpec {
  readonly port: number;
  /** Defaults to `port`. */
  readonly targetPort?: number | string;
  readonly name?: string;
  readonly appProtocol?: AppProtocol;
}

export interface ServiceSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly vips?: readonly string[];
  readonly ports: readonly (number | ServicePortSpec)[];
  /** Defaults to `{app: name}`; `null` for a Service without a selector. */
  readonly selector?: Readonly<Record<string, string>> | null;
  readonly labels?: Readonly<Record<string, string>>;
  /** A waypoint in the Service's namespace by name, or a full reference. */
  readonly waypoint?: string | WaypointRef;
  readonly clusterDomain?: string;
}

export function service(spec: ServiceSpec): ServiceIR {
  const namespace = spec.namespace ?? 'default';
  const ports = spec.ports.map((p): ServicePortIR => {
    const s: ServicePortSpec = typeof p === 'number' ? { port: p } : p;
    return Object.freeze({
      ...(s.name !== undefined ? { name: s.name } : {}),
      port: s.port,
      targetPort: s.targetPort ?? s.port,
      appProtocol: s.appProtocol ?? 'unknown',
    });
  });
  const selector = spec.selector === null ? undefined : (spec.selector ?? { app: spec.name });
  const wp = typeof spec.waypoint === 'string' ? { namespace, name: spec.waypoint } : spec.waypoint;
  return Object.freeze({
    name: spec.name,
    namespace,
    hostname: `${spec.name}.${namespace}.svc.${spec.clusterDomain ?? DEFAULT_MESH.clusterDomain}`,
    vips: Object.freeze([...(spec.vips ?? [])]),
    ports: Object.freeze(ports),
    ...(selector ? { selector: Object.freeze({ ...selector }) } : {}),
    labels: Object.freeze({ ...(spec.labels ?? {}) }),
    ...(wp ? { waypoint: Object.freeze({ ...wp }) } : {}),
    origin: TEST_ORIGIN,
  });
}

export interface WaypointSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly addresses: readonly string[];
  /** Gateway `Hostname` addresses (in a cluster: the waypoint's Service). */
  readonly hostnames?: readonly string[];
  readonly waypointFor?: WaypointFor;
  /** Defaults to the Gateway name, as Istio names a waypoint's ServiceAccount. */
  readonly serviceAccount?: string;
  readonly hbonePort?: number;
  readonly trustDomain?: string;
}

export function waypoint(spec: WaypointSpec): WaypointIR {
  const namespace = spec.namespace ?? 'default';
  const serviceAccount = spec.serviceAccount ?? spec.name;
  return Object.freeze({
    name: spec.name,
    namespace,
    addresses: Object.freeze([...spec.addresses]),
    ...(spec.hostnames ? { hostnames: Object.freeze([...spec.hostnames]) } : {}),
    hbonePort: spec.hbonePort ?? HBONE_PORT,
    identity: spiffeId(namespace, serviceAccount, spec.trustDomain),
    serviceAccount,
    waypointFor: spec.waypointFor ?? 'service',
    origin: TEST_ORIGIN,
  });
}

/** String matchers; a bare string in a match spec means `exact`. */
export const exact = (value: string): StringMatchIR => ({ kind: 'exact', value });
export const prefix = (value: string): StringMatchIR => ({ kind: 'prefix', value });
export const suffix = (value: string): StringMatchIR => ({ kind: 'suffix', value });
export const presence = (): StringMatchIR => ({ kind: 'presence' });

type StringSpec = string | StringMatchIR;

/** One L4 match; CIDRs as text (bare IPs allowed), principals without `spiffe://`. */
export interface L4MatchSpec {
  readonly namespaces?: readonly StringSpec[];
  readonly notNamespaces?: readonly StringSpec[];
  /** `namespace/serviceAccount`. */
  readonly serviceAccounts?: readonly string[];
  readonly notServiceAccounts?: readonly string[];
  readonly principals?: readonly StringSpec[];
  readonly notPrincipals?: readonly StringSpec[];
  readonly sourceIps?: readonly string[];
  readonly notSourceIps?: readonly string[];
  readonly destinationIps?: readonly string[];
  readonly notDestinationIps?: readonly string[];
  readonly destinationPorts?: readonly number[];
  readonly notDestinationPorts?: readonly number[];
}

export function l4Match(spec: L4MatchSpec = {}): L4MatchIR {
  const strs = (v: readonly StringSpec[] | undefined): readonly StringMatchIR[] =>
    Object.freeze((v ?? []).map((s) => (typeof s === 'string' ? exact(s) : s)));
  const sas = (v: readonly string[] | undefined): readonly ServiceAccountMatchIR[] =>
    Object.freeze(
      (v ?? []).map((t) => {
        const [namespace, serviceAccount, extra] = t.split('/');
        if (!namespace || !serviceAccount || extra !== undefined) throw new Error(`bad service account in test: ${t}`);
        return { namespace, serviceAccount };
      }),
    );
  const cidrs = (v: readonly string[] | undefined): readonly CidrIR[] =>
    Object.freeze(
      (v ?? []).map((t) => {
        const c = parseCidr(t);
        if (!c) throw new Error(`bad CIDR in test: ${t}`);
        return c;
      }),
    );
  return Object.freeze({
    namespaces: strs(spec.namespaces),
    notNamespaces: strs(spec.notNamespaces),
    serviceAccounts: sas(spec.serviceAccounts),
    notServiceAccounts: sas(spec.notServiceAccounts),
    principals: strs(spec.principals),
    notPrincipals: strs(spec.notPrincipals),
    sourceIps: cidrs(spec.sourceIps),
    notSourceIps: cidrs(spec.notSourceIps),
    destinationIps: cidrs(spec.destinationIps),
    notDestinationIps: cidrs(spec.notDestinationIps),
    destinationPorts: Object.freeze([...(spec.destinationPorts ?? [])]),
    notDestinationPorts: Object.freeze([...(spec.notDestinationPorts ?? [])]),
  });
}

export interface L4PolicySpec {
  readonly name: string;
  readonly namespace?: string;
  readonly action: 'ALLOW' | 'DENY';
  /** Shorthand: `selector` (matchLabels) ⇒ selector scope; none ⇒ namespace scope (global in the root namespace). */
  readonly selector?: Readonly<Record<string, string>>;
  readonly scope?: L4PolicyScope;
  /**
   * rules (OR) → clauses (AND) → matches (OR). Shorthand: a flat list of matches means one rule
   * with one clause per match (all must hold). Omitted: one rule that matches everything.
   */
  readonly rules?: readonly (readonly (readonly L4MatchIR[])[])[];
  readonly matches?: readonly L4MatchSpec[];
  readonly dryRun?: boolean;
}

export function l4Policy(spec: L4PolicySpec): L4PolicyIR {
  const namespace = spec.namespace ?? 'default';
  const scope: L4PolicyScope =
    spec.scope ??
    (spec.selector
      ? { kind: 'selector', matchLabels: Object.freeze({ ...spec.selector }) }
      : namespace === DEFAULT_MESH.rootNamespace
        ? { kind: 'global' }
        : { kind: 'namespace' });
  const rules = spec.rules ?? (spec.matches ? [spec.matches.map((m) => [l4Match(m)])] : [[]]);
  return Object.freeze({
    name: spec.name,
    namespace,
    scope,
    action: spec.action,
    rules,
    dryRun: spec.dryRun ?? false,
    origin: TEST_ORIGIN,
  });
}

export interface SnapshotSpec {
  readonly workloads?: readonly WorkloadIR[];
  readonly services?: readonly ServiceIR[];
  readonly waypoints?: readonly WaypointIR[];
  readonly policies?: readonly L4PolicyIR[];
  /** PeerAuthentications, in precedence order (oldest first, as the snapshot builder sorts them). */
  readonly peerAuthns?: readonly PeerAuthnIR[];
  readonly namespaces?: readonly NamespaceIR[];
  readonly mesh?: Partial<MeshIR>;
  readonly generation?: number;
}

export function snapshot(spec: SnapshotSpec): Snapshot {
  const namespaces = new Map<string, NamespaceIR>();
  for (const n of spec.namespaces ?? []) namespaces.set(n.name, n);
  const implied = [...(spec.workloads ?? []), ...(spec.services ?? []), ...(spec.waypoints ?? [])].map((o) => o.namespace);
  for (const ns of implied) if (!namespaces.has(ns)) namespaces.set(ns, Object.freeze({ name: ns, labels: Object.freeze({}) }));
  return Object.freeze({
    generation: spec.generation ?? 1,
    mesh: Object.freeze({ ...DEFAULT_MESH, ...(spec.mesh ?? {}) }),
    namespaces,
    workloads: new Map((spec.workloads ?? []).map((w) => [w.uid, w])),
    services: new Map((spec.services ?? []).map((s) => [objectKey(s.namespace, s.name), s])),
    waypoints: new Map((spec.waypoints ?? []).map((w) => [objectKey(w.namespace, w.name), w])),
    l4Policies: Object.freeze([...(spec.policies ?? [])]),
    ...(spec.peerAuthns ? { peerAuthns: Object.freeze([...spec.peerAuthns]) } : {}),
  });
}

export function meshView(spec: SnapshotSpec): MeshView {
  return new MeshView(snapshot(spec));
}

/** A ViewSource tests can change: `set()` swaps the view and notifies subscribers synchronously. */
export interface MutableViewSource extends ViewSource {
  set(view: MeshView): void;
}

export function mutableViewSource(initial: MeshView): MutableViewSource {
  let current = initial;
  const listeners = new Set<(v: MeshView) => void>();
  return {
    current: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(view) {
      current = view;
      for (const l of [...listeners]) l(view);
    },
  };
}

export interface PeerAuthnSpec {
  readonly name: string;
  readonly namespace?: string;
  /** Shorthand: a selector ⇒ selector scope; none ⇒ namespace scope (mesh in the root namespace). */
  readonly selector?: Readonly<Record<string, string>>;
  readonly mode?: MtlsModeIR;
  readonly portLevel?: Readonly<Record<number, MtlsModeIR>>;
  readonly createdAt?: number;
}

export function peerAuthn(spec: PeerAuthnSpec): PeerAuthnIR {
  const namespace = spec.namespace ?? 'default';
  const scope: PeerAuthnScopeIR = spec.selector
    ? { kind: 'selector', matchLabels: Object.freeze({ ...spec.selector }) }
    : namespace === DEFAULT_MESH.rootNamespace
      ? { kind: 'mesh' }
      : { kind: 'namespace' };
  return Object.freeze({
    name: spec.name,
    namespace,
    scope,
    mode: spec.mode ?? 'UNSET',
    portLevel: Object.freeze({ ...(spec.portLevel ?? {}) }),
    createdAt: spec.createdAt ?? 0,
    origin: TEST_ORIGIN,
  });
}
