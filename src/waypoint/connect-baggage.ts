/**
 * What the waypoint puts on the CONNECT it opens toward a destination ztunnel, as istiod
 * configures a waypoint (istio/istio `pilot/pkg/networking/core/listener_waypoint.go`,
 * `buildConnectForwarder`): the tunnel's `:authority` is the endpoint address, and — only with
 * istiod's `AMBIENT_ENABLE_BAGGAGE` (default false) — one header, `baggage`, holding the
 * waypoint's own peer metadata (the `upstream_hbone_peer_metadata` filter: each peer reports its
 * own metadata in HBONE CONNECT headers). No `forwarded` and no `traceparent`: istiod sets
 * neither on this hop (ztunnel adds them on the client side only, `src/hbone/connect-headers.ts`).
 */
import type { WaypointRef } from '../config/ir.js';
import { baggageHeader } from '../hbone/connect-headers.js';
import type { HbonePool } from '../hbone/pool.js';

type Dial = HbonePool['dial'];

/** The waypoint's metadata as ztunnel-style baggage: a Deployment named after its Gateway. */
export function waypointBaggage(ref: WaypointRef): string {
  return baggageHeader({ namespace: ref.namespace, workloadType: 'deployment', workloadName: ref.name, service: ref.name });
}

/** A dial that adds `headers` to every CONNECT (after the caller's own, which it never has here). */
export function withConnectHeaders(pool: HbonePool, headers: Readonly<Record<string, string>>): Dial {
  return (d) => pool.dial({ ...d, headers: { ...headers, ...d.headers } });
}
