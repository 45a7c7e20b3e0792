/** Circuit-breaker thresholds and outlier ejection, driven directly (the clock is injected). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker, UNLIMITED, breakerThresholds } from '../../src/upstream/circuit-breaker.js';
import { OutlierDetector, outlierSettings } from '../../src/upstream/outlier-detector.js';
import { eventually } from '../helpers/eventually.js';

describe('circuit breaker', () => {
  it('maps connectionPool as Istio does: unset or 0 = 2^32-1', () => {
    assert.deepEqual(breakerThresholds(undefined), { maxConnections: UNLIMITED, maxPendingRequests: UNLIMITED, maxRequests: UNLIMITED, maxRetries: UNLIMITED });
    assert.deepEqual(breakerThresholds({ tcp: { maxConnections: 2 }, http: { http1MaxPendingRequests: 0, http2MaxRequests: 5, maxRetries: 1 } }), {
      maxConnections: 2,
      maxPendingRequests: UNLIMITED,
      maxRequests: 5,
      maxRetries: 1,
    });
  });

  it('admits maxConnections + pending over HTTP/1.1, maxRequests always, retries up to maxRetries', () => {
    const t = breakerThresholds({ tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, http2MaxRequests: 3, maxRetries: 1 } });
    const b = new CircuitBreaker();
    assert.equal(b.tryRequest(t, false), true);
    assert.equal(b.tryRequest(t, false), true);
    assert.equal(b.tryRequest(t, false), false);
    // HTTP/2 multiplexes: only max_requests counts.
    assert.equal(b.tryRequest(t, true), true);
    assert.equal(b.tryRequest(t, true), false);
    b.endRequest();
    assert.equal(b.tryRequest(t, true), true);
    assert.equal(b.tryRetry(t), true);
    assert.equal(b.tryRetry(t), false);
    b.endRetry();
    assert.equal(b.tryRetry(t), true);
  });
});

describe('outlier detector', () => {
  it('ejects after consecutive 5xx (reset by a success), caps ejections, returns hosts after the ejection time', async () => {
    let now = 0;
    const d = new OutlierDetector(() => now);
    const s = outlierSettings({ consecutive5xxErrors: 2, intervalMs: 5, baseEjectionTimeMs: 1000, maxEjectionPercent: 50 });
    try {
      d.record(s, 'a', 503, 4);
      d.record(s, 'a', 200, 4);
      d.record(s, 'a', 500, 4);
      assert.equal(d.isEjected('a'), false, 'a success resets the count');
      d.record(s, 'a', 500, 4);
      assert.equal(d.isEjected('a'), true);
      // 2 of 4 = 50 %: allowed; a third would be 75 %.
      d.record(s, 'b', 502, 4);
      d.record(s, 'b', 504, 4);
      d.record(s, 'c', 500, 4);
      d.record(s, 'c', 500, 4);
      assert.deepEqual([d.isEjected('b'), d.isEjected('c'), d.ejectedCount], [true, false, 2]);
      now = 999;
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(d.isEjected('a'), true);
      now = 1000;
      await eventually(() => !d.isEjected('a') && !d.isEjected('b'));
      // Healthy intervals decay the ejection count: ejected again later, it lasts base again.
      await new Promise((r) => setTimeout(r, 30));
      d.record(s, 'a', 500, 4);
      d.record(s, 'a', 500, 4);
      assert.equal(d.isEjected('a'), true);
      now = 2000;
      await eventually(() => !d.isEjected('a'));
    } finally {
      d.stop();
    }
  });

  it('always lets one host be ejected, whatever maxEjectionPercent; gateway errors count on their own', () => {
    const d = new OutlierDetector(() => 0);
    const s = outlierSettings({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 1, maxEjectionPercent: 10 });
    try {
      d.record(s, 'x', 500, 2);
      assert.equal(d.isEjected('x'), false, '500 is not a gateway error, and consecutive 5xx is off');
      d.record(s, 'x', 503, 2);
      assert.equal(d.isEjected('x'), true);
      d.record(s, 'y', 503, 2);
      assert.equal(d.isEjected('y'), false);
    } finally {
      d.stop();
    }
  });
});
