import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Endpoint } from '../../src/state/mesh-view.js';
import { LeastRequestBalancer, endpointAddress } from '../../src/upstream/lb.js';
import { workload } from '../helpers/mesh-builders.js';

function ep(n: number, port = 8080): Endpoint {
  return { workload: workload({ name: `pod-${n}`, ip: `127.1.9.${n}` }), targetPort: port };
}

/** A random source replaying `values` in a loop. */
function seq(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

describe('LeastRequestBalancer', () => {
  it('returns undefined without endpoints and the only one when there is one', () => {
    const lb = new LeastRequestBalancer();
    assert.equal(lb.pick([]), undefined);
    const a = ep(1);
    assert.equal(lb.pick([a]), a);
  });

  it('of two choices takes the one with fewer active requests, whatever the draw', () => {
    const a = ep(1);
    const b = ep(2);
    for (const draw of [0, 0.3, 0.6, 0.99]) {
      const lb = new LeastRequestBalancer(seq(draw, draw));
      lb.begin(a);
      lb.begin(a);
      lb.begin(b);
      assert.equal(lb.pick([a, b]), b, `draw ${draw}`);
      assert.equal(lb.pick([b, a]), b, `draw ${draw}`);
    }
  });

  it('breaks ties in favour of the first draw', () => {
    const a = ep(1);
    const b = ep(2);
    const c = ep(3);
    // First draw picks index 2 (c), second draws among the others.
    assert.equal(new LeastRequestBalancer(seq(0.9, 0.1)).pick([a, b, c]), c);
    assert.equal(new LeastRequestBalancer(seq(0.1, 0.9)).pick([a, b, c]), a);
  });

  it('never picks the single most loaded host among three or more (the two choices differ)', () => {
    const lb = new LeastRequestBalancer();
    const eps = [ep(1), ep(2), ep(3)];
    const hot = eps[2] as Endpoint;
    for (let i = 0; i < 5; i++) lb.begin(hot);
    for (let i = 0; i < 300; i++) assert.notEqual(lb.pick(eps), hot);
  });

  it('spreads idle load across endpoints', () => {
    const lb = new LeastRequestBalancer();
    const eps = [ep(1), ep(2), ep(3)];
    const counts = new Map<Endpoint, number>();
    for (let i = 0; i < 3000; i++) {
      const e = lb.pick(eps) as Endpoint;
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    for (const e of eps) assert.ok((counts.get(e) ?? 0) > 600, `${endpointAddress(e)}: ${counts.get(e)}`);
  });

  it('balances concurrent requests evenly when they stay active', () => {
    const lb = new LeastRequestBalancer();
    const eps = [ep(1), ep(2)];
    for (let i = 0; i < 100; i++) lb.begin(lb.pick(eps) as Endpoint);
    assert.equal(lb.activeOf(eps[0] as Endpoint), 50);
    assert.equal(lb.activeOf(eps[1] as Endpoint), 50);
  });

  it('tracks counts per podIP:port across endpoint objects, never below zero', () => {
    const lb = new LeastRequestBalancer();
    const a1 = ep(1);
    const a2 = ep(1); // same address, another snapshot's object
    lb.begin(a1);
    assert.equal(lb.activeOf(a2), 1);
    lb.end(a2);
    lb.end(a2);
    assert.equal(lb.activeOf(a1), 0);
    assert.equal(lb.snapshot().size, 0);
  });

  it('skips excluded endpoints', () => {
    const lb = new LeastRequestBalancer();
    const a = ep(1);
    const b = ep(2);
    const c = ep(3);
    for (let i = 0; i < 50; i++) assert.equal(lb.pick([a, b, c], (e) => e !== b), b);
    assert.equal(lb.pick([a, b], () => true), undefined);
    for (let i = 0; i < 50; i++) assert.notEqual(lb.pick([a, b, c], (e) => e === a), a);
  });

  it('formats IPv6 endpoint addresses with brackets', () => {
    const v6: Endpoint = { workload: workload({ name: 'v6', ip: 'fd00::1' }), targetPort: 80 };
    assert.equal(endpointAddress(v6), '[fd00::1]:80');
  });
});
