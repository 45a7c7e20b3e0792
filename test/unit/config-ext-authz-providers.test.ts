/**
 * MeshConfig `extensionProviders` for AuthorizationPolicy CUSTOM: `envoyExtAuthzHttp` and
 * `envoyExtAuthzGrpc` read with Istio's defaults; a bad entry is reported and left out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMeshSettings, resolveMesh } from '../../src/config/mesh-config.js';

describe('mesh config: ext_authz extension providers', () => {
  it('reads HTTP and gRPC providers with defaults (timeout 600s, statusOnError 403, fail closed)', () => {
    const { settings, problems } = parseMeshSettings(`
extensionProviders:
  - name: log
    envoyFileAccessLog: {path: /dev/stdout}
  - name: http
    envoyExtAuthzHttp:
      service: authz/ext-authz.authz.svc.cluster.local
      port: "8000"
      pathPrefix: /check/
      includeRequestHeadersInCheck: [X-User*, authorization]
      includeAdditionalHeadersInCheck: {X-Added: "1"}
      headersToUpstreamOnAllow: ["x-ext-*"]
      headersToDownstreamOnDeny: [www-authenticate]
      includeRequestBodyInCheck: {maxRequestBytes: 1024, allowPartialMessage: true}
  - name: grpc
    envoyExtAuthzGrpc: {service: ext-authz.authz.svc.cluster.local, port: 9000, timeout: 250ms, failOpen: true, statusOnError: "503"}
`);
    assert.deepEqual(problems, []);
    const mesh = resolveMesh(settings);
    assert.deepEqual(mesh.accessLogProviders, { log: 'text' });
    assert.deepEqual(mesh.extAuthzProviders?.['http'], {
      kind: 'http',
      name: 'http',
      service: 'ext-authz.authz.svc.cluster.local',
      port: 8000,
      timeoutMs: 600_000,
      failOpen: false,
      statusOnError: 403,
      body: { maxRequestBytes: 1024, allowPartialMessage: true, packAsBytes: false },
      pathPrefix: '/check',
      includeRequestHeaders: [
        { kind: 'prefix', value: 'x-user' },
        { kind: 'exact', value: 'authorization' },
      ],
      additionalHeaders: { 'x-added': '1' },
      headersToUpstreamOnAllow: [{ kind: 'prefix', value: 'x-ext-' }],
      headersToDownstreamOnDeny: [{ kind: 'exact', value: 'www-authenticate' }],
    });
    assert.deepEqual(mesh.extAuthzProviders?.['grpc'], {
      kind: 'grpc',
      name: 'grpc',
      service: 'ext-authz.authz.svc.cluster.local',
      port: 9000,
      timeoutMs: 250,
      failOpen: true,
      statusOnError: 503,
    });
  });

  it('reports a bad provider field and leaves that provider out', () => {
    const { settings, problems } = parseMeshSettings(`
extensionProviders:
  - name: no-port
    envoyExtAuthzHttp: {service: a.b.svc.cluster.local}
  - name: bad-timeout
    envoyExtAuthzGrpc: {service: a, port: 1, timeout: soon}
  - name: bad-status
    envoyExtAuthzGrpc: {service: a, port: 1, statusOnError: "abc"}
  - name: ok
    envoyExtAuthzGrpc: {service: a, port: 1}
`);
    assert.deepEqual(
      problems.map((p) => p.field),
      ['extensionProviders[0].envoyExtAuthzHttp.port', 'extensionProviders[1].envoyExtAuthzGrpc.timeout', 'extensionProviders[2].envoyExtAuthzGrpc.statusOnError'],
    );
    assert.deepEqual(Object.keys(settings.extAuthzProviders ?? {}), ['ok']);
  });
});
