/**
 * Translated objects → one frozen {@link Snapshot}. This is where objects meet: mesh settings give
 * identities and host names, namespace labels give ambient enrollment and default waypoints,
 * waypoints are looked up for Services, and addresses are checked for conflicts across objects.
 *
 * Conflicts are resolved by input order (file order): the later object is rejected with a
 * diagnostic and reported in `rejected`, so a last-good store can put back its previous version.
 */
import { applyReferenceGrants } from './reference-grants.js';
import type { Diagnostic, DiagnosticCode, Severity } from './diagnostics.js';
import type {
  L4PolicyIR,
  L4PolicyScope,
  MeshIR,
  NamespaceIR,
  ServiceIR,
  Snapshot,
  SpiffeUri,
  TunnelProtocol,
  WaypointIR,
  WorkloadIR,
} from './ir.js';
import { objectKey } from './ir.js';
import { resolveMesh } from './mesh-config.js';
import { buildPeerAuthns } from './peer-authn-scope.js';
import type { WaypointBinding } from './waypoint-binding.js';
import { bindWaypoints } from './waypoint-binding.js';
import type { FieldPath } from './from-k8s/object-reader.js';
import { formatPath } from './from-k8s/object-reader.js';
import type { MeshSettingsDraft, ObjectRef, PodDraft, PolicyDraft, ServiceDraft, TranslatedObject, WaypointDraft } from './from-k8s/translator.js';

export const LABEL_DATAPLANE_MODE = 'istio.io/dataplane-mode';
export { LABEL_USE_WAYPOINT, LABEL_USE_WAYPOINT_NAMESPACE } from './waypoint-binding.js';

export interface BuildResult {
  readonly snapshot: Snapshot;
  readonly diagnostics: readonly Diagnostic[];
  /** Keys (`ObjectRef.key`) of objects rejected here (duplicates, address conflicts). */
  readonly rejected: ReadonlySet<string>;
}

type Of<T extends TranslatedObject['type']> = Extract<TranslatedObject, { type: T }>;

export function buildSnapshot(objects: readonly TranslatedObject[], generation: number): BuildResult {
  const diagnostics: Diagnostic[] = [];
  const rejected = new Set<string>();
  const report = (ref: ObjectRef, severity: Severity, code: DiagnosticCode, path: FieldPath, message: string): void => {
    diagnostics.push(diagnosticFor(ref, severity, code, path, message));
    if (severity === 'error') rejected.add(ref.key);
  };

  // 1. One object per key: the first (file order) wins.
  const byKey = new Map<string, TranslatedObject>();
  for (const o of objects) {
    const first = byKey.get(o.ref.key);
    if (first) {
      report(o.ref, 'error', 'DUPLICATE_OBJECT', [], `${o.ref.kind} ${idOf(o.ref)} is already defined at ${first.ref.origin.source}:${first.ref.origin.line}`);
      continue;
    }
    byKey.set(o.ref.key, o);
  }
  const unique = [...byKey.values()];
  const ofType = <T extends TranslatedObject['type']>(t: T): Of<T>[] => unique.filter((o): o is Of<T> => o.type === t);

  // 2. Mesh settings (at most one: the `istio` ConfigMap has a single key).
  const meshDraft: MeshSettingsDraft | undefined = ofType('MeshSettings')[0]?.value;
  const mesh = resolveMesh(meshDraft);
  const namespaces = new Map<string, NamespaceIR>(ofType('Namespace').map((o) => [o.value.name, o.value]));

  // 3. Addresses: waypoints first (infrastructure), then pods, then VIPs; the first claim wins.
  const owners = new Map<string, string>();
  const claim = (ip: string, ref: ObjectRef, path: FieldPath): boolean => {
    const owner = owners.get(ip);
    if (owner !== undefined) {
      report(ref, 'error', 'ADDRESS_CONFLICT', path, `${ip} is already used by ${owner}`);
      return false;
    }
    owners.set(ip, `${ref.kind} ${idOf(ref)}`);
    return true;
  };

  const waypoints = new Map<string, WaypointIR>();
  for (const o of ofType('Waypoint')) {
    const ok = o.value.addresses.every((ip, i) => claim(ip, o.ref, addressPath(o.ref, i)));
    if (ok) waypoints.set(objectKey(o.value.namespace, o.value.name), toWaypoint(o.value, mesh));
  }

  const workloads = new Map<string, WorkloadIR>();
  for (const o of ofType('Pod')) {
    if (claim(o.value.ip, o.ref, ['status', 'podIP'])) {
      workloads.set(o.value.uid, toWorkload(o.value, mesh, namespaces.get(o.value.namespace)));
    }
  }

  const services = new Map<string, ServiceIR>();
  for (const o of ofType('Service')) {
    const ok = o.value.vips.every((ip, i) => claim(ip, o.ref, vipPath(o.ref, i)));
    if (!ok) continue;
    const binding = bindWaypoints(o, namespaces.get(o.value.namespace), waypoints, report);
    services.set(objectKey(o.value.namespace, o.value.name), toService(o.value, mesh, binding));
  }

  const l4Policies: L4PolicyIR[] = ofType('L4Policy').map((o) => toPolicy(o.value, mesh));
  // Routes stay plain data here; src/routing/ compiles them per view (regexes, precedence).
  const grants = ofType('ReferenceGrant').map((o) => o.value);
  const httpRoutes = ofType('HttpRoute').map((o) =>
    applyReferenceGrants(o.value, grants, (ri, bi, message) =>
      report(o.ref, 'warning', 'REF_NOT_PERMITTED', ['spec', 'rules', ri, 'backendRefs', bi, 'namespace'], message),
    ),
  );
  const destinationRules = ofType('DestinationRule').map((o) => o.value);
  // Waypoint (targetRefs) security objects are complete as translated; which waypoint and service
  // they attach to is resolved per view by the waypoint's chain provider (src/security/).
  const l7Objects = ofType('L7Policy');
  for (const o of l7Objects) {
    const name = o.value.provider;
    if (o.value.action === 'CUSTOM' && name !== undefined && mesh.extAuthzProviders?.[name] === undefined) {
      report(o.ref, 'warning', 'REF_NOT_FOUND', ['spec', 'provider', 'name'], `no envoyExtAuthzHttp/envoyExtAuthzGrpc extension provider ${JSON.stringify(name)} in the mesh config; requests matching this CUSTOM policy are denied (fail closed)`);
    }
  }
  const l7Policies = l7Objects.map((o) => o.value);
  const requestAuthns = ofType('RequestAuthn').map((o) => o.value);
  // Which waypoint a Telemetry applies to is resolved per view (src/telemetry/access-log-policy.ts).
  const telemetries = ofType('Telemetry').map((o) => o.value);
  // Which waypoint and service a WasmPlugin applies to is resolved per view (src/wasm/wasm-runtime.ts).
  const wasmPlugins = ofType('WasmPlugin').map((o) => o.value);
  const peerAuthns = buildPeerAuthns(ofType('PeerAuthn'), mesh, report);

  const snapshot: Snapshot = deepFreeze({
    generation,
    mesh,
    namespaces: frozenMap(namespaces),
    workloads: frozenMap(workloads),
    services: frozenMap(services),
    waypoints: frozenMap(waypoints),
    l4Policies,
    httpRoutes,
    destinationRules,
    l7Policies,
    requestAuthns,
    telemetries,
    wasmPlugins,
    peerAuthns,
  });
  return { snapshot, diagnostics, rejected };
}

