/**
 * Real external authorization servers on loopback for ext_authz tests: an HTTP one (Envoy's
 * `http_service` contract) and a gRPC one (envoy.service.auth.v3.Authorization/Check). Both
 * record every check they receive and decide by the original path:
 * - `/ext/allow*` allow (adding headers for the upstream), `/ext/deny*` deny with a custom status,
 *   headers and body, `/ext/slow*` never answer (timeouts), `/ext/boom*` fail (HTTP 500 / gRPC
 *   INTERNAL), `/ext/body*` allow only when the body contains `let-me-in`; gRPC only:
 *   `/ext/badheader-allow*` and `/ext/badheader-deny*` answer with CR/LF in a header value.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServiceDefinition, sendUnaryData } from '@grpc/grpc-js';
import type { CheckRequestMessage, CheckResponseMessage } from '../../filters/ext-authz/authorization-proto.js';
import { checkMethod } from '../../filters/ext-authz/authorization-proto.js';

export interface HttpCheckSeen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpAuthzServer {
  readonly port: number;
  readonly seen: HttpCheckSeen[];
  close(): Promise<void>;
}

/** The original path inside a check path (`/check/ext/allow` → `/ext/allow`). */
function originalOf(p: string): string {
  const i = p.indexOf('/ext/');
  return i < 0 ? p : p.slice(i);
}

export async function startHttpAuthzServer(): Promise<HttpAuthzServer> {
  const seen: HttpCheckSeen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const p = originalOf(req.url ?? '');
      if (p.startsWith('/ext/allow')) {
        res.writeHead(200, { 'x-ext-authz-user': 'alice', 'x-not-forwarded': 'secret' }).end('ok');
      } else if (p.startsWith('/ext/deny')) {
        res.writeHead(401, { 'www-authenticate': 'Custom realm="mesh"', 'x-deny-reason': 'nope', 'x-internal': 'hidden', 'content-type': 'text/plain' }).end('custom denial');
      } else if (p.startsWith('/ext/slow')) {
        // Never answers: the waypoint's timeout decides.
      } else if (p.startsWith('/ext/boom')) {
        res.writeHead(500).end('authz broke');
      } else if (p.startsWith('/ext/body')) {
        if (body.includes('let-me-in')) res.writeHead(200, { 'x-ext-authz-user': 'body' }).end();
        else res.writeHead(403).end('body refused');
      } else res.writeHead(403).end('unknown path');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface GrpcAuthzServer {
  readonly port: number;
  readonly seen: CheckRequestMessage[];
  close(): Promise<void>;
}

export async function startGrpcAuthzServer(): Promise<GrpcAuthzServer> {
  const seen: CheckRequestMessage[] = [];
  const server = new Server();
  const service = { Check: checkMethod() } as unknown as ServiceDefinition;
  const check = (call: ServerUnaryCall<CheckRequestMessage, CheckResponseMessage>, cb: sendUnaryData<CheckResponseMessage>): void => {
    seen.push(call.request);
    const p = originalOf(call.request.attributes.request.http.path);
    if (p.startsWith('/ext/mutate')) {
      cb(null, {
        status: { code: 0 },
        ok_response: {
          headers: [
            { header: { key: 'x-set-then-removed', value: 'no' } },
            { header: { key: 'x-if-absent', value: 'authz' }, append_action: 1 },
            { header: { key: 'x-if-absent-new', value: 'authz' }, append_action: 1 },
            { header: { key: 'x-if-present', value: 'authz' }, append_action: 3 },
            { header: { key: 'x-if-present-missing', value: 'authz' }, append_action: 3 },
            { header: { key: 'x-overwrite', value: 'authz' }, append: { value: false } },
          ],
          headers_to_remove: ['x-set-then-removed'],
          response_headers_to_add: [
            { header: { key: 'x-authz-decision', value: 'allowed' } },
            { header: { key: 'x-authz-trace', value: 'a' }, append: { value: true } },
          ],
          query_parameters_to_set: [{ key: 'token', value: 'replaced value' }, { key: 'added', value: '1' }],
          query_parameters_to_remove: ['secret'],
        },
      });
    } else if (p.startsWith('/ext/allow')) {
      cb(null, {
        status: { code: 0 },
        ok_response: {
          headers: [{ header: { key: 'x-grpc-authz', value: 'granted' } }, { header: { key: 'x-user-id', value: 'added' }, append: { value: true } }],
          headers_to_remove: ['x-remove-me'],
        },
      });
    } else if (p.startsWith('/ext/deny')) {
      cb(null, {
        status: { code: 7 },
        denied_response: { status: { code: 429 }, headers: [{ header: { key: 'retry-after', value: '7' } }], body: 'slow down' },
      });
    } else if (p.startsWith('/ext/badheader-allow')) {
      // Header values a gRPC string may carry but HTTP may not (hardening: fail fast, never hang).
      cb(null, { status: { code: 0 }, ok_response: { headers: [{ header: { key: 'x-grpc-authz', value: 'ok\r\nx-injected: 1' } }] } });
    } else if (p.startsWith('/ext/badheader-deny')) {
      cb(null, { status: { code: 7 }, denied_response: { status: { code: 403 }, headers: [{ header: { key: 'x-deny', value: 'no\r\nx-injected: 1' } }], body: 'denied' } });
    } else if (p.startsWith('/ext/default-deny')) {
      cb(null, { status: { code: 7 } });
    } else if (p.startsWith('/ext/slow')) {
      // Never answers: the waypoint's deadline decides.
    } else if (p.startsWith('/ext/boom')) {
      cb({ code: GrpcStatus.INTERNAL, details: 'authz broke' });
    } else if (p.startsWith('/ext/body')) {
      const body = call.request.attributes.request.http.body ?? '';
      cb(null, body.includes('let-me-in') ? { status: { code: 0 } } : { status: { code: 7 }, denied_response: { body: 'body refused' } });
    } else cb(null, { status: { code: 7 } });
  };
  server.addService(service, { Check: check });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Pending (slow) calls would hold a graceful shutdown open.
        setTimeout(() => server.forceShutdown(), 200).unref();
      }),
  };
}
