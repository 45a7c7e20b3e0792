/** Envoy's timeout arithmetic for one request: route vs per-try, override headers, expected header. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeaderMap } from '../../src/filter/header-map.js';
import { requestTimeouts } from '../../src/waypoint/route-timeouts.js';
import type { RouteDecision } from '../../src/waypoint/router.js';

function decision(timeoutMs: number, perTryTimeoutMs: number): RouteDecision {
  return {
    name: 'r',
    backends: [],
    totalWeight: 0,
    timeoutMs,
    retry: { numRetries: 0, retryOn: [], perTryTimeoutMs, retriableStatusCodes: [], avoidPreviousHosts: false, backoffBaseMs: 25, backoffMaxMs: 250 },
  };
}

describe('requestTimeouts', () => {
  it('has none and sets no header when the route has none (Istio default)', () => {
    const h = new HeaderMap();
    h.set('x-envoy-expected-rq-timeout-ms', '99');
    assert.deepEqual(requestTimeouts(decision(0, 0), h), { routeMs: 0, perTryMs: 0 });
    assert.equal(h.get('x-envoy-expected-rq-timeout-ms'), undefined);
  });

  it('announces the shorter per-try timeout, and drops a per-try not shorter than the route', () => {
    const h = new HeaderMap();
    assert.deepEqual(requestTimeouts(decision(1000, 200), h), { routeMs: 1000, perTryMs: 200 });
    assert.equal(h.get('x-envoy-expected-rq-timeout-ms'), '200');
    const h2 = new HeaderMap();
    assert.deepEqual(requestTimeouts(decision(1000, 1000), h2), { routeMs: 1000, perTryMs: 0 });
    assert.equal(h2.get('x-envoy-expected-rq-timeout-ms'), '1000');
  });

  it('takes the override headers, removes them, and ignores malformed values', () => {
    const h = new HeaderMap();
    h.set('x-envoy-upstream-rq-timeout-ms', '250');
    h.set('x-envoy-upstream-rq-per-try-timeout-ms', '100');
    assert.deepEqual(requestTimeouts(decision(0, 0), h), { routeMs: 250, perTryMs: 100 });
    assert.equal(h.get('x-envoy-upstream-rq-timeout-ms'), undefined);
    assert.equal(h.get('x-envoy-upstream-rq-per-try-timeout-ms'), undefined);
    const bad = new HeaderMap();
    bad.set('x-envoy-upstream-rq-timeout-ms', '-5');
    assert.deepEqual(requestTimeouts(decision(300, 0), bad), { routeMs: 300, perTryMs: 0 });
    const zero = new HeaderMap();
    zero.set('x-envoy-upstream-rq-timeout-ms', '0');
    assert.deepEqual(requestTimeouts(decision(300, 0), zero), { routeMs: 0, perTryMs: 0 });
  });
});
