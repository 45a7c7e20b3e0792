/**
 * `v1/Service` → a service draft. Hostname (cluster domain) and waypoint binding (namespace labels,
 * existing waypoints) are finished by the snapshot builder.
 *
 * VIPs come from `spec.clusterIPs` (else `spec.clusterIP`); `None` means headless (no VIP). In the
 * local mesh they must be in 127.100/16. Only TCP ports are kept: the mesh carries TCP only.
 */
const { isIP } = process.getBuiltinModule('node:net');
import type { ServicePortIR } from '../ir.js';
import { selectAppProtocol } from './app-protocol.js';
import { checkRange } from './local-ranges.js';
import type { ObjectReader } from './object-reader.js';
import { meshAnnotations } from './mesh-annotations.js';
import { PORT_NAME_RE } from './pod.js';
import type { ServiceDraft, TranslateContext, Translator } from './translator.js';

/** Service port names are DNS labels (RFC 1123), unlike container port names. */
const DNS_LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const serviceTranslator: Translator = {
  kind: 'Service',
  apiVersions: ['v1'],
  namespaced: true,
  translate(r, ctx) {
    const namespace = r.id.namespace ?? 'default';
    const labels = r.stringMap(['metadata', 'labels']);
    const vips = readVips(r, ctx);
    const ports = readPorts(r);
    const selectorRec = r.record(['spec', 'selector']);
    const selector = selectorRec ? r.stringMap(['spec', 'selector']) : undefined;
    const annotations = meshAnnotations(r.stringMap(['metadata', 'annotations']));
    if (r.failed) return undefined;
    const value: ServiceDraft = {
      name: r.id.name,
      namespace,
      vips,
      ports,
      ...(selector !== undefined ? { selector } : {}),
      labels,
      ...(annotations ? { annotations } : {}),
      origin: r.origin,
    };
    return { type: 'Service', value };
  },
};

function readVips(r: ObjectReader, ctx: TranslateContext): string[] {
  const clusterIP = r.string(['spec', 'clusterIP']);
  const listed = r.has(['spec', 'clusterIPs']);
  const clusterIPs = r.stringList(['spec', 'clusterIPs']);
  if (clusterIP === 'None' || (clusterIP === undefined && clusterIPs[0] === 'None')) return [];
  // Kubernetes requires clusterIPs[0] == clusterIP when both are set.
  if (listed && clusterIP !== undefined && clusterIPs.length > 0 && clusterIPs[0] !== clusterIP) {
    r.error(['spec', 'clusterIPs', 0], 'FIELD_INVALID', `must equal spec.clusterIP (${clusterIP})`);
    return [];
  }
  const texts: { text: string; path: (string | number)[] }[] = listed
    ? clusterIPs.map((text, i) => ({ text, path: ['spec', 'clusterIPs', i] }))
    : clusterIP !== undefined
      ? [{ text: clusterIP, path: ['spec', 'clusterIP'] }]
      : [];
  const out: string[] = [];
  for (const { text, path } of texts) {
    if (isIP(text) === 0) {
      r.error(path, 'FIELD_INVALID', `${JSON.stringify(text)} is not an IP address`);
      continue;
    }
    if (out.includes(text)) {
      r.error(path, 'FIELD_INVALID', `${text} is listed twice`);
      continue;
    }
    if (checkRange(r, path, text, 'vip', ctx)) out.push(text);
  }
  if (texts.length === 0 && ctx.localRanges) {
    // In a cluster the API server allocates one; locally nobody does, so say why it has no VIP.
    r.warn(['spec', 'clusterIP'], 'FIELD_REQUIRED', 'no clusterIP: the Service is reachable by host name only');
  }
  return out;
}

function readPorts(r: ObjectReader): ServicePortIR[] {
  const items = r.list(['spec', 'ports']);
  const out: ServicePortIR[] = [];
  const seenPorts = new Set<number>();
  const seenNames = new Set<string>();
  items.forEach((_, i) => {
    const base = ['spec', 'ports', i] as const;
    if (r.record(base, true) === undefined) return;
    const port = r.port([...base, 'port']);
    const name = r.string([...base, 'name']);
    if (name !== undefined) {
      if (!DNS_LABEL_RE.test(name)) {
        r.error([...base, 'name'], 'FIELD_INVALID', `${JSON.stringify(name)} is not a valid port name (DNS label)`);
      } else if (seenNames.has(name)) {
        r.error([...base, 'name'], 'FIELD_INVALID', `port name ${JSON.stringify(name)} is used twice`);
      }
      seenNames.add(name);
    } else if (items.length > 1) {
      // Kubernetes requires names on multi-port Services; named targetPorts and routes need them.
      r.error([...base, 'name'], 'FIELD_REQUIRED', 'is required when a Service has more than one port');
    }
    const protocol = r.string([...base, 'protocol']) ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
      r.error([...base, 'protocol'], 'FIELD_INVALID', `must be TCP, UDP or SCTP, got ${JSON.stringify(protocol)}`);
    }
    const targetPort = readTargetPort(r, [...base, 'targetPort'], port);
    const appProtocol = r.string([...base, 'appProtocol']);
    if (port === undefined || targetPort === undefined || protocol !== 'TCP') return;
    if (seenPorts.has(port)) {
      r.error([...base, 'port'], 'FIELD_INVALID', `port ${port}/TCP is listed twice`);
      return;
    }
    seenPorts.add(port);
    out.push({
      ...(name !== undefined ? { name } : {}),
      port,
      targetPort,
      appProtocol: selectAppProtocol(appProtocol, name, port),
    });
  });
  return out;
}

/** IntOrString: a number (1..65535) or a container port name; defaults to `port`. */
function readTargetPort(r: ObjectReader, path: readonly (string | number)[], port: number | undefined): number | string | undefined {
  const v = r.get(path);
  if (v === undefined || v === null) return port;
  if (typeof v === 'string') {
    if (!PORT_NAME_RE.test(v)) {
      r.error(path, 'FIELD_INVALID', `${JSON.stringify(v)} is neither a port number nor a valid port name`);
      return undefined;
    }
    return v;
  }
  return r.port(path);
}
