/**
 * `gateway.networking.k8s.io/v1 Gateway` with `gatewayClassName: istio-waypoint` → a waypoint
 * draft. Gateways of other classes (ingress, east-west) are not waypoints and are skipped quietly.
 *
 * A waypoint needs a listener on 15008 with protocol `HBONE` (Istio's generated waypoints name it
 * `mesh`) and at least one address: `spec.addresses` (local mesh, 127.2/16), else the addresses
 * the controller published in `status.addresses` (in a cluster). An address is an IP (bound by the
 * waypoint) or a `Hostname`: in a cluster, the waypoint's own Service (a Gateway with one Hostname
 * address is "manually deployed" for istiod), which the waypoint cannot bind; it then listens on
 * its pod's IP instead (`--bind instance-ip`). Istio runs a waypoint under a ServiceAccount named
 * after the Gateway, in its namespace; the builder derives the identity.
 */
const { isIP } = process.getBuiltinModule('node:net');
import { HBONE_PORT } from '../ir.js';
import type { WaypointFor } from '../ir.js';
import { checkRange } from './local-ranges.js';
import type { ObjectReader } from './object-reader.js';
import type { TranslateContext, Translator, WaypointDraft } from './translator.js';

export const WAYPOINT_CLASS = 'istio-waypoint';
/** Istio 1.30 (pilot listener_waypoint.go): opt a waypoint in to XFCC carrying the client's identity. */
export const ANNOTATION_XFCC_CLIENT_IDENTITY = 'ambient.istio.io/xfcc-include-client-identity';

export const gatewayTranslator: Translator = {
  kind: 'Gateway',
  apiVersions: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  namespaced: true,
  translate(r, ctx) {
    const className = r.string(['spec', 'gatewayClassName'], { required: true });
    if (className !== WAYPOINT_CLASS) return undefined;
    const namespace = r.id.namespace ?? 'default';
    const labels = r.stringMap(['metadata', 'labels']);
    const waypointFor = readWaypointFor(r, labels['istio.io/waypoint-for']);
    const hbonePort = readHboneListener(r);
    const { addresses, hostnames } = readAddresses(r, ctx);
    // Istio compares case-insensitively with "true" (listener_waypoint.go); anything else is off.
    const xfcc = r.stringMap(['metadata', 'annotations'])[ANNOTATION_XFCC_CLIENT_IDENTITY]?.toLowerCase() === 'true';
    if (r.failed || hbonePort === undefined || waypointFor === undefined) return undefined;
    const value: WaypointDraft = {
      name: r.id.name,
      namespace,
      addresses,
      ...(hostnames.length > 0 ? { hostnames } : {}),
      hbonePort,
      serviceAccount: r.id.name,
      waypointFor,
      ...(xfcc ? { xfccClientIdentity: true } : {}),
      origin: r.origin,
    };
    return { type: 'Waypoint', value };
  },
};

function readWaypointFor(r: ObjectReader, label: string | undefined): WaypointFor | undefined {
  // Istio's default for a waypoint is `service`.
  if (label === undefined) return 'service';
  switch (label) {
    case 'service':
    case 'workload':
    case 'all':
    case 'none':
      return label;
    default:
      r.error(['metadata', 'labels', 'istio.io/waypoint-for'], 'FIELD_INVALID', `must be service, workload, all or none, got ${JSON.stringify(label)}`);
      return undefined;
  }
}

function readHboneListener(r: ObjectReader): number | undefined {
  const listeners = r.list(['spec', 'listeners'], true);
  let found = false;
  listeners.forEach((_, i) => {
    const base = ['spec', 'listeners', i] as const;
    if (r.record(base, true) === undefined) return;
    const port = r.port([...base, 'port']);
    const protocol = r.string([...base, 'protocol'], { required: true });
    if (port === HBONE_PORT && protocol === 'HBONE') found = true;
  });
  if (!found && !r.failed) {
    r.error(['spec', 'listeners'], 'FIELD_INVALID', `a waypoint needs a listener on port ${HBONE_PORT} with protocol HBONE (conventionally named "mesh")`);
    return undefined;
  }
  return found ? HBONE_PORT : undefined;
}

/** RFC 1123 DNS name, as Gateway API validates `Hostname` addresses. */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

function readAddresses(r: ObjectReader, ctx: TranslateContext): { addresses: string[]; hostnames: string[] } {
  const fromSpec = r.has(['spec', 'addresses']);
  const where = fromSpec ? (['spec', 'addresses'] as const) : (['status', 'addresses'] as const);
  const items = r.list(where);
  const out: string[] = [];
  const hostnames: string[] = [];
  items.forEach((_, i) => {
    const base = [...where, i] as const;
    if (r.record(base, true) === undefined) return;
    const type = r.string([...base, 'type']) ?? 'IPAddress';
    if (type !== 'IPAddress' && type !== 'Hostname') {
      r.error([...base, 'type'], 'FIELD_INVALID', `only IPAddress and Hostname addresses are supported, got ${JSON.stringify(type)}`);
      return;
    }
    const value = r.string([...base, 'value'], { required: true });
    if (value === undefined) return;
    if (type === 'Hostname') {
      if (!DNS_NAME.test(value)) r.error([...base, 'value'], 'FIELD_INVALID', `${JSON.stringify(value)} is not a DNS name`);
      else if (!hostnames.includes(value)) hostnames.push(value);
      return;
    }
    if (isIP(value) === 0) {
      r.error([...base, 'value'], 'FIELD_INVALID', `${JSON.stringify(value)} is not an IP address`);
      return;
    }
    if (!checkRange(r, [...base, 'value'], value, 'waypoint', ctx)) return;
    if (out.includes(value)) {
      r.error([...base, 'value'], 'FIELD_INVALID', `${value} is listed twice`);
      return;
    }
    out.push(value);
  });
  if (out.length === 0 && hostnames.length === 0 && !r.failed) {
    r.error(['spec', 'addresses'], 'FIELD_REQUIRED', 'a waypoint needs at least one address (spec.addresses[].value: an IP, or the Hostname of its Service)');
  }
  return { addresses: out, hostnames };
}