export function spiffeIdentity(mesh: MeshIR, namespace: string, serviceAccount: string): SpiffeUri {
  return `spiffe://${mesh.trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

function toWaypoint(d: WaypointDraft, mesh: MeshIR): WaypointIR {
  return { ...d, identity: spiffeIdentity(mesh, d.namespace, d.serviceAccount) };
}

/** Ambient enrollment: the Pod label wins (`none` opts out), else the Namespace label. */
function toWorkload(d: PodDraft, mesh: MeshIR, ns: NamespaceIR | undefined): WorkloadIR {
  const podMode = d.labels[LABEL_DATAPLANE_MODE];
  const mode = podMode ?? ns?.labels[LABEL_DATAPLANE_MODE];
  const protocol: TunnelProtocol = mode === 'ambient' ? 'HBONE' : 'TCP';
  return { ...d, identity: spiffeIdentity(mesh, d.namespace, d.serviceAccount), protocol };
}

function toService(d: ServiceDraft, mesh: MeshIR, binding: WaypointBinding): ServiceIR {
  // The annotations were read for the binding; the IR keeps what they decided.
  const { annotations: _annotations, ...rest } = d;
  return {
    ...rest,
    hostname: `${d.name}.${d.namespace}.svc.${mesh.clusterDomain}`,
    ...binding,
  };
}

function toPolicy(d: PolicyDraft, mesh: MeshIR): L4PolicyIR {
  const { selector, unselectedScope, ...rest } = d;
  // istiod: no selector → namespace scope, or global when the policy lives in the root namespace.
  // A scope stated by the source (WDS `Scope`) wins: istiod's root namespace may not be ours.
  const scope: L4PolicyScope =
    selector !== undefined
      ? { kind: 'selector', matchLabels: selector }
      : (unselectedScope ?? (d.namespace === mesh.rootNamespace ? 'global' : 'namespace')) === 'global'
        ? { kind: 'global' }
        : { kind: 'namespace' };
  return { ...rest, scope };
}

function addressPath(ref: ObjectRef, i: number): FieldPath {
  return ref.lineOf(['spec', 'addresses', i]) !== undefined ? ['spec', 'addresses', i, 'value'] : ['status', 'addresses', i, 'value'];
}

function vipPath(ref: ObjectRef, i: number): FieldPath {
  return ref.lineOf(['spec', 'clusterIPs', i]) !== undefined ? ['spec', 'clusterIPs', i] : ['spec', 'clusterIP'];
}

function idOf(ref: ObjectRef): string {
  return ref.namespace !== undefined ? `${ref.namespace}/${ref.name}` : ref.name;
}

export function diagnosticFor(ref: ObjectRef, severity: Severity, code: DiagnosticCode, path: FieldPath, message: string): Diagnostic {
  let line: number | undefined;
  for (let n = path.length; n > 0 && line === undefined; n--) line = ref.lineOf(path.slice(0, n));
  return {
    severity,
    code,
    file: ref.origin.source,
    line: line ?? ref.origin.line,
    kind: ref.kind,
    ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
    name: ref.name,
    ...(path.length > 0 ? { field: formatPath(path) } : {}),
    message,
  };
}

/** A Map whose mutators throw, frozen: `Object.freeze` alone does not stop `Map.set`. */
function frozenMap<K, V>(source: ReadonlyMap<K, V>): ReadonlyMap<K, V> {
  const m = new Map(source);
  const readOnly = (): never => {
    throw new TypeError('snapshot maps are read-only');
  };
  Object.defineProperties(m, { set: { value: readOnly }, delete: { value: readOnly }, clear: { value: readOnly } });
  return Object.freeze(m);
}

/** Freezes plain objects and arrays recursively. Typed arrays cannot be frozen and are left alone. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    return value;
  }
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
