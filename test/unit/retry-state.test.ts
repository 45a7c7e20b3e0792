/** Envoy's retry decisions and back-off, driven directly. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeaderMap } from '../../src/filter/header-map.js';
import { backoffBoundMs, backoffMs } from '../../src/upstream/backoff.js';
import { RetryState } from '../../src/upstream/retry-state.js';
import type { RetryCondition, RetryPolicy } from '../../src/waypoint/router.js';
import { seededRandom } from '../helpers/seeded-random.js';

function policy(retryOn: RetryCondition[], numRetries = 2, codes: number[] = []): RetryPolicy {
  return { numRetries, retryOn, perTryTimeoutMs: 0, retriableStatusCodes: codes, avoidPreviousHosts: true, backoffBaseMs: 25, backoffMaxMs: 250 };
}

function headers(entries: Record<string, string> = {}): HeaderMap {
  const h = new HeaderMap();
  for (const [k, v] of Object.entries(entries)) h.set(k, v);
  return h;
}

describe('retry back-off', () => {
  it('is fully jittered exponential: [0,25), [0,75), [0,175), then capped at 250 ms', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 40].map((n) => backoffBoundMs(n, 25, 250)), [25, 75, 175, 250, 250, 250]);
    const random = seededRandom(3);
    for (let retry = 1; retry <= 6; retry++) {
      const bound = backoffBoundMs(retry, 25, 250);
      let max = 0;
      let min = Infinity;
      for (let i = 0; i < 2000; i++) {
        const d = backoffMs(retry, 25, 250, random);
        assert.ok(d >= 0 && d < bound, `retry ${retry}: ${d} outside [0, ${bound})`);
        max = Math.max(max, d);
        min = Math.min(min, d);
      }
      // Uniform over the whole range: both ends are reached.
      assert.ok(min <= bound * 0.05 && max >= bound * 0.9, `retry ${retry}: ${min}..${max}`);
    }
    // A configured base (HTTPRoute/VirtualService backoff) scales it, capped at 10x.
    assert.deepEqual([1, 2, 3, 4].map((n) => backoffBoundMs(n, 100, 1000)), [100, 300, 700, 1000]);
  });
});

describe('retry decisions', () => {
  it('is not created when nothing can be retried', () => {
    assert.equal(RetryState.forRequest(policy([]), headers()), undefined);
  });

  it('decides on response headers per condition', () => {
    const cases: [RetryCondition[], number, Record<string, string>, boolean][] = [
      [['5xx'], 500, {}, true],
      [['5xx'], 404, {}, false],
      [['gateway-error'], 502, {}, true],
      [['gateway-error'], 500, {}, false],
      [['retriable-4xx'], 409, {}, true],
      [['retriable-4xx'], 429, {}, false],
      [['retriable-status-codes'], 418, {}, true],
      [['unavailable'], 200, { 'grpc-status': '14' }, true],
      [['unavailable'], 200, { 'grpc-status': '13' }, false],
      [['internal'], 200, { 'grpc-status': '13' }, true],
      [['cancelled'], 200, { 'grpc-status': '1' }, true],
      [['deadline-exceeded'], 200, { 'grpc-status': '4' }, true],
      [['resource-exhausted'], 200, { 'grpc-status': '8' }, true],
      [['5xx'], 503, { 'x-envoy-overloaded': 'true' }, false],
    ];
    for (const [on, status, h, want] of cases) {
      const s = RetryState.forRequest(policy(on, 2, [418]), headers()) as RetryState;
      assert.equal(s.onHeaders(status, headers(h)), want ? 'retry' : 'none', `${on.join()} ${status} ${JSON.stringify(h)}`);
    }
  });

  it('decides on failures without a response per condition', () => {
    const cases: [RetryCondition[], Parameters<RetryState['onFailure']>[0], boolean][] = [
      [['connect-failure'], 'connect-failure', true],
      [['connect-failure'], 'reset', false],
      [['reset-before-request'], 'connect-failure', true],
      [['reset-before-request'], 'reset-before-request', true],
      [['reset-before-request'], 'reset', false],
      [['reset'], 'reset', true],
      [['5xx'], 'per-try-timeout', true],
      [['gateway-error'], 'connect-failure', true],
      [['refused-stream'], 'refused-stream', true],
      [['refused-stream'], 'reset', false],
      [['retriable-status-codes'], 'per-try-timeout', false],
    ];
    for (const [on, kind, want] of cases) {
      const s = RetryState.forRequest(policy(on), headers()) as RetryState;
      assert.equal(s.onFailure(kind), want ? 'retry' : 'none', `${on.join()} on ${kind}`);
    }
  });

  it('counts retries down to limit (URX), and takes x-envoy-max-retries', () => {
    const s = RetryState.forRequest(policy(['5xx'], 1), headers()) as RetryState;
    assert.equal(s.onHeaders(503, headers()), 'retry');
    s.take();
    assert.equal(s.onHeaders(503, headers()), 'limit');
    const h = RetryState.forRequest(policy(['5xx'], 1), headers({ 'x-envoy-max-retries': '3' })) as RetryState;
    assert.equal(h.retriesLeft, 3);
  });

  it('adds x-envoy-retry-on, -retry-grpc-on, -retriable-status-codes and -retriable-header-names', () => {
    const s = RetryState.forRequest(
      policy([]),
      headers({
        'x-envoy-retry-on': '5xx,bogus,retriable-status-codes,retriable-headers',
        'x-envoy-retry-grpc-on': 'resource-exhausted',
        'x-envoy-retriable-status-codes': '418, 425',
        'x-envoy-retriable-header-names': 'X-Try-Again',
      }),
    ) as RetryState;
    assert.equal(s.onHeaders(500, headers()), 'retry');
    assert.equal(s.onHeaders(425, headers()), 'retry');
    assert.equal(s.onHeaders(200, headers({ 'x-try-again': '1' })), 'retry');
    assert.equal(s.onHeaders(200, headers({ 'grpc-status': '8' })), 'retry');
    assert.equal(s.onHeaders(200, headers()), 'none');
  });

  it('keeps the body for replay only when a retry could need it', () => {
    assert.equal((RetryState.forRequest(policy(['connect-failure', 'reset-before-request']), headers()) as RetryState).needsReplay, false);
    assert.equal((RetryState.forRequest(policy(['5xx']), headers()) as RetryState).needsReplay, true);
    assert.equal((RetryState.forRequest(policy(['5xx'], 0), headers()) as RetryState).needsReplay, false);
  });
});
