/**
 * `v1/Pod` → a workload draft (identity and tunnel protocol are finished by the snapshot builder,
 * which knows the trust domain and the namespace labels).
 *
 * Local-mesh conventions (design §4): the pod IP is `status.podIP` (127.1/16 when `localRanges`),
 * `spec.nodeName` picks the ztunnel, `spec.serviceAccountName` (default `default`) gives the
 * identity, and a first container whose image names a built-in app gets a demo app.
 */
import type { ContainerPortIR, DemoAppIR } from '../ir.js';
import type { ObjectReader } from './object-reader.js';
import { readAddress } from './local-ranges.js';
import type { PodDraft, Translator } from './translator.js';

/** Kubernetes' IANA_SVC_NAME: ≤15 chars, lowercase alphanumerics and '-', at least one letter. */
export const PORT_NAME_RE = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

export const podTranslator: Translator = {
  kind: 'Pod',
  apiVersions: ['v1'],
  namespaced: true,
  translate(r, ctx) {
    const namespace = r.id.namespace ?? 'default';
    const name = r.id.name;
    const labels = r.stringMap(['metadata', 'labels']);

    // Finished pods are not endpoints; Kubernetes keeps them around, so skipping is not an error.
    const phase = r.string(['status', 'phase']);
    if (phase === 'Succeeded' || phase === 'Failed') return undefined;

    const ip = readAddress(r, ['status', 'podIP'], 'pod', ctx);
    const node = r.string(['spec', 'nodeName'], { required: true });
    // `serviceAccount` is the deprecated alias Kubernetes still honours.
    const serviceAccount =
      r.string(['spec', 'serviceAccountName']) ?? r.string(['spec', 'serviceAccount']) ?? 'default';

    const containers = r.list(['spec', 'containers'], true);
    if (r.has(['spec', 'containers']) && containers.length === 0) {
      r.error(['spec', 'containers'], 'FIELD_REQUIRED', 'a Pod needs at least one container');
    }
    const containerPorts: ContainerPortIR[] = [];
    let firstImage: string | undefined;
    containers.forEach((_, ci) => {
      const base = ['spec', 'containers', ci] as const;
      if (r.record(base, true) === undefined) return;
      const image = r.string([...base, 'image']);
      if (ci === 0) firstImage = image;
      r.list([...base, 'ports']).forEach((__, pi) => {
        const p = readContainerPort(r, [...base, 'ports', pi]);
        if (p) containerPorts.push(p);
      });
    });

    const workloadName = workloadNameOf(r, name, labels);
    const canonicalName =
      labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? workloadName;
    const canonicalRevision =
      labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels['version'] ?? 'latest';

    if (r.failed || ip === undefined || node === undefined) return undefined;

    const demoApp = demoAppOf(firstImage, containerPorts);
    const value: PodDraft = {
      uid: `Pod/${namespace}/${name}`,
      name,
      namespace,
      serviceAccount,
      ip,
      node,
      labels,
      containerPorts,
      canonicalName,
      canonicalRevision,
      workloadName,
      ...(demoApp ? { demoApp } : {}),
      origin: r.origin,
    };
    return { type: 'Pod', value };
  },
};

function readContainerPort(r: ObjectReader, path: readonly (string | number)[]): ContainerPortIR | undefined {
  if (r.record(path, true) === undefined) return undefined;
  const port = r.port([...path, 'containerPort']);
  const name = r.string([...path, 'name']);
  if (name !== undefined && !PORT_NAME_RE.test(name)) {
    r.error([...path, 'name'], 'FIELD_INVALID', `${JSON.stringify(name)} is not a valid port name (IANA_SVC_NAME)`);
  }
  const protoText = r.string([...path, 'protocol']) ?? 'TCP';
  let protocol: ContainerPortIR['protocol'] | undefined;
  if (protoText === 'TCP' || protoText === 'UDP' || protoText === 'SCTP') protocol = protoText;
  else r.error([...path, 'protocol'], 'FIELD_INVALID', `must be TCP, UDP or SCTP, got ${JSON.stringify(protoText)}`);
  if (port === undefined || protocol === undefined) return undefined;
  return name !== undefined ? { name, port, protocol } : { port, protocol };
}

/**
 * The workload (controller) name for telemetry, kept simple: the owning controller's name from
 * `metadata.ownerReferences[0]`, minus the ReplicaSet's `pod-template-hash` suffix so Deployment
 * pods report the Deployment; without an owner, the pod name.
 */
function workloadNameOf(r: ObjectReader, podName: string, labels: Readonly<Record<string, string>>): string {
  const owners = r.list(['metadata', 'ownerReferences']);
  if (owners.length === 0) return podName;
  const kind = r.string(['metadata', 'ownerReferences', 0, 'kind']);
  const owner = r.string(['metadata', 'ownerReferences', 0, 'name']);
  if (owner === undefined) return podName;
  if (kind === 'ReplicaSet') {
    const hash = labels['pod-template-hash'];
    if (hash !== undefined && owner.endsWith(`-${hash}`)) return owner.slice(0, -hash.length - 1);
    const dash = owner.lastIndexOf('-');
    return dash > 0 ? owner.slice(0, dash) : owner;
  }
  return owner;
}

/**
 * `echo`, `echo:<tag>`, `…/echo`, `…/echo:<tag>` (e.g. `ambient/echo:1`) name the built-in echo app.
 * A digest (`@sha256:…`) is allowed too.
 */
export function demoAppOf(image: string | undefined, ports: readonly ContainerPortIR[]): DemoAppIR | undefined {
  if (image === undefined) return undefined;
  const noDigest = image.split('@')[0] ?? image;
  const lastSlash = noDigest.lastIndexOf('/');
  const lastSegment = noDigest.slice(lastSlash + 1);
  const repo = lastSegment.split(':')[0];
  if (repo !== 'echo') return undefined;
  return { kind: 'echo', ports: ports.filter((p) => p.protocol === 'TCP').map((p) => p.port) };
}
