/**
 * The Envoy v3 `envoy.service.auth.v3.Authorization` service definition, loaded with
 * @grpc/proto-loader from the protos vendored by @grpc/grpc-js-xds (envoy-api plus its googleapis,
 * xds/udpa and protoc-gen-validate include dirs). Loading takes a few hundred milliseconds, so it
 * happens once per process, on the first gRPC provider (config time, never per request).
 *
 * Messages use the proto field names (`keepCase`), enums as numbers (`HttpStatus.code` is the HTTP
 * status itself), and oneofs report which member is set.
 */
const { createRequire } = process.getBuiltinModule('node:module');
const path = process.getBuiltinModule('node:path');
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadSync } from '@grpc/proto-loader';

export const CHECK_METHOD_PATH = '/envoy.service.auth.v3.Authorization/Check';

/** The subset of CheckRequest the waypoint fills (proto field names). */
export interface CheckRequestMessage {
  readonly attributes: {
    readonly source: PeerMessage;
    readonly destination: PeerMessage;
    readonly request: {
      readonly time: { readonly seconds: string; readonly nanos: number };
      readonly http: {
        readonly id: string;
        readonly method: string;
        readonly headers: Readonly<Record<string, string>>;
        readonly path: string;
        readonly host: string;
        readonly scheme: string;
        readonly query: string;
        readonly size: string;
        readonly protocol: string;
        readonly body?: string;
        readonly raw_body?: Buffer;
      };
    };
    readonly context_extensions: Readonly<Record<string, string>>;
  };
}

export interface PeerMessage {
  readonly address: { readonly socket_address: { readonly address: string; readonly port_value: number } };
  readonly principal?: string;
}

export interface HeaderValueOptionMessage {
  readonly header?: { readonly key?: string; readonly value?: string; readonly raw_value?: Buffer };
  readonly append?: { readonly value?: boolean } | null;
  /** HeaderAppendAction: 0 APPEND_IF_EXISTS_OR_ADD, 1 ADD_IF_ABSENT, 2 OVERWRITE_IF_EXISTS_OR_ADD, 3 OVERWRITE_IF_EXISTS. */
  readonly append_action?: number;
}

/** The subset of CheckResponse the waypoint reads. */
export interface CheckResponseMessage {
  readonly status?: { readonly code?: number; readonly message?: string } | null;
  readonly denied_response?: {
    readonly status?: { readonly code?: number } | null;
    readonly headers?: readonly HeaderValueOptionMessage[];
    readonly body?: string;
  } | null;
  readonly ok_response?: {
    readonly headers?: readonly HeaderValueOptionMessage[];
    readonly headers_to_remove?: readonly string[];
    readonly response_headers_to_add?: readonly HeaderValueOptionMessage[];
    readonly query_parameters_to_set?: readonly { readonly key?: string; readonly value?: string }[];
    readonly query_parameters_to_remove?: readonly string[];
  } | null;
}

let method: MethodDefinition<CheckRequestMessage, CheckResponseMessage> | undefined;

/** The Check method's (de)serializers. */
export function checkMethod(): MethodDefinition<CheckRequestMessage, CheckResponseMessage> {
  if (method) return method;
  const require = createRequire(import.meta.url);
  const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const def = loadSync('envoy/service/auth/v3/external_auth.proto', {
    keepCase: true,
    longs: String,
    enums: Number,
    defaults: false,
    oneofs: true,
    includeDirs: ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => path.join(deps, d)),
  });
  const service = def['envoy.service.auth.v3.Authorization'] as Record<string, MethodDefinition<CheckRequestMessage, CheckResponseMessage>> | undefined;
  const check = service?.['Check'];
  if (!check) throw new Error('envoy.service.auth.v3.Authorization/Check is missing from the vendored Envoy protos');
  method = check;
  return check;
}
