/**
 * The image's dependency set runs Wasm plugins (issue 17). A staging directory is built the way
 * the Dockerfile builds the image — package.json + package-lock.json, `npm ci --omit=dev
 * --omit=optional --ignore-scripts` (offline, from the npm cache this checkout was installed from), and a copy of
 * dist/src, dist/filters, dist/wasm and proto (copies, not links: Node resolves a module's
 * imports from its real path, so a link would find this checkout's devDependencies). Then
 * `ambient waypoint` runs from there as its own process, in front of the in-process local mesh,
 * and a request to a Service with a WasmPlugin (the header-editing sample) must come back
 * edited by the plugin, and one to a FAIL_CLOSE plugin whose module is missing must get 503.
 * The same process shows a plugin-defined metric on the admin `/stats` listing and on
 * `/stats/prometheus`, as Envoy lists both.
 *
 * Bounded: the install has 3 minutes; when it cannot run (no npm, no cached packages, no
 * network-free install possible) the test is skipped with the reason.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { reviewsServiceYaml } from '../helpers/mesh-fixtures.js';
import { REPO_ROOT } from '../helpers/relocated-config.js';
import { httpText } from '../helpers/role-process.js';

const INSTALL_TIMEOUT_MS = 180_000;

function stage(): { dir: string } | { skip: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ambient-prod-'));
  for (const f of ['package.json', 'package-lock.json']) cpSync(path.join(REPO_ROOT, f), path.join(dir, f));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--omit=dev', '--omit=optional', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir,
    timeout: INSTALL_TIMEOUT_MS,
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (r.error || r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `cannot install production dependencies offline (${r.error?.message ?? `npm exited ${r.status}: ${(r.stderr || '').trim().split('\n').slice(-2).join(' ')}`})` };
  }
  for (const d of ['dist/src', 'dist/filters', 'dist/wasm', 'proto']) cpSync(path.join(REPO_ROOT, d), path.join(dir, d), { recursive: true });
  return { dir };
}

describe('production dependencies only: the waypoint runs Wasm plugins', () => {
  let staged: { dir: string } | { skip: string };
  let mesh: LocalMesh | undefined;
  let child: ReturnType<typeof spawn> | undefined;
  let stderr = '';
  let wpAddress = '';

  before(async () => {
    staged = stage();
    if ('skip' in staged) return;
    const sample = path.join(staged.dir, 'dist', 'wasm', 'plugins', 'header-edit.wasm');
    const counter = path.join(staged.dir, 'dist', 'wasm', 'plugins', 'request-counter.wasm');
    const plugin = (name: string, url: string, extra = '', svc = name): string => `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: ${name}, namespace: default}
spec:
  targetRefs: [{kind: Service, group: "", name: ${svc}}]
  url: ${url}
${extra}`;
    const docs = [
      reviewsServiceYaml('prod-wasm', '127.100.0.70'),
      plugin('prod-wasm', `file://${sample}`, '  pluginConfig: {value: production-deps}\n'),
      plugin('prod-counter', `file://${counter}`, '  phase: STATS\n  pluginConfig: {key: prod, metric: wasmcustom.prod_requests_total}\n', 'prod-wasm'),
      reviewsServiceYaml('prod-missing', '127.100.0.71'),
      plugin('prod-missing', `file://${path.join(staged.dir, 'missing.wasm')}`),
    ];
    mesh = await startLocalMesh({ skipWaypoints: true, extraFiles: { '90-prod.yaml': docs.join('---\n') } });
    const wp = [...mesh.store.current().snapshot.waypoints.values()][0];
    assert.ok(wp);
    const wpIp = wp.addresses[0] ?? '';
    const cli = path.join(staged.dir, 'dist', 'src', 'cli.js');
    child = spawn(process.execPath, [cli, 'waypoint', '--gateway', `${wp.namespace}/${wp.name}`, '--config', mesh.config.dir, '--state', mesh.stateDir, '--quiet', '--drain-ms', '500'], {
      cwd: staged.dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_ENV: 'production', NODE_PATH: '' },
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    wpAddress = wpIp;
    await eventually(async () => assert.equal((await httpText(wpIp, 15021, '/healthz/ready')).status, 200), 30_000, 100);
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await mesh?.close();
    if (staged && 'dir' in staged) rmSync(staged.dir, { recursive: true, force: true });
  });

  it('a plugin edits the request through a waypoint whose module resolution has only production dependencies', async (t) => {
    if ('skip' in staged) return t.skip(staged.skip);
    assert.ok(mesh);
    const sleep = mesh.pod('default', 'sleep');
    const res = await eventually(
      async () => {
        const r = await mesh?.request(sleep, 'http://prod-wasm:9080/probe');
        assert.equal(r?.status, 200, `${r?.body.toString() ?? ''}\n${stderr.slice(-2000)}`);
        assert.equal(r?.json<EchoReport>().headers['x-wasm-request'], 'production-deps', stderr.slice(-2000));
        return r;
      },
      40_000,
      100,
    );
    assert.equal(res?.headers['x-wasm-response'], 'production-deps');
    assert.doesNotMatch(stderr, /Cannot find package/);
    const missing = await mesh.request(sleep, 'http://prod-missing:9080/probe');
    assert.equal(missing.status, 503, 'FAIL_CLOSE for a module that cannot be loaded');
  });

  it('plugin-defined metrics show on the admin /stats listing and on /stats/prometheus', async (t) => {
    if ('skip' in staged) return t.skip(staged.skip);
    const stats = await httpText(wpAddress, 15000, '/stats');
    assert.equal(stats.status, 200);
    assert.match(stats.body, /^wasmcustom\.prod_requests_total: [1-9]\d*$/m);
    assert.match(stats.body, /^wasmcustom\.prod_requests_total_current: [1-9]\d*$/m);
    const json = await httpText(wpAddress, 15000, '/stats?format=json');
    const entries = (JSON.parse(json.body) as { stats: Array<{ name: string; value: number }> }).stats;
    assert.ok(entries.some((e) => e.name === 'wasmcustom.prod_requests_total' && e.value >= 1), json.body.slice(0, 500));
    const prom = await httpText(wpAddress, 15020, '/stats/prometheus');
    assert.match(prom.body, /^wasmcustom_prod_requests_total [1-9]\d*$/m);
  });
});
