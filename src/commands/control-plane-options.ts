/**
 * Where a role's config and certificates come from, chosen by flags or by the environment
 * variables Istio's own components read (flags win):
 * - files (default): the `--config` directory only;
 * - `--envoy-bootstrap FILE`: Envoy `static_resources` (waypoint);
 * - `--xds-address` / `XDS_ADDRESS`: istiod over gRPC — Envoy v3 ADS for a waypoint, the workload
 *   API (delta ADS) for a ztunnel (`--xds-api envoy|workload` overrides);
 * - `--ca-address` / `CA_ADDRESS` (or pilot-agent's `CA_ADDR`): certificates from Istio's CA instead of the local CA.
 * TLS to istiod and the CA trusts `XDS_ROOT_CA` / `CA_ROOT_CA` (ztunnel's names; default
 * `/var/run/secrets/istio/root-cert.pem`) and authenticates with the service-account token in
 * `/var/run/secrets/tokens/istio-token`. `ISTIO_META_*` variables become node metadata, as
 * pilot-agent sends them; `POD_NAME`, `POD_NAMESPACE`, `INSTANCE_IP`, `CLUSTER_ID` /
 * `ISTIO_META_CLUSTER_ID` form the node id. The files directory still applies alongside.
 * - `--kube` / `--kubeconfig FILE`: list and watch the Kubernetes API; credentials from the file,
 *   else `KUBECONFIG`, `~/.kube/config` or the in-cluster service account (client-node's order);
 *   scoped by `--kube-namespaces` ({@link kubeNamespaces}).
 */
// Every control-plane client below is imported when its mode is selected, not at start-up:
// @kubernetes/client-node alone costs ~75 MiB of RSS and ~0.8 s to load, @grpc/grpc-js ~12 MiB,
// and a role reading only files (the local mesh, the bench) needs none of them.
const { existsSync, readFileSync } = process.getBuiltinModule('node:fs');
import type { WaypointRef } from '../config/ir.js';
import type { IstioCaClient } from '../identity/ca-client.js';
import { ISTIO_TOKEN_PATH } from '../identity/istio-token-path.js';
import type { KubeCredentials } from '../sources/kube-credentials.js';
import type { XdsNode } from '../sources/xds-client.js';
import type { ObjectSource } from '../state/object-source.js';
import { UsageError } from './usage-error.js';

export const CONTROL_PLANE_OPTIONS = {
  'xds-address': { type: 'string' },
  'xds-api': { type: 'string' },
  'ca-address': { type: 'string' },
  'envoy-bootstrap': { type: 'string' },
  'root-cert': { type: 'string' },
  'token-file': { type: 'string' },
  kube: { type: 'boolean' },
  kubeconfig: { type: 'string' },
  /** Namespaces the Kubernetes watch covers (comma-separated, or `*`); see {@link kubeNamespaces}. */
  'kube-namespaces': { type: 'string' },
} as const;

export interface ControlPlaneValues {
  readonly 'xds-address'?: string | undefined;
  readonly 'xds-api'?: string | undefined;
  readonly 'ca-address'?: string | undefined;
  readonly 'envoy-bootstrap'?: string | undefined;
  readonly 'root-cert'?: string | undefined;
  readonly 'token-file'?: string | undefined;
  readonly kube?: boolean | undefined;
  readonly kubeconfig?: string | undefined;
  readonly 'kube-namespaces'?: string | undefined;
}

export const DEFAULT_ROOT_CERT = '/var/run/secrets/istio/root-cert.pem';

export interface ControlPlaneChoice {
  readonly sources: readonly ObjectSource[];
  readonly ca?: IstioCaClient;
  /** For the start-up line: `files`, `xds envoy 10.0.0.1:15012`... */
  readonly description: string;
}

export interface RoleIdentity {
  readonly kind: 'waypoint' | 'ztunnel';
  readonly waypoint?: WaypointRef;
  readonly node?: string;
}

