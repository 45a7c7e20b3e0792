/**
 * WasmPlugins through the real data path: client pod → ztunnel → waypoint (plugins in the filter
 * chain) → ztunnel → echo app. Plugins are the project's AssemblyScript samples and the SDK
 * compatibility modules, loaded from `file://` URLs in WasmPlugin YAML, attached by targetRefs to
 * Services created for each scenario.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PrometheusServer } from '../../src/admin/prometheus-server.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import type { WorkloadIR } from '../../src/config/ir.js';
import { startLocalMesh, type LocalMesh, type MeshResponse } from '../helpers/local-mesh.js';
import { reviewsServiceYaml } from '../helpers/mesh-fixtures.js';
import { serializePairs } from '../../src/wasm/header-pairs.js';
import { compatPath, pluginPath, wat } from '../helpers/wasm-modules.js';

interface Echo {
  readonly pod: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
}

let ip = 40;
const service = (name: string): string => reviewsServiceYaml(name, `127.100.0.${ip++}`, 'http');

function plugin(name: string, svc: string, url: string, extra = ''): string {
  return `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: ${svc}}]
  url: file://${url}
${extra}`;
}

/**
 * A plugin that tries header injection on every request: CR/LF and NUL in values, a name with a
 * space, a pair list with CR/LF, and a CR/LF response header. It reports the four request-side
 * statuses in `x-inject-status` (one digit each) and adds `x-resp-ok: 1` to the response.
 */
function injectorModule(): string {
  const data: Array<[string, Buffer]> = [
    ['evil', Buffer.from('x-evil')],
    ['crlf', Buffer.from('a\r\nx-injected: 1')],
    ['nul', Buffer.from('nul\0byte')],
    ['badname', Buffer.from('bad name')],
    ['v', Buffer.from('v')],
    ['pairs', serializePairs([['x-a', 'b\r\nx-injected: 1']])],
    ['status', Buffer.from('x-inject-status')],
    ['respok', Buffer.from('x-resp-ok')],
    ['one', Buffer.from('1')],
  ];
  const at = new Map<string, [number, number]>();
  let off = 64;
  const segments = data.map(([name, b]) => {
    at.set(name, [off, b.length]);
    const seg = `(data (i32.const ${off}) "${[...b].map((x) => '\\' + x.toString(16).padStart(2, '0')).join('')}")`;
    off += b.length + 1;
    return seg;
  });
  const ref = (n: string): string => {
    const [p, l] = at.get(n) as [number, number];
    return `(i32.const ${p}) (i32.const ${l})`;
  };
  const digit = (i: number, call: string): string => `(i32.store8 (i32.const ${1000 + i}) (i32.add (i32.const 48) ${call}))`;
  return `(module
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $set (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ${digit(0, `(call $add (i32.const 0) ${ref('evil')} ${ref('crlf')})`)}
    ${digit(1, `(call $replace (i32.const 0) ${ref('evil')} ${ref('nul')})`)}
    ${digit(2, `(call $add (i32.const 0) ${ref('badname')} ${ref('v')})`)}
    ${digit(3, `(call $set (i32.const 0) ${ref('pairs')})`)}
    (drop (call $add (i32.const 0) ${ref('status')} (i32.const 1000) (i32.const 4)))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add (i32.const 2) ${ref('evil')} ${ref('crlf')}))
    (drop (call $add (i32.const 2) ${ref('respok')} ${ref('one')}))
    (i32.const 0))
  ${segments.join('\n  ')})`;
}

