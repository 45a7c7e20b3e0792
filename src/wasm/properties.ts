/**
 * `proxy_get_property` / `proxy_set_property`: Envoy's attribute paths (segments joined by NUL)
 * with Envoy's value encodings — strings raw, integers/timestamps/durations as 8-byte little-endian
 * (nanoseconds for time), booleans as one byte, maps in the header-pair serialization. Unknown
 * paths are NOT_FOUND (plugins probe many of them), never an error. Writes go to the stream's
 * filter state under `wasm.<name>`, where Envoy puts them, and are readable back by name.
 */
import type { RequestContext, ResponseContext } from '../filter/api.js';
import { serializePairs } from './header-pairs.js';
import type { Pair } from './header-pairs.js';

export interface NodeInfo {
  /** Envoy node id (`waypoint~<ip>~<name>.<ns>~<ns>.svc.cluster.local`). */
  readonly id: string;
  readonly cluster: string;
  /** Istio node metadata (NAME, NAMESPACE, CLUSTER_ID, MESH_ID, WORKLOAD_NAME...). */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface PropertyScope {
  readonly pluginName: string;
  readonly rootId: string;
  readonly vmId: string;
  readonly node: NodeInfo;
  readonly request?: RequestContext;
  readonly response?: ResponseContext;
  /** Root-context values set by `proxy_set_property` outside a stream. */
  readonly rootState: Map<string, Buffer>;
}

const str = (s: string): Buffer => Buffer.from(s, 'utf8');
function int(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return b;
}
const bool = (v: boolean): Buffer => Buffer.from([v ? 1 : 0]);

function headerPairs(map: Iterable<[string, string | readonly string[]]>): Buffer {
  const pairs: Pair[] = [];
  for (const [k, v] of map) {
    if (typeof v === 'string') pairs.push([k, v]);
    else for (const x of v) pairs.push([k, x]);
  }
  return serializePairs(pairs);
}

/** Splits a NUL-joined path (a trailing NUL is allowed). */
export function splitPath(raw: string): string[] {
  const parts = raw.split('\u0000');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function requestProperty(req: RequestContext, key: string | undefined, sub: string | undefined): Buffer | undefined {
  const q = req.path.indexOf('?');
  switch (key) {
    case 'path':
      return str(req.path);
    case 'url_path':
      return str(q < 0 ? req.path : req.path.slice(0, q));
    case 'query':
      return str(q < 0 ? '' : req.path.slice(q + 1));
    case 'host':
      return str(req.authority);
    case 'scheme':
      return str(req.scheme);
    case 'method':
      return str(req.method);
    case 'protocol':
      return str(req.protocol);
    case 'id':
      return str(req.requestId);
    case 'referer':
      return optional(req.headers.get('referer'));
    case 'useragent':
      return optional(req.headers.get('user-agent'));
    case 'time':
      return int(BigInt(req.startTime) * 1_000_000n);
    case 'duration':
      return int(BigInt(Math.max(0, Date.now() - req.startTime)) * 1_000_000n);
    case 'headers':
      if (sub !== undefined) return optional(req.headers.get(sub));
      return headerPairs(req.headers);
    default:
      return undefined;
  }
}

function optional(v: string | undefined): Buffer | undefined {
  return v === undefined ? undefined : str(v);
}

function responseProperty(res: ResponseContext, req: RequestContext | undefined, key: string | undefined, sub: string | undefined): Buffer | undefined {
  switch (key) {
    case 'code':
      return int(res.status);
    case 'code_details':
      return optional(req?.streamInfo.responseCodeDetails);
    case 'flags':
      return int(req?.streamInfo.responseFlags.length ?? 0);
    case 'grpc_status': {
      const g = res.headers.get('grpc-status');
      return g === undefined ? undefined : int(Number(g));
    }
    case 'headers':
      if (sub !== undefined) return optional(res.headers.get(sub));
      return headerPairs(res.headers);
    default:
      return undefined;
  }
}

export function getProperty(scope: PropertyScope, path: readonly string[]): Buffer | undefined {
  const [top, key, sub] = path;
  const req = scope.request;
  switch (top) {
    case 'plugin_name':
      return str(scope.pluginName);
    case 'plugin_root_id':
      return str(scope.rootId);
    case 'plugin_vm_id':
      return str(scope.vmId);
    case 'listener_direction':
      // A waypoint's listener is Istio's inbound class.
      return int(1);
    case 'node':
      if (key === 'id') return str(scope.node.id);
      if (key === 'cluster') return str(scope.node.cluster);
      if (key === 'metadata') {
        if (sub !== undefined) return optional(scope.node.metadata[sub]);
        return serializePairs(Object.entries(scope.node.metadata), 'utf8');
      }
      return undefined;
    case 'request':
      return req ? requestProperty(req, key, sub) : undefined;
    case 'response':
      return scope.response ? responseProperty(scope.response, req, key, sub) : undefined;
    case 'source':
      if (!req) return undefined;
      if (key === 'address') return str(`${req.source.address}:${req.source.port}`);
      if (key === 'port') return int(req.source.port);
      if (key === 'principal') return optional(req.source.principal);
      return undefined;
    case 'destination':
      if (!req) return undefined;
      if (key === 'address') return str(req.destination.connectAuthority);
      if (key === 'port') return int(req.destination.port);
      return undefined;
    case 'connection':
      if (!req) return undefined;
      if (key === 'mtls') return bool(req.source.principal !== undefined);
      if (key === 'uri_san_peer_certificate') return optional(req.source.principal);
      if (key === 'requested_server_name') return str('');
      return undefined;
    case 'upstream':
      if (!req) return undefined;
      if (key === 'address') return optional(req.streamInfo.upstreamHost);
      return undefined;
    case 'cluster_name':
      return req ? optional(req.streamInfo.upstreamCluster) : undefined;
    case 'route_name':
      return req ? optional(req.streamInfo.routeName) : undefined;
    case undefined:
      return undefined;
    default: {
      // Filter state written by set_property (Envoy: `wasm.<name>`).
      const name = path.join('.');
      const v = req ? req.streamInfo.filterState().get(`wasm.${name}`) : scope.rootState.get(name);
      return Buffer.isBuffer(v) ? v : undefined;
    }
  }
}

/** Envoy's reserved top-level names cannot be written. */
const READ_ONLY = new Set(['plugin_name', 'plugin_root_id', 'plugin_vm_id', 'listener_direction', 'node', 'request', 'response', 'source', 'destination', 'connection', 'upstream', 'cluster_name', 'route_name']);

/** True when written; false for a reserved (read-only) path. */
export function setProperty(scope: PropertyScope, path: readonly string[], value: Buffer): boolean {
  if (path.length === 0 || READ_ONLY.has(path[0] as string)) return false;
  const name = path.join('.');
  if (scope.request) scope.request.streamInfo.filterState().set(`wasm.${name}`, value);
  else scope.rootState.set(name, value);
  return true;
}
