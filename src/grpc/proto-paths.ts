/**
 * Where protobuf schemas come from, said once for every gRPC client and server here: the
 * project's own protos (`<repo>/proto`: Istio's workload API, OTLP trace export...) and Envoy's
 * v3 API with its dependencies, vendored by `@grpc/grpc-js-xds` under `deps/`.
 */
const { existsSync } = process.getBuiltinModule('node:fs');
const { createRequire } = process.getBuiltinModule('node:module');
const path = process.getBuiltinModule('node:path');
const { fileURLToPath } = process.getBuiltinModule('node:url');

const here = path.dirname(fileURLToPath(import.meta.url));

/** `<repo>/proto`, found from `dist/src/grpc/` (compiled) or `src/grpc/` (sources). */
export const PROJECT_PROTO_DIR: string =
  [path.resolve(here, '..', '..', '..', 'proto'), path.resolve(here, '..', '..', 'proto')].find((p) => existsSync(p)) ?? path.resolve('proto');

/** Include directories for Envoy's v3 protos: envoy-api, xds (udpa, xds), googleapis, protoc-gen-validate. */
export function envoyProtoIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(deps, d));
}