describe('WasmPlugin at the waypoint', () => {
  let mesh: LocalMesh;
  let sleep: WorkloadIR;
  let tmp: string;
  const metrics = new ProxyMetrics();
  const prometheus = new PrometheusServer(metrics);
  let metricsPort = 0;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'wasm-test-'));
    // Links only if the host could provide a memory import: it cannot, so linking fails.
    const noLink = path.join(tmp, 'no-link.wasm');
    writeFileSync(noLink, await wat('(module (import "env" "memory" (memory 1)) (func (export "proxy_abi_version_0_2_1")) (func (export "malloc") (param i32) (result i32) (i32.const 0)))'));
    const missing = path.join(tmp, 'missing.wasm');
    const docs: string[] = [];
    const add = (svc: string, ...plugins: string[]): void => void docs.push(service(svc), ...plugins);
    add('wasm-edit', plugin('edit', 'wasm-edit', pluginPath('header-edit'), `  pluginConfig: {value: from-wasm, removeRequestHeader: x-remove-me}\n`));
    add('wasm-body', plugin('body', 'wasm-body', pluginPath('header-edit'), `  pluginConfig: {appendRequestBody: "+req", appendResponseBody: "+resp"}\n`));
    add(
      'wasm-authz',
      plugin(
        'authz',
        'wasm-authz',
        pluginPath('http-authz'),
        `  phase: AUTHZ\n  pluginConfig: {cluster: "outbound|9080||ratings.default.svc.cluster.local", authority: ratings, forwardHeader: x-echo-status}\n`,
      ),
    );
    add(
      'wasm-count',
      plugin('count-a', 'wasm-count', pluginPath('request-counter'), `  pluginConfig: {key: shared-count, metric: wasmcustom.count_a_total}\n`),
      plugin('count-b', 'wasm-count', pluginPath('request-counter'), `  phase: STATS\n  pluginConfig: {key: shared-count, metric: wasmcustom.count_b_total}\n`),
    );
    add(
      'wasm-order',
      plugin('late', 'wasm-order', pluginPath('header-edit'), `  phase: STATS\n  priority: 5\n  pluginConfig: {requestHeader: x-order, responseHeader: x-order-resp, value: stats-5}\n`),
      plugin('early', 'wasm-order', pluginPath('header-edit'), `  phase: AUTHN\n  pluginConfig: {requestHeader: x-order, responseHeader: x-order-resp, value: authn}\n`),
      plugin('mid', 'wasm-order', pluginPath('header-edit'), `  phase: STATS\n  priority: 10\n  pluginConfig: {requestHeader: x-order, responseHeader: x-order-resp, value: stats-10}\n`),
    );
    add('wasm-missing-closed', plugin('missing-closed', 'wasm-missing-closed', missing));
    add('wasm-missing-open', plugin('missing-open', 'wasm-missing-open', missing, '  failStrategy: FAIL_OPEN\n'));
    add('wasm-nolink-closed', plugin('nolink-closed', 'wasm-nolink-closed', noLink, '  failStrategy: FAIL_CLOSE\n'));
    add('wasm-nolink-open', plugin('nolink-open', 'wasm-nolink-open', noLink, '  failStrategy: FAIL_OPEN\n'));
    add('wasm-trap-closed', plugin('trap-closed', 'wasm-trap-closed', compatPath('rust')));
    add('wasm-trap-open', plugin('trap-open', 'wasm-trap-open', compatPath('rust'), '  failStrategy: FAIL_OPEN\n'));
    for (const sdk of ['rust', 'tinygo', 'go-wasip1', 'cpp'] as const) {
      add(`compat-${sdk}`, plugin(`compat-${sdk}`, `compat-${sdk}`, compatPath(sdk), '  vmConfig:\n    env: [{name: COMPAT_MODE, value: strict}]\n  pluginConfig: {mode: test}\n'));
    }
    // TrafficExtension (Istio 1.30's successor to WasmPlugin): the same host, ordered with WasmPlugins.
    const extension = (name: string, svc: string, body: string): string => `apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: ${svc}}]
${body}`;
    add(
      'wasm-ext',
      extension('ext', 'wasm-ext', `  phase: STATS\n  priority: 10\n  wasm:\n    url: file://${pluginPath('header-edit')}\n    pluginConfig: {requestHeader: x-order, responseHeader: x-order-resp, value: extension-10}\n`),
      plugin('plugin-5', 'wasm-ext', pluginPath('header-edit'), `  phase: STATS\n  priority: 5\n  pluginConfig: {requestHeader: x-order, responseHeader: x-order-resp, value: wasmplugin-5}\n`),
    );
    add('wasm-ext-closed', extension('ext-closed', 'wasm-ext-closed', `  wasm:\n    url: file://${missing}\n    failStrategy: FAIL_CLOSE\n`));
    const injector = path.join(tmp, 'injector.wasm');
    writeFileSync(injector, await wat(injectorModule()));
    add('wasm-inject', plugin('inject', 'wasm-inject', injector));
    mesh = await startLocalMesh({ extraFiles: { '90-wasm.yaml': docs.join('---\n') } });
    sleep = mesh.pod('default', 'sleep');
    const wp = mesh.waypoints[0];
    assert.ok(wp);
    wp.wasm.metrics.registerInto(metrics.registry);
    const [addr] = await prometheus.listen(mesh.block.waypoint(1), [0]);
    metricsPort = addr?.port ?? 0;
  });

  after(async () => {
    await prometheus.close(200);
    await mesh?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const get = (svc: string, headers: Record<string, string> = {}, p = '/probe'): Promise<MeshResponse> => mesh.request(sleep, `http://${svc}:9080${p}`, { headers });

  it('edits request headers (seen by the backend) and response headers (seen by the client)', async () => {
    const r = await get('wasm-edit', { 'x-remove-me': 'secret', 'x-keep': 'yes' });
    assert.equal(r.status, 200);
    const echo = r.json<Echo>();
    assert.equal(echo.headers['x-wasm-request'], 'from-wasm');
    assert.equal(echo.headers['x-remove-me'], undefined);
    assert.equal(echo.headers['x-keep'], 'yes');
    assert.equal(r.headers['x-wasm-response'], 'from-wasm');
  });

  it('answers with a local reply; the upstream is not called', async () => {
    const before = mesh.waypointRecords.length;
    const r = await get('wasm-edit', { 'x-wasm-teapot': '1' });
    assert.equal(r.status, 418);
    assert.equal(r.body.toString(), 'short and stout\n');
    assert.equal(r.headers['x-wasm-local'], '1');
    assert.equal(r.headers['x-wasm-response'], undefined, 'the plugin does not see its own reply');
    const rec = mesh.waypointRecords.slice(before).find((x) => x.responseCode === 418);
    assert.equal(rec?.upstreamHost ?? '-', '-');
  });

  it('edits request and response bodies (buffered while the plugin pauses)', async () => {
    const r = await mesh.request(sleep, 'http://wasm-body:9080/echo-body', { method: 'POST', body: 'payload' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'payload+req+resp');
  });

  it('pauses for an http_call to a mesh Service and resumes on its answer', async () => {
    const ok = await get('wasm-authz', { 'x-echo-status': '200' });
    assert.equal(ok.status, 200);
    const echo = ok.json<Echo>();
    assert.match(echo.pod, /^default\/reviews-v[12]$/);
    assert.match(String(echo.headers['x-authz-checked-by']), /^default\/ratings/);
    assert.equal(echo.headers['x-echo-status'], undefined, 'the check header does not reach the backend');
    const denied = await get('wasm-authz', { 'x-echo-status': '403' });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers['x-authz-status'], '403');
    assert.equal(denied.body.toString(), 'denied by authz\n');
  });

  it('shares data across two plugins (CAS counter) and exports their metrics at /stats/prometheus', async () => {
    const first = await get('wasm-count');
    const second = await get('wasm-count');
    const a = Number(first.headers['x-request-count']);
    const b = Number(second.headers['x-request-count']);
    assert.equal(b - a, 2, 'both plugins bump the same shared key once per request');
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: mesh.block.waypoint(1), port: metricsPort, path: '/stats/prometheus' }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    assert.match(text, /^# TYPE wasmcustom_count_a_total counter$/m);
    assert.match(text, /^wasmcustom_count_a_total 2$/m);
    assert.match(text, /^wasmcustom_count_b_total 2$/m);
    assert.match(text, /^wasmcustom_count_b_total_current \d+$/m);
    assert.match(text, /^istio_requests_total|^# HELP/m, 'the proxy metrics are still there');
  });

  it('a plugin injecting CR/LF, NUL or bad names gets BAD_ARGUMENT; the request and the proxy are unharmed', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await get('wasm-inject', { 'x-a': 'kept' });
      assert.equal(r.status, 200);
      const echo = r.json<Echo>();
      assert.equal(echo.headers['x-inject-status'], '2222', 'four BAD_ARGUMENTs');
      assert.equal(echo.headers['x-evil'], undefined);
      assert.equal(echo.headers['x-injected'], undefined);
      assert.equal(echo.headers['x-a'], 'kept', 'the refused set_header_map_pairs changed nothing');
      assert.equal(r.headers['x-resp-ok'], '1');
      assert.equal(r.headers['x-evil'], undefined);
    }
    assert.equal((await get('wasm-edit')).status, 200, 'the waypoint still serves other services');
  });

  it('places plugins by phase, then priority (descending)', async () => {
    const r = await get('wasm-order');
    assert.equal(r.json<Echo>().headers['x-order'], 'stats-5', 'AUTHN, then STATS priority 10, then STATS priority 5 (last write wins)');
    assert.equal(r.headers['x-order-resp'], 'stats-5, stats-10, authn', 'the response path runs in reverse');
  });

  it('a TrafficExtension runs its wasm plugin, ordered together with WasmPlugins (phase, then priority)', async () => {
    const r = await get('wasm-ext');
    assert.equal(r.status, 200);
    assert.equal(r.json<Echo>().headers['x-order'], 'wasmplugin-5', 'the extension (priority 10) ran first, the WasmPlugin (5) last');
    assert.equal(r.headers['x-order-resp'], 'wasmplugin-5, extension-10', 'the response path runs in reverse');
    assert.equal((await get('wasm-ext-closed')).status, 503, "the extension's failStrategy applies");
  });

  it('a module that cannot be fetched: FAIL_CLOSE answers 503, FAIL_OPEN skips the plugin', async () => {
    const closed = await get('wasm-missing-closed');
    assert.equal(closed.status, 503);
    const open = await get('wasm-missing-open');
    assert.equal(open.status, 200);
  });

  it('a module that does not link: FAIL_CLOSE answers 503, FAIL_OPEN skips the plugin', async () => {
    assert.equal((await get('wasm-nolink-closed')).status, 503);
    assert.equal((await get('wasm-nolink-open')).status, 200);
  });

  it('a plugin that traps mid-request: 503 (closed) or skipped (open); the VM is rebuilt for the next request', async () => {
    const trapped = await get('wasm-trap-closed', { 'x-compat-trap': '1' });
    assert.equal(trapped.status, 503);
    const next = await get('wasm-trap-closed');
    assert.equal(next.status, 200);
    assert.equal(next.json<Echo>().headers['x-compat-sdk'], 'rust', 'a fresh VM handles the next request');
    const open = await get('wasm-trap-open', { 'x-compat-trap': '1' });
    assert.equal(open.status, 200);
    assert.equal(open.json<Echo>().headers['x-compat-sdk'], undefined, 'skipped: the request went on without the plugin');
    assert.equal((await get('wasm-trap-open')).json<Echo>().headers['x-compat-sdk'], 'rust');
  });

  for (const sdk of ['rust', 'tinygo', 'go-wasip1', 'cpp'] as const) {
    it(`runs a module importing what a ${sdk} SDK build imports`, async () => {
      const r = await get(`compat-${sdk}`, {}, '/probe?x=1');
      assert.equal(r.status, 200);
      const h = r.json<Echo>().headers;
      assert.equal(h['x-compat-sdk'], sdk);
      assert.equal(h['x-compat-path'], '/probe?x=1');
      assert.equal(h['x-compat-shared'], 'ok');
      assert.equal(h['x-compat-pairs'], 'ok');
      if (sdk === 'go-wasip1' || sdk === 'cpp') assert.equal(h['x-compat-env'], 'COMPAT_MODE=strict');
      assert.equal(r.headers['x-compat-sdk'], sdk);
      const denied = await get(`compat-${sdk}`, { 'x-compat-deny': '1' });
      assert.equal(denied.status, 403);
      assert.equal(denied.headers['x-compat-sdk'], sdk);
      assert.equal(denied.body.toString(), 'denied by compat module\n');
    });
  }
});
