import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FilterFactory, FilterPhase, FilterResult, HookResult, RequestContext, ResponseContext, StreamFilter } from '../../src/filter/api.js';
import { CONTINUE, replaceBody, respond } from '../../src/filter/api.js';
import { FILTER_FAILED_RESULT, FilterChain, FilterErrorCounter } from '../../src/filter/chain.js';
import { HeaderMap } from '../../src/filter/header-map.js';
import { PHASE_ORDER, sortByPhase } from '../../src/filter/phases.js';
import { HttpRequestContext } from '../../src/filter/request-context.js';

function ctx(): RequestContext {
  return new HttpRequestContext({
    method: 'GET',
    authority: 'svc:80',
    path: '/',
    protocol: 'HTTP/1.1',
    headers: new HeaderMap(),
    requestId: 'r1',
    source: { address: '127.1.0.1', port: 1234 },
    destination: { hostname: 'svc.ns.svc.cluster.local', name: 'svc', namespace: 'ns', port: 80, appProtocol: 'http', connectAuthority: '127.100.0.1:80' },
  });
}

function response(status = 200): ResponseContext {
  return { status, headers: new HeaderMap(), local: false };
}

/** A factory whose instances log each hook call to `log` as `<name>:<hook>`. */
function recorder(name: string, phase: FilterPhase, log: string[], behaviour: Partial<StreamFilter> = {}): FilterFactory {
  return {
    name,
    phase,
    create: (): StreamFilter => ({
      onRequestHeaders: (c, end): HookResult => {
        log.push(`${name}:req`);
        return behaviour.onRequestHeaders ? behaviour.onRequestHeaders(c, end) : CONTINUE;
      },
      onRequestBody: (c, chunk, end): HookResult => {
        log.push(`${name}:reqBody`);
        return behaviour.onRequestBody ? behaviour.onRequestBody(c, chunk, end) : CONTINUE;
      },
      onResponseHeaders: (c, r, end): HookResult => {
        log.push(`${name}:resp`);
        return behaviour.onResponseHeaders ? behaviour.onResponseHeaders(c, r, end) : CONTINUE;
      },
      onResponseBody: (c, r, chunk, end): HookResult => {
        log.push(`${name}:respBody`);
        return behaviour.onResponseBody ? behaviour.onResponseBody(c, r, chunk, end) : CONTINUE;
      },
      onStreamComplete: (): void => {
        log.push(`${name}:done`);
      },
    }),
  };
}

const silent = (): FilterErrorCounter => new FilterErrorCounter(() => undefined);

describe('phases', () => {
  it('lists Istio waypoint order with a reason per step, router last', () => {
    assert.deepEqual(
      PHASE_ORDER.map((p) => p.phase),
      ['XFCC', 'CUSTOM_AUTHZ', 'WASM_AUTHN', 'JWT_AUTHN', 'WASM_AUTHZ', 'AUTHZ', 'FAULT', 'CORS', 'WASM_STATS', 'WASM_UNSPECIFIED', 'STATS', 'ROUTER'],
    );
    for (const p of PHASE_ORDER) assert.ok(p.why.length > 20, p.phase);
  });

  it('sorts by phase and keeps configured order within a phase', () => {
    const items = [
      { phase: 'STATS' as const, id: 1 },
      { phase: 'WASM_AUTHN' as const, id: 2 },
      { phase: 'FAULT' as const, id: 3 },
      { phase: 'WASM_AUTHN' as const, id: 4 },
      { phase: 'CUSTOM_AUTHZ' as const, id: 5 },
    ];
    assert.deepEqual(
      sortByPhase(items).map((i) => i.id),
      [5, 2, 4, 3, 1],
    );
  });
});