/** `https://istiod:15012` → TLS to istiod:15012; `http://` → plaintext (tests, dev); bare → TLS. */
function parseAddress(raw: string): { address: string; plaintext: boolean } {
  const m = /^(https?):\/\/(.*)$/.exec(raw.trim());
  return m ? { address: m[2]!.replace(/\/$/, ''), plaintext: m[1] === 'http' } : { address: raw.trim(), plaintext: false };
}

export async function openControlPlane(values: ControlPlaneValues, role: RoleIdentity, env: NodeJS.ProcessEnv = process.env): Promise<ControlPlaneChoice> {
  const sources: ObjectSource[] = [];
  const parts: string[] = [];
  const tokenPath = values['token-file'] ?? ISTIO_TOKEN_PATH;
  const bootstrap = values['envoy-bootstrap'];
  if (bootstrap) {
    if (role.kind !== 'waypoint' || !role.waypoint) throw new UsageError('--envoy-bootstrap configures a waypoint');
    const { EnvoyBootstrapSource } = await import('../sources/envoy-bootstrap-source.js');
    sources.push(await EnvoyBootstrapSource.open({ file: bootstrap, waypoint: role.waypoint, watch: true }));
    parts.push(`envoy bootstrap ${bootstrap}`);
  }
  const xdsRaw = values['xds-address'] ?? env['XDS_ADDRESS'];
  if (xdsRaw) {
    const { address, plaintext } = parseAddress(xdsRaw);
    const api = values['xds-api'] ?? (role.kind === 'waypoint' ? 'envoy' : 'workload');
    if (api !== 'envoy' && api !== 'workload') throw new UsageError('--xds-api must be envoy or workload');
    const grpc = await import('@grpc/grpc-js');
    const { fileToken } = await import('../identity/ca-client.js');
    const token = (): Readonly<Record<string, string>> => (existsSync(tokenPath) ? { authorization: `Bearer ${fileToken(tokenPath)()}` } : {});
    const credentials = plaintext ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(readRoot(values['root-cert'] ?? env['XDS_ROOT_CA'] ?? DEFAULT_ROOT_CERT));
    const node = nodeOf(role, env);
    if (api === 'envoy') {
      if (!role.waypoint) throw new UsageError('--xds-api envoy configures a waypoint');
      const { EnvoyXdsSource } = await import('../sources/envoy-xds-source.js');
      sources.push(new EnvoyXdsSource({ address, credentials, node, waypoint: role.waypoint, metadata: token }));
    } else {
      const { WorkloadXdsSource } = await import('../sources/workload-xds-source.js');
      sources.push(new WorkloadXdsSource({ address, credentials, node, metadata: token }));
    }
    parts.push(`xds ${api} ${address}`);
  }
  if (values.kube || values.kubeconfig) {
    const { KubeWatchSource } = await import('../sources/kube-watch.js');
    const { scopedResources } = await import('../sources/kube-resources.js');
    const namespaces = kubeNamespaces(values['kube-namespaces'], role);
    const source = new KubeWatchSource({ kubeConfig: await loadKubeConfig(values.kubeconfig, env), ...(namespaces ? { resources: scopedResources(namespaces) } : {}) });
    sources.push(source);
    parts.push(source.name);
  }
  // CA_ADDRESS is ztunnel's name, CA_ADDR pilot-agent's (Istio's waypoint template sets CA_ADDR).
  const caRaw = values['ca-address'] ?? env['CA_ADDRESS'] ?? env['CA_ADDR'];
  let ca: IstioCaClient | undefined;
  if (caRaw) {
    const { address } = parseAddress(caRaw);
    const { fileToken, IstioCaClient } = await import('../identity/ca-client.js');
    const clusterId = env['CLUSTER_ID'] ?? env['ISTIO_META_CLUSTER_ID'];
    ca = new IstioCaClient({
      address,
      rootCertPem: readRoot(values['root-cert'] ?? env['CA_ROOT_CA'] ?? DEFAULT_ROOT_CERT).toString(),
      token: fileToken(tokenPath),
      ...(clusterId ? { clusterId } : {}),
    });
    parts.push(`ca ${address}`);
  }
  return { sources, ...(ca ? { ca } : {}), description: parts.length > 0 ? `files + ${parts.join(' + ')}` : 'files' };
}

