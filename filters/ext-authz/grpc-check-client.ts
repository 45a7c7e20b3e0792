/**
 * ext_authz over gRPC (MeshConfig `envoyExtAuthzGrpc`, Envoy's `grpc_service`): one unary call to
 * `envoy.service.auth.v3.Authorization/Check` per request, with @grpc/grpc-js over h2c.
 *
 * The CheckRequest carries what Envoy's `CheckRequestUtils` fills for an HTTP request: source and
 * destination peers (address, SPIFFE principal of the mTLS peer), request id, method, every
 * request header plus the pseudo-headers, path, host, scheme, query, size, protocol, and the
 * buffered body (`body`, or `raw_body` with `packAsBytes`).
 *
 * The CheckResponse (Envoy's `ext_authz_grpc_impl`): `status.code` 0 (OK) allows, applying
 * `ok_response.headers` (overwritten unless `append`) and `headers_to_remove`; any other code
 * denies with `denied_response` (status, default 403; headers; body). A transport error or the
 * deadline is an error.
 */
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { ExtAuthzGrpcProvider } from '../../src/filter/ext-authz-config.js';
import type { CheckRequestMessage, CheckResponseMessage, HeaderValueOptionMessage, PeerMessage } from './authorization-proto.js';
import { CHECK_METHOD_PATH, checkMethod } from './authorization-proto.js';
import type { CheckClient, CheckDecision, CheckInput, HeaderToAdd } from './check-client.js';
import { PARTIAL_BODY_HEADER } from './check-client.js';
import type { QueryParameter } from './query-mutation.js';

export class GrpcCheckClient implements CheckClient {
  private readonly clients = new Map<string, Client>();
  private readonly method = checkMethod();

  constructor(private readonly provider: ExtAuthzGrpcProvider) {}

  check(input: CheckInput): Promise<CheckDecision> {
    const request = checkRequestOf(input, this.provider.body?.packAsBytes === true);
    const client = this.clientFor(input.address);
    const m = this.method;
    return new Promise<CheckDecision>((resolve) => {
      client.makeUnaryRequest(
        CHECK_METHOD_PATH,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + this.provider.timeoutMs },
        (err: ServiceError | null, res?: CheckResponseMessage) => {
          if (err || !res) resolve({ kind: 'error', reason: err ? `gRPC ${err.code}: ${err.details}` : 'empty CheckResponse' });
          else resolve(decisionOf(res));
        },
      );
    });
  }

  close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    return Promise.resolve();
  }

  private clientFor(address: string): Client {
    let c = this.clients.get(address);
    if (!c) {
      c = new Client(address, credentials.createInsecure());
      this.clients.set(address, c);
    }
    return c;
  }
}

function peer(address: string, port: number, principal: string | undefined): PeerMessage {
  return { address: { socket_address: { address, port_value: port } }, ...(principal ? { principal } : {}) };
}

function checkRequestOf(input: CheckInput, packAsBytes: boolean): CheckRequestMessage {
  const ctx = input.ctx;
  const headers: Record<string, string> = {
    ':authority': ctx.authority,
    ':method': ctx.method,
    ':path': ctx.path,
    ':scheme': ctx.scheme,
  };
  for (const [name, value] of ctx.headers) headers[name] = typeof value === 'string' ? value : value.join(',');
  if (input.body && !input.body.complete) headers[PARTIAL_BODY_HEADER] = 'true';
  const q = ctx.path.indexOf('?');
  const now = Date.now();
  const dst = splitHostPort(ctx.destination.connectAuthority);
  const body = input.body?.data;
  return {
    attributes: {
      source: peer(ctx.source.address, ctx.source.port, ctx.source.principal),
      destination: peer(dst.host, dst.port, undefined),
      request: {
        time: { seconds: String(Math.floor(now / 1000)), nanos: (now % 1000) * 1e6 },
        http: {
          id: ctx.requestId,
          method: ctx.method,
          headers,
          path: ctx.path,
          host: ctx.authority,
          scheme: ctx.scheme,
          query: q < 0 ? '' : ctx.path.slice(q + 1),
          size: String(input.body ? input.body.data.length : Number(ctx.headers.get('content-length') ?? -1)),
          protocol: ctx.protocol,
          ...(body ? (packAsBytes ? { raw_body: body } : { body: body.toString('utf8') }) : {}),
        },
      },
      context_extensions: {},
    },
  };
}

function splitHostPort(authority: string): { host: string; port: number } {
  const i = authority.lastIndexOf(':');
  if (i < 0 || authority.endsWith(']')) return { host: authority, port: 0 };
  return { host: authority.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(authority.slice(i + 1)) || 0 };
}

function decisionOf(res: CheckResponseMessage): CheckDecision {
  if ((res.status?.code ?? 0) === 0) {
    const ok = res.ok_response;
    const queryToSet: QueryParameter[] = [];
    for (const q of ok?.query_parameters_to_set ?? []) if (q.key) queryToSet.push({ key: q.key, value: q.value ?? '' });
    return {
      kind: 'ok',
      headers: headersToAdd(ok?.headers),
      remove: (ok?.headers_to_remove ?? []).map((n) => n.toLowerCase()),
      responseHeaders: headersToAdd(ok?.response_headers_to_add),
      queryToSet,
      queryToRemove: (ok?.query_parameters_to_remove ?? []).filter((k) => k !== ''),
    };
  }
  const denied = res.denied_response;
  const status = denied?.status?.code;
  const headers: [string, string][] = [];
  for (const h of denied?.headers ?? []) {
    const pair = headerPair(h);
    if (pair) headers.push(pair);
  }
  // HttpStatus `Empty` (0) or an out-of-range code: Envoy's default 403.
  return { kind: 'denied', status: status !== undefined && status >= 200 && status <= 599 ? status : 403, headers, body: denied?.body ?? '' };
}

function headerPair(h: HeaderValueOptionMessage): [string, string] | undefined {
  const key = h.header?.key;
  if (!key) return undefined;
  const value = h.header?.value ?? (h.header?.raw_value ? h.header.raw_value.toString('utf8') : '');
  return [key.toLowerCase(), value];
}

function headersToAdd(list: readonly HeaderValueOptionMessage[] | undefined): HeaderToAdd[] {
  const out: HeaderToAdd[] = [];
  for (const h of list ?? []) {
    const pair = headerPair(h);
    if (pair) out.push({ name: pair[0], value: pair[1], ...appendOf(h) });
  }
  return out;
}

/**
 * In ext_authz responses `append` defaults to false (set, overwriting): a present `append` decides.
 * Without it, a non-default `append_action` does: ADD_IF_ABSENT (1) adds only a missing header,
 * OVERWRITE_IF_EXISTS_OR_ADD (2) sets, OVERWRITE_IF_EXISTS (3) replaces only a present one. The
 * default APPEND_IF_EXISTS_OR_ADD (0) cannot be told from "unset" in proto3, so it means set.
 */
function appendOf(h: HeaderValueOptionMessage): Pick<HeaderToAdd, 'append' | 'only'> {
  if (h.append !== undefined && h.append !== null) return { append: h.append.value === true };
  switch (h.append_action) {
    case 1:
      return { append: false, only: 'absent' };
    case 3:
      return { append: false, only: 'present' };
    default:
      return { append: false };
  }
}