describe('FilterChain', () => {
  it('runs request hooks in phase order and response hooks in reverse', () => {
    const log: string[] = [];
    const chain = new FilterChain(
      [recorder('stats', 'STATS', log), recorder('authz', 'AUTHZ', log), recorder('jwt', 'JWT_AUTHN', log), recorder('fault', 'FAULT', log)],
      silent(),
    );
    const run = chain.start(ctx());
    assert.equal(run.requestHeaders(true), CONTINUE);
    assert.equal(run.responseHeaders(response(), true), CONTINUE);
    run.complete();
    assert.deepEqual(log, [
      'jwt:req',
      'authz:req',
      'fault:req',
      'stats:req',
      'stats:resp',
      'fault:resp',
      'authz:resp',
      'jwt:resp',
      'jwt:done',
      'authz:done',
      'fault:done',
      'stats:done',
    ]);
  });

  it('returns the shared CONTINUE constant synchronously when every hook is synchronous', () => {
    const chain = new FilterChain([recorder('a', 'AUTHZ', []), recorder('b', 'STATS', [])], silent());
    const r = chain.start(ctx()).requestHeaders(false);
    assert.equal(r, CONTINUE);
    assert.equal(typeof (r as { then?: unknown }).then, 'undefined');
  });

  it('a local reply skips later request filters; the response path runs only for filters that ran', () => {
    const log: string[] = [];
    const deny = respond({ status: 403, body: 'RBAC: access denied', responseFlag: 'RBAC' });
    const chain = new FilterChain(
      [
        recorder('jwt', 'JWT_AUTHN', log),
        recorder('authz', 'AUTHZ', log, { onRequestHeaders: () => deny }),
        recorder('fault', 'FAULT', log),
        recorder('stats', 'STATS', log),
      ],
      silent(),
    );
    const run = chain.start(ctx());
    assert.equal(run.requestHeaders(true), deny);
    run.responseHeaders({ status: 403, headers: new HeaderMap(), local: true }, true);
    run.complete();
    assert.deepEqual(log, ['jwt:req', 'authz:req', 'authz:resp', 'jwt:resp', 'jwt:done', 'authz:done']);
  });

  it('awaits only when a hook returns a promise, then carries on in order', async () => {
    const log: string[] = [];
    const chain = new FilterChain(
      [
        recorder('ext', 'CUSTOM_AUTHZ', log, {
          onRequestHeaders: () => new Promise<FilterResult>((resolve) => setImmediate(() => resolve(CONTINUE))),
        }),
        recorder('fault', 'FAULT', log),
      ],
      silent(),
    );
    const r = chain.start(ctx()).requestHeaders(true);
    assert.equal(typeof (r as Promise<FilterResult>).then, 'function');
    assert.deepEqual(log, ['ext:req']);
    assert.equal(await r, CONTINUE);
    assert.deepEqual(log, ['ext:req', 'fault:req']);
  });

  it('an async local reply stops the chain', async () => {
    const log: string[] = [];
    const deny = respond({ status: 401, body: 'no' });
    const chain = new FilterChain(
      [recorder('ext', 'CUSTOM_AUTHZ', log, { onRequestHeaders: async () => deny }), recorder('stats', 'STATS', log)],
      silent(),
    );
    assert.equal(await chain.start(ctx()).requestHeaders(true), deny);
    assert.deepEqual(log, ['ext:req']);
  });

  it('a throwing filter becomes a 500, counted per failure and logged once per filter', () => {
    const lines: string[] = [];
    const errors = new FilterErrorCounter((l) => lines.push(l));
    const log: string[] = [];
    const chain = new FilterChain(
      [
        recorder('broken', 'AUTHZ', log, {
          onRequestHeaders: () => {
            throw new Error('boom');
          },
        }),
        recorder('stats', 'STATS', log),
      ],
      errors,
    );
    for (let i = 0; i < 2; i++) {
      const run = chain.start(ctx());
      const r = run.requestHeaders(true);
      assert.equal(r, FILTER_FAILED_RESULT);
      assert.equal((r as { reply: { status: number } }).reply.status, 500);
      // The broken instance is skipped on the way back.
      run.responseHeaders(response(500), true);
    }
    assert.equal(errors.count('broken'), 2);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /broken.*onRequestHeaders.*boom/s);
    assert.deepEqual(log, ['broken:req', 'broken:req']);
  });

  it('a rejected hook promise becomes a 500', async () => {
    const errors = silent();
    const chain = new FilterChain([recorder('x', 'WASM_AUTHZ', [], { onRequestHeaders: () => Promise.reject(new Error('no')) })], errors);
    assert.equal(await chain.start(ctx()).requestHeaders(true), FILTER_FAILED_RESULT);
    assert.equal(errors.total(), 1);
  });

  it('a factory that throws in create fails the stream with 500 when its turn comes', () => {
    const errors = silent();
    const bad: FilterFactory = {
      name: 'bad',
      phase: 'CORS',
      create: () => {
        throw new Error('bad config slipped through');
      },
    };
    const r = new FilterChain([bad], errors).start(ctx()).requestHeaders(true);
    assert.equal(r, FILTER_FAILED_RESULT);
    assert.equal(errors.count('bad'), 1);
  });

  it('a response-headers reply replaces the response; only lower phases see the reply', () => {
    const log: string[] = [];
    const seen: number[] = [];
    const chain = new FilterChain(
      [
        recorder('jwt', 'JWT_AUTHN', log, {
          onResponseHeaders: (_c, r) => {
            seen.push(r.status);
            return CONTINUE;
          },
        }),
        recorder('wasm', 'WASM_STATS', log, { onResponseHeaders: (_c, r) => (r.status === 200 ? respond({ status: 418 }) : CONTINUE) }),
        recorder('stats', 'STATS', log),
      ],
      silent(),
    );
    const run = chain.start(ctx());
    run.requestHeaders(true);
    const r = run.responseHeaders(response(200), false) as FilterResult;
    assert.equal(r.action, 'respond');
    // The engine builds the reply's response and resumes below the replying filter.
    assert.equal(run.responseHeaders({ status: 418, headers: new HeaderMap(), local: true }, true), CONTINUE);
    assert.deepEqual(seen, [418]);
    assert.deepEqual(log.filter((l) => l.endsWith(':resp')), ['stats:resp', 'wasm:resp', 'jwt:resp']);
  });

  it('body hooks see chunks in order and may replace them; filters without body hooks cost nothing', () => {
    const upper = recorder('upper', 'WASM_UNSPECIFIED', [], {
      onRequestBody: (_c, chunk) => replaceBody(Buffer.from(chunk.toString().toUpperCase())),
      onResponseBody: (_c, _r, chunk) => replaceBody(Buffer.from(`[${chunk.toString()}]`)),
    });
    const plain: FilterFactory = { name: 'plain', phase: 'STATS', create: () => ({}) };
    const run = new FilterChain([upper, plain], silent()).start(ctx());
    assert.equal(run.wantsRequestBody, true);
    run.requestHeaders(false);
    const r = run.requestBody(Buffer.from('abc'), true) as FilterResult;
    assert.equal(r.action, 'continue');
    assert.equal((r as { body?: Buffer }).body?.toString(), 'ABC');
    run.responseHeaders(response(), false);
    assert.equal(run.wantsResponseBody, true);
    const rb = run.responseBody(response(), Buffer.from('x'), true) as FilterResult;
    assert.equal((rb as { body?: Buffer }).body?.toString(), '[x]');

    const none = new FilterChain([plain], silent()).start(ctx());
    assert.equal(none.wantsRequestBody, false);
    assert.equal(none.requestBody(Buffer.from('abc'), true), CONTINUE);
  });

  it('EMPTY chain is empty', () => {
    assert.equal(FilterChain.EMPTY.isEmpty, true);
  });
});

