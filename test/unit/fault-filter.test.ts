/** The fault filter driven directly: per-million precision, delay then abort, gRPC aborts, the active-fault cap. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaultPolicy } from '../../filters/fault/fault-filter.js';
import { FaultStats, createFaultFactory, perMillionOf } from '../../filters/fault/fault-filter.js';
import type { FilterResult, HookResult } from '../../src/filter/api.js';
import { isAsync } from '../../src/filter/api.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';

function ctx(headers: Record<string, string> = {}): HttpRequestContext {
  const h = new HeaderMap();
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  return new HttpRequestContext({
    method: 'GET',
    authority: 'svc',
    path: '/',
    protocol: 'HTTP/1.1',
    headers: h,
    requestId: 'r',
    source: { address: '127.0.0.1', port: 1 },
    destination: { hostname: 'svc.default.svc.cluster.local', name: 'svc', namespace: 'default', port: 80, appProtocol: 'http', connectAuthority: '127.0.0.1:80' },
  });
}

async function settle(r: HookResult): Promise<FilterResult> {
  return isAsync(r) ? r : Promise.resolve(r);
}

describe('fault filter', () => {
  it('turns Istio percentages into parts per million (truncated, clamped)', () => {
    assert.equal(perMillionOf(100), 1_000_000);
    assert.equal(perMillionOf(0.1), 1000);
    assert.equal(perMillionOf(0.0001), 1);
    assert.equal(perMillionOf(12.34567), 123456);
    assert.equal(perMillionOf(250), 1_000_000);
  });

  it('aborts exactly numerator-per-million requests over a full cycle of the random source', () => {
    const policy: FaultPolicy = { abort: { httpStatus: 503, perMillion: perMillionOf(0.1) } };
    let i = 0;
    const random = (): number => (i++ % 1_000_000) / 1_000_000;
    const stats = new FaultStats();
    const f = createFaultFactory({ lookup: () => policy, random, stats });
    let aborted = 0;
    for (let n = 0; n < 1_000_000; n++) {
      const s = f.create();
      const c = ctx();
      const r = s.onRequestHeaders?.(c, true) as FilterResult;
      if (r.action === 'respond') aborted++;
      s.onStreamComplete?.(c);
    }
    assert.equal(aborted, 1000);
    assert.equal(stats.abortsInjected, 1000);
    assert.equal(stats.activeFaults, 0);
  });

  it('answers a gRPC abort with HTTP 200 and the gRPC status, flagged FI', () => {
    const f = createFaultFactory({ lookup: () => ({ abort: { httpStatus: 200, grpcStatus: 14, perMillion: 1_000_000 } }), random: Math.random, stats: new FaultStats() });
    const c = ctx({ 'content-type': 'application/grpc' });
    const r = f.create().onRequestHeaders?.(c, true) as FilterResult;
    assert.equal(r.action, 'respond');
    if (r.action !== 'respond') return;
    assert.equal(r.reply.status, 200);
    assert.equal(r.reply.headers?.['grpc-status'], '14');
    assert.equal(r.reply.responseFlag, 'FI');
    assert.equal(r.reply.details, 'fault_filter_abort');
  });

  it('delays, flags DI, and caps active faults (faults_overflow)', async () => {
    const stats = new FaultStats();
    const f = createFaultFactory({ lookup: () => ({ delay: { ms: 50, perMillion: 1_000_000 } }), random: Math.random, stats, maxActiveFaults: 2 });
    const streams = [f.create(), f.create(), f.create()];
    const ctxs = [ctx(), ctx(), ctx()];
    // Measured from before the delay starts: a clock read after it could start late on a busy
    // machine and see less than the delay (a flake seen at load 20+).
    const t0 = performance.now();
    const results = streams.map((s, i) => s.onRequestHeaders?.(ctxs[i] as HttpRequestContext, true) as HookResult);
    assert.equal(isAsync(results[0] as HookResult), true);
    assert.equal(isAsync(results[1] as HookResult), true);
    // The third would exceed max_active_faults: no fault at all.
    assert.equal(isAsync(results[2] as HookResult), false);
    assert.equal(stats.faultsOverflow, 1);
    assert.deepEqual(ctxs[0]?.streamInfo.responseFlags, ['DI']);
    assert.deepEqual(ctxs[2]?.streamInfo.responseFlags, []);
    assert.equal((await settle(results[0] as HookResult)).action, 'continue');
    // The delay held the request (1 ms for timer rounding).
    assert.ok(performance.now() - t0 >= 49);
    streams.forEach((s, i) => s.onStreamComplete?.(ctxs[i] as HttpRequestContext));
    assert.equal(stats.activeFaults, 0);
    assert.equal(stats.delaysInjected, 2);
  });

  it('leaves requests of routes without a fault alone', () => {
    const f = createFaultFactory({ lookup: () => undefined, random: Math.random, stats: new FaultStats() });
    assert.equal((f.create().onRequestHeaders?.(ctx(), true) as FilterResult).action, 'continue');
  });
});
