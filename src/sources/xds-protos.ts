/**
 * The protobuf schema every xDS transport here uses: Envoy's v3 API (shipped with
 * `@grpc/grpc-js-xds` in `deps/`: envoy-api, xds (udpa, xds), googleapis, protoc-gen-validate)
 * and the project's Istio protos (`proto/istio/...`), loaded once with protobufjs.
 *
 * protobufjs rather than @grpc/proto-loader's package definitions because resources travel as
 * `google.protobuf.Any`: decoding them needs the message types themselves, and with `json: true`
 * protobufjs turns a known `Any` into `{"@type": url, ...fields}` — the same shape an Envoy
 * bootstrap file uses — so one translator reads both. Field names keep Envoy's snake_case.
 */
const { existsSync } = process.getBuiltinModule('node:fs');
const { createRequire } = process.getBuiltinModule('node:module');
const path = process.getBuiltinModule('node:path');
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { envoyProtoIncludeDirs, PROJECT_PROTO_DIR as PROJECT_PROTO } from '../grpc/proto-paths.js';
import { STRICT_RESOURCE_TYPES, UNKNOWN_FIELDS_KEY, unknownFields } from './proto-unknown-fields.js';

const require = createRequire(import.meta.url);

const INCLUDE_DIRS = [
  ...envoyProtoIncludeDirs(),
  PROJECT_PROTO,
  // google/protobuf/descriptor.proto (the other well-known types are built into protobufjs).
  path.dirname(require.resolve('protobufjs/package.json')),
];

const FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/wasm/v3/wasm.proto',
];

/** Project protos, loaded when present (the Istio workload API and CA). */
const PROJECT_FILES = ['istio/workload/workload.proto', 'istio/security/authorization.proto', 'istio/ca/ca.proto'];

let root: protobuf.Root | undefined;

/** The schema, loaded on first use (about half a second: only xDS modes pay it). */
export function xdsRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => {
    for (const dir of INCLUDE_DIRS) {
      const p = path.join(dir, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  r.loadSync([...FILES, ...PROJECT_FILES.filter((f) => existsSync(path.join(PROJECT_PROTO, f)))], { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, json: true, defaults: false };

export function messageType(name: string): protobuf.Type {
  return xdsRoot().lookupType(name);
}

/** Serializers for one message type, in the plain-object form used everywhere here. */
export function codec(name: string): { serialize: (v: object) => Buffer; deserialize: (b: Buffer) => Record<string, unknown> } {
  const t = messageType(name);
  return {
    serialize: (v) => {
      const err = t.verify(t.fromObject(v));
      if (err) throw new Error(`${name}: ${err}`);
      return Buffer.from(t.encode(t.fromObject(v)).finish());
    },
    deserialize: (b) => {
      const msg = t.decode(b);
      const unknown = RESPONSE_TYPES.has(name) ? scanStrictResources(msg) : undefined;
      const obj = t.toObject(msg, TO_OBJECT);
      if (unknown) markUnknownFields(obj, unknown);
      return obj;
    },
  };
}

const RESPONSE_TYPES = new Set(['envoy.service.discovery.v3.DiscoveryResponse', 'envoy.service.discovery.v3.DeltaDiscoveryResponse']);

interface AnyMessage {
  readonly type_url?: string;
  value?: Uint8Array;
}

/** Delta wraps each Any in a Resource; state-of-the-world lists the Anys themselves. */
function anyAt(resource: unknown): AnyMessage | undefined {
  if (typeof resource !== 'object' || resource === null) return undefined;
  return 'resource' in resource ? ((resource as { resource?: AnyMessage }).resource ?? undefined) : (resource);
}

/**
 * Scans each resource of a strict type (see `proto-unknown-fields.ts`) on the wire, by index. One
 * that does not even parse is emptied, so the rest of the response still decodes and the
 * translator refuses that one resource by name (never the whole push, never silently).
 */
function scanStrictResources(msg: protobuf.Message): Map<number, string[]> {
  const found = new Map<number, string[]>();
  const wire = (msg as unknown as { resources?: unknown[] }).resources ?? [];
  wire.forEach((w, i) => {
    const any = anyAt(w);
    if (!any?.type_url || !any.value || !STRICT_RESOURCE_TYPES.has(any.type_url)) return;
    const unknown = unknownFields(messageType(any.type_url.slice(any.type_url.lastIndexOf('/') + 1)), any.value);
    if (unknown.length === 0) return;
    if (unknown.some((u) => u.startsWith('malformed'))) any.value = new Uint8Array(0);
    found.set(i, unknown);
  });
  return found;
}

function markUnknownFields(obj: Record<string, unknown>, unknown: ReadonlyMap<number, string[]>): void {
  const plain = Array.isArray(obj['resources']) ? (obj['resources'] as unknown[]) : [];
  for (const [i, fields] of unknown) {
    const p = plain[i];
    const target = typeof p === 'object' && p !== null && 'resource' in p ? (p as Record<string, unknown>)['resource'] : p;
    if (typeof target === 'object' && target !== null) (target as Record<string, unknown>)[UNKNOWN_FIELDS_KEY] = fields;
  }
}

/** A bidirectional-streaming method definition, for a grpc-js client or server. */
export function bidiMethod(pathName: string, requestType: string, responseType: string): grpc.MethodDefinition<object, Record<string, unknown>> & { requestDeserialize: (b: Buffer) => Record<string, unknown>; responseSerialize: (v: object) => Buffer } {
  const req = codec(requestType);
  const res = codec(responseType);
  return {
    path: pathName,
    requestStream: true,
    responseStream: true,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  };
}

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

export function adsSotwMethod(): ReturnType<typeof bidiMethod> {
  return bidiMethod(`/${ADS_SERVICE}/StreamAggregatedResources`, 'envoy.service.discovery.v3.DiscoveryRequest', 'envoy.service.discovery.v3.DiscoveryResponse');
}

export function adsDeltaMethod(): ReturnType<typeof bidiMethod> {
  return bidiMethod(`/${ADS_SERVICE}/DeltaAggregatedResources`, 'envoy.service.discovery.v3.DeltaDiscoveryRequest', 'envoy.service.discovery.v3.DeltaDiscoveryResponse');
}
