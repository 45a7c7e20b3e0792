/**
 * `ambient up --istio-ztunnel BIN`: Istio's own ztunnel serves the pods of some or all nodes.
 *
 * Istio's ztunnel outside Kubernetes runs in dedicated mode: one process proxies one workload
 * (`PROXY_MODE=dedicated`, `PROXY_WORKLOAD_INFO=ns/name/sa`), so a node of the local mesh becomes
 * one Istio ztunnel per pod, each in the pod's own network namespace (pod-netns.ts says why) with
 * the pod's demo app. Each is pointed at the local istiod (CA and workload xDS over TLS,
 * src/control-plane/local-istiod.ts) with the mesh root as `XDS_ROOT_CA`/`CA_ROOT_CA` and a
 * `pod:` token (mesh-token.ts) as `AUTH_TOKEN`, so it may obtain only its pod's identity. Its
 * environment (istio/ztunnel src/config.rs) is written once here; anything else (`SECRET_TTL`,
 * `RUST_LOG`...) is inherited from `ambient up`'s own environment.
 */
const { mkdirSync, writeFileSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');
import type { WorkloadIR } from '../config/ir.js';
import { DEFAULT_CLUSTER_ID, TOKEN_KEY_LABEL } from '../control-plane/istiod-defaults.js';
import { mintToken } from '../control-plane/mesh-token.js';
import type { LocalCa } from '../identity/local-ca.js';
import type { MeshView } from '../state/mesh-view.js';
import type { ExternalProgram, IstioZtunnelPlan } from './desired-processes.js';
import { servedByIstioZtunnel } from './desired-processes.js';
import { createPodNetns, deletePodNetns, podNetnsName, prepareMeshNetns } from './pod-netns.js';

export interface IstioZtunnelNodesOptions {
  readonly binary: string;
  readonly nodes: 'all' | ReadonlySet<string>;
  readonly stateDir: string;
  /** `ip:port` of the local istiod, reachable from the pods' namespaces. */
  readonly istiodAddress: string;
  /** Source address of the mesh namespace's connections into pods. */
  readonly routerIp: string;
  readonly ca: LocalCa;
}

export class IstioZtunnelNodes {
  /** Pod key → its network namespace, for the pods set up so far. */
  private readonly netns = new Map<string, { name: string; ip: string }>();
  readonly plan: IstioZtunnelPlan;

  constructor(private readonly opts: IstioZtunnelNodesOptions) {
    prepareMeshNetns();
    this.plan = {
      nodes: opts.nodes,
      istiodAddress: opts.istiodAddress,
      netnsOf: (w) => podNetnsName(opts.stateDir, w.namespace, w.name),
      programFor: (w) => this.programFor(w),
    };
  }

  /** Creates namespaces for new pods, re-creates moved ones, removes those of pods gone. */
  sync(view: MeshView): void {
    const wanted = new Map<string, WorkloadIR>();
    for (const w of view.snapshot.workloads.values()) if (servedByIstioZtunnel(this.plan, w)) wanted.set(`${w.namespace}/${w.name}`, w);
    for (const [key, ns] of this.netns) {
      if (wanted.get(key)?.ip === ns.ip) continue;
      deletePodNetns(ns.name);
      this.netns.delete(key);
    }
    for (const [key, w] of wanted) {
      if (this.netns.has(key)) continue;
      const ns = createPodNetns(this.plan.netnsOf(w), w.ip, this.opts.routerIp);
      this.netns.set(key, { name: ns.name, ip: w.ip });
      this.writeToken(w);
    }
  }

  close(): void {
    for (const ns of this.netns.values()) deletePodNetns(ns.name);
    this.netns.clear();
  }

  private dirOf(w: WorkloadIR): string {
    return path.join(this.opts.stateDir, 'istio-ztunnel', this.plan.netnsOf(w));
  }

  private writeToken(w: WorkloadIR): void {
    const dir = this.dirOf(w);
    mkdirSync(dir, { recursive: true });
    const token = mintToken(this.opts.ca.deriveSecret(TOKEN_KEY_LABEL), { kind: 'pod', namespace: w.namespace, name: w.name });
    writeFileSync(path.join(dir, 'istio-token'), token, { mode: 0o600 });
  }

  private programFor(w: WorkloadIR): ExternalProgram {
    const root = path.join(this.opts.stateDir, 'ca', 'root-cert.pem');
    const istiod = `https://${this.opts.istiodAddress}`;
    return {
      command: this.opts.binary,
      readyUrl: `http://${w.ip}:15021/healthz/ready`,
      env: {
        XDS_ADDRESS: istiod,
        CA_ADDRESS: istiod,
        XDS_ROOT_CA: root,
        CA_ROOT_CA: root,
        AUTH_TOKEN: path.join(this.dirOf(w), 'istio-token'),
        CLUSTER_ID: DEFAULT_CLUSTER_ID,
        PROXY_MODE: 'dedicated',
        PROXY_WORKLOAD_INFO: `${w.namespace}/${w.name}/${w.serviceAccount}`,
        NODE_NAME: w.node,
        // Dedicated mode is a sidecar-like proxy: without this, ztunnel (running as root) spoofs the
        // peer's address toward the app (IP_TRANSPARENT, best effort), and the app's answer to
        // e.g. the waypoint's 127.2.x.y leaves the pod's namespace instead of returning. Istio's own
        // dedicated-mode tests set the same (src/test_helpers/linux.rs).
        ENABLE_ORIG_SRC: 'false',
        // The pod namespace has IPv4 only; wildcard binds are then 0.0.0.0.
        IPV6_ENABLED: 'false',
        // `ambient curl`-style requests from the pod: SOCKS5 on 127.0.0.1:15080 inside its namespace.
        UNSTABLE_ENABLE_SOCKS5: 'true',
        RUST_LOG: process.env['RUST_LOG'] ?? 'info',
      },
    };
  }
}
