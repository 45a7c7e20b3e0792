/**
 * AuthorizationPolicy path templates (`{*}`, `{**}`, Istio 1.22+): validation at translation and
 * matching at the waypoint with Envoy's URI-template semantics (`{*}` one non-empty segment,
 * `{**}` zero or more characters including `/`, last operator only).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';
import type { FilterResult } from '../../src/filter/api.js';
import { isAsync } from '../../src/filter/api.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { compilePathTemplate, pathTemplateProblem } from '../../src/filter/path-template.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';
import { cidrContains } from '../../src/net/cidr.js';
import { createAuthzFactory } from '../../filters/authz/authz-filter.js';

function translate(paths: string, field = 'paths', action = 'DENY') {
  const yaml = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: tpl, namespace: default}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  action: ${action}
  rules: [{to: [{operation: {${field}: ${paths}}}]}]
`;
  const t = translateFile('p.yaml', yaml, { localRanges: true });
  const objects: TranslatedObject[] = [];
  for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
  return { diagnostics: t.diagnostics, policies: [...(buildSnapshot(objects, 1).snapshot.l7Policies ?? [])] };
}

/** `allow` or `deny` for each path, under one policy. */
function decide(paths: string, field: string, action: string, requests: readonly string[]): string[] {
  const t = translate(paths, field, action);
  assert.deepEqual(t.diagnostics.filter((d) => d.severity === 'error'), []);
  const f = createAuthzFactory({ policies: t.policies, ipInCidr: cidrContains, onShadow: () => undefined });
  assert.ok(f);
  return requests.map((path) => {
    const ctx = new HttpRequestContext({
      method: 'GET',
      authority: 'reviews:9080',
      path,
      protocol: 'HTTP/1.1',
      headers: new HeaderMap(),
      requestId: 'r',
      source: { address: '127.1.0.5', port: 1 },
      destination: { hostname: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default', port: 9080, appProtocol: 'http', connectAuthority: '127.100.0.10:9080' },
    });
    const r = f.create().onRequestHeaders?.(ctx, true) as FilterResult;
    assert.ok(!isAsync(r));
    return r.action === 'continue' ? 'allow' : 'deny';
  });
}

describe('authz path templates', () => {
  it('{*} matches exactly one non-empty segment', () => {
    const re = compilePathTemplate('/api/{*}/items');
    assert.equal(re.test('/api/v1/items'), true);
    assert.equal(re.test('/api//items'), false);
    assert.equal(re.test('/api/v1/v2/items'), false);
    assert.equal(re.test('/api/v1/items/x'), false);
  });

  it('{**} matches zero or more characters across segments, and literals after it', () => {
    const re = compilePathTemplate('/files/{**}');
    for (const p of ['/files/', '/files/a', '/files/a/b/c']) assert.equal(re.test(p), true, p);
    assert.equal(re.test('/files'), false);
    assert.equal(re.test('/filesx/a'), false);
    const suffix = compilePathTemplate('/media/{**}.m3u8');
    assert.equal(suffix.test('/media/a/b/index.m3u8'), true);
    assert.equal(suffix.test('/media/a/b/index.mp4'), false);
  });

  it('literal characters stay literal (no regex injection)', () => {
    const re = compilePathTemplate('/v1.0/{*}/(x)+');
    assert.equal(re.test('/v1.0/a/(x)+'), true);
    assert.equal(re.test('/v1x0/a/(x)+'), false);
    assert.equal(re.test('/v1.0/a/xx'), false);
  });

  it('rejects invalid templates with a clear reason', () => {
    assert.equal(pathTemplateProblem('/a/{*}/b/{**}'), undefined);
    assert.match(pathTemplateProblem('/a/{**}/b/{*}') ?? '', /last operator/);
    assert.match(pathTemplateProblem('/a/{id}') ?? '', /not a supported operator/);
    assert.match(pathTemplateProblem('/a/*/{*}') ?? '', /outside/);
    assert.match(pathTemplateProblem('a/{*}') ?? '', /starts with/);
    assert.match(pathTemplateProblem('/a/{*}{*}') ?? '', /at most one operator/);
    const t = translate('["/a/{**}/b/{*}"]');
    const d = t.diagnostics.find((x) => x.severity === 'error');
    assert.equal(d?.field, 'spec.rules[0].to[0].operation.paths[0]');
    assert.equal(t.policies.length, 0);
  });

  it('a DENY with a template denies matching paths only; notPaths templates invert', () => {
    assert.deepEqual(decide('["/admin/{*}/delete", "/internal/{**}"]', 'paths', 'DENY', ['/admin/u1/delete', '/admin/u1/keep', '/internal/', '/internal/a/b', '/internal', '/admin/a/b/delete']), [
      'deny',
      'allow',
      'deny',
      'deny',
      'allow',
      'allow',
    ]);
    assert.deepEqual(decide('["/public/{**}"]', 'notPaths', 'DENY', ['/public/x', '/private/x']), ['allow', 'deny']);
  });

  it('an ALLOW with a template: the query is not part of the path', () => {
    assert.deepEqual(decide('["/api/{*}/items"]', 'paths', 'ALLOW', ['/api/v1/items?x=/y', '/api/v1/other']), ['allow', 'deny']);
  });
});
