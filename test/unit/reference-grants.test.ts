/**
 * ReferenceGrant application (snapshot-build time): which cross-namespace backendRefs a grant
 * permits (route kind, route namespace, Service name or all Services), and that refused ones are
 * marked invalid and reported with their field path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BackendRefIR, HttpRouteIR, ReferenceGrantIR } from '../../src/config/ir-routes.js';
import { applyReferenceGrants } from '../../src/config/reference-grants.js';

const backend = (name: string, namespace: string, cross = true): BackendRefIR => ({
  target: { name, namespace, port: 9080 },
  weight: 1,
  filters: [],
  ...(cross ? { crossNamespace: true as const } : {}),
});

const route = (source: HttpRouteIR['source'], backends: BackendRefIR[]): HttpRouteIR => ({
  source,
  name: 'r',
  namespace: 'default',
  createdAt: 0,
  parents: [{ kind: 'Service', namespace: 'default', name: 'reviews' }],
  hostnames: [],
  rules: [{ matches: [], filters: [], backends }],
  origin: { source: 'test.yaml' },
});

const grant = (to: ReferenceGrantIR['to'], fromKind = 'HTTPRoute', fromNs = 'default'): ReferenceGrantIR => ({
  namespace: 'other',
  name: 'g',
  from: [{ group: 'gateway.networking.k8s.io', kind: fromKind, namespace: fromNs }],
  to,
});

function run(r: HttpRouteIR, grants: ReferenceGrantIR[]): { route: HttpRouteIR; refused: [number, number][] } {
  const refused: [number, number][] = [];
  const out = applyReferenceGrants(r, grants, (ri, bi) => refused.push([ri, bi]));
  return { route: out, refused };
}

describe('applyReferenceGrants', () => {
  it('keeps same-namespace backends and the route object untouched', () => {
    const r = route('HTTPRoute', [backend('reviews', 'default', false)]);
    const out = run(r, []);
    assert.equal(out.route, r);
    assert.deepEqual(out.refused, []);
  });

  it('permits by Service name or by every Service, and refuses other names', () => {
    const r = route('HTTPRoute', [backend('a', 'other'), backend('b', 'other')]);
    const byName = run(r, [grant([{ group: '', kind: 'Service', name: 'a' }])]);
    assert.equal(byName.route.rules[0]?.backends[0]?.invalid, undefined);
    assert.match(byName.route.rules[0]?.backends[1]?.invalid ?? '', /ReferenceGrant/);
    assert.deepEqual(byName.refused, [[0, 1]]);
    const all = run(r, [grant([{ group: '', kind: 'Service' }])]);
    assert.deepEqual(all.refused, []);
  });

  it('requires the route kind and namespace the grant names', () => {
    const r = route('GRPCRoute', [backend('a', 'other')]);
    assert.deepEqual(run(r, [grant([{ group: '', kind: 'Service' }], 'HTTPRoute')]).refused, [[0, 0]]);
    assert.deepEqual(run(r, [grant([{ group: '', kind: 'Service' }], 'GRPCRoute', 'elsewhere')]).refused, [[0, 0]]);
    assert.deepEqual(run(r, [grant([{ group: '', kind: 'Service' }], 'GRPCRoute')]).refused, []);
  });

  it('does not apply to VirtualService destinations', () => {
    const r = route('VirtualService', [backend('a', 'other')]);
    assert.deepEqual(run(r, []).refused, []);
  });
});