/** Istio's default root namespace: mesh-wide policies, Telemetry and WasmPlugins live there. */
export const ROOT_NAMESPACE = 'istio-system';

/**
 * Which namespaces the Kubernetes watch covers; undefined = the whole cluster. A waypoint watches
 * its own namespace (the Services a namespace waypoint serves, its Gateway, routes, policies) and
 * the root namespace; `--kube-namespaces a,b` adds namespaces it also serves or routes to (Services
 * using a waypoint from another namespace, cross-namespace backends), `*` watches everything. A
 * ztunnel (a node agent for every pod) watches the whole cluster unless told otherwise.
 */
export function kubeNamespaces(flag: string | undefined, role: RoleIdentity): readonly string[] | undefined {
  if (flag !== undefined) {
    if (flag.trim() === '*') return undefined;
    const list = flag.split(',').map((n) => n.trim()).filter((n) => n !== '');
    const bad = list.find((n) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n));
    if (list.length === 0 || bad !== undefined) throw new UsageError(`--kube-namespaces: ${bad !== undefined ? `${JSON.stringify(bad)} is not a namespace name` : 'give namespaces, or *'}`);
    return [...new Set([...(role.waypoint ? [role.waypoint.namespace] : []), ...list, ROOT_NAMESPACE])];
  }
  return role.waypoint ? [...new Set([role.waypoint.namespace, ROOT_NAMESPACE])] : undefined;
}

async function loadKubeConfig(file: string | undefined, env: NodeJS.ProcessEnv): Promise<KubeCredentials> {
  // A pod's own service account (the deployed case) needs only two files; client-node (~55 MiB)
  // is loaded for everything else a kubeconfig can say.
  if (file === undefined) {
    const { InClusterCredentials, inClusterApplies } = await import('../sources/in-cluster-credentials.js');
    if (inClusterApplies(env)) {
      try {
        return new InClusterCredentials(env);
      } catch (err) {
        throw new UsageError(`kubeconfig (in-cluster): ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (err) {
    throw new UsageError(`kubeconfig ${file ?? '(default)'}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server || !URL.canParse(server)) throw new UsageError(`kubeconfig ${file ?? '(default)'}: no current cluster with a valid server URL`);
  return kc;
}

function readRoot(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`root certificate ${path}: ${err instanceof Error ? err.message : String(err)} (set --root-cert, XDS_ROOT_CA or CA_ROOT_CA, or use an http:// address for plaintext)`);
  }
}

/** Istio's node id `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>` and ISTIO_META_* metadata. */
export function nodeOf(role: RoleIdentity, env: NodeJS.ProcessEnv): XdsNode {
  const ns = env['POD_NAMESPACE'] ?? role.waypoint?.namespace ?? 'istio-system';
  const pod = env['POD_NAME'] ?? role.waypoint?.name ?? role.node ?? role.kind;
  const ip = env['INSTANCE_IP'] ?? '127.0.0.1';
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('ISTIO_META_') && v !== undefined) metadata[k.slice('ISTIO_META_'.length)] = v;
  if (role.node) metadata['NODE_NAME'] = role.node;
  return { id: `${role.kind}~${ip}~${pod}.${ns}~${ns}.svc.cluster.local`, cluster: role.waypoint ? `${role.waypoint.name}.${role.waypoint.namespace}` : role.kind, metadata };
}

/** What readiness reports for the control-plane sources. */
export function configGate(sources: readonly ObjectSource[]): () => { synced: boolean; stale?: string } {
  return () => {
    const stale = sources.filter((s) => s.status().stale).map((s) => s.status().detail);
    return { synced: sources.every((s) => s.status().synced), ...(stale.length > 0 ? { stale: stale.join('; ') } : {}) };
  };
}

/**
 * Waits (bounded) until every source synced and `ready()` holds: a role whose own object (the
 * waypoint's Gateway) comes from the Kubernetes API or xDS cannot start before the first config.
 */
export async function waitForControlPlane(sources: readonly ObjectSource[], ready: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (sources.every((s) => s.status().synced) && ready()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