describe('trailer hooks', () => {
  const trailerFilter = (name: string, phase: FilterPhase, log: string[], s: Partial<StreamFilter>): FilterFactory => ({
    name,
    phase,
    create: (): StreamFilter => ({ onRequestHeaders: (): HookResult => CONTINUE, ...s }),
  });

  it('request trailers run in phase order, edits accumulate, held body is released before them', async () => {
    const log: string[] = [];
    const chain = new FilterChain(
      [
        trailerFilter('b', 'WASM_STATS', log, {
          onRequestTrailers: (_c, t): HookResult => {
            log.push(`b:${t.get('x-a') ?? ''}`);
            t.set('x-b', '2');
            return Promise.resolve(replaceBody(Buffer.from('held')));
          },
        }),
        trailerFilter('a', 'WASM_AUTHN', log, {
          onRequestTrailers: (_c, t): HookResult => {
            log.push('a');
            t.set('x-a', '1');
            return CONTINUE;
          },
        }),
      ],
      silent(),
    );
    const run = chain.start(ctx());
    assert.equal(run.wantsRequestTrailers, true);
    assert.equal(run.wantsRequestBody, false);
    run.requestHeaders(false);
    const trailers = new HeaderMap();
    const r = await run.requestTrailers(trailers);
    assert.deepEqual(log, ['a', 'b:1']);
    assert.equal(trailers.get('x-b'), '2');
    assert.equal(r.action, 'continue');
    assert.equal(r.action === 'continue' ? r.body?.toString() : '', 'held');
  });

  it('response trailers run in reverse for the filters that saw the response; a throwing hook is a 500', () => {
    const log: string[] = [];
    const chain = new FilterChain(
      [
        trailerFilter('first', 'WASM_AUTHN', log, { onResponseTrailers: (): HookResult => (log.push('first'), CONTINUE) }),
        trailerFilter('second', 'WASM_STATS', log, {
          onResponseTrailers: (): HookResult => {
            log.push('second');
            throw new Error('boom');
          },
        }),
      ],
      silent(),
    );
    const run = chain.start(ctx());
    run.requestHeaders(true);
    run.responseHeaders(response(), false);
    assert.equal(run.wantsResponseTrailers, true);
    const r = run.responseTrailers(response(), new HeaderMap());
    assert.deepEqual(log, ['second']);
    assert.equal(r, FILTER_FAILED_RESULT);
  });
});
