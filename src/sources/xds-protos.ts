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
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { envoyProtoIncludeDirs, PROJECT_PROTO_DIR as PROJECT_PROTO } from '../grpc/proto-paths.js';

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
    deserialize: (b) => t.toObject(t.decode(b), TO_OBJECT),
  };
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
