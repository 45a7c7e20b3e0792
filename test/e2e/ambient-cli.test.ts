/**
 * The product as a user runs it: `ambient up` starting every role as its own process, `ambient
 * curl` sending traffic from a pod, the readiness endpoints, Ctrl-C draining everything, and
 * `ambient validate` on good and bad config.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { allocateBlock } from '../helpers/addresses.js';
import { relocatedConfig, REPO_ROOT, type RelocatedConfig } from '../helpers/relocated-config.js';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');

function runCli(args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

function httpGet(host: string, port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host, port, path: p }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

function httpText(host: string, port: number, p: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: p }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

describe('ambient up, as a user runs it', () => {
  const block = allocateBlock();
  const subnet = block.node(1).replace(/\.1$/, '');
  let config: RelocatedConfig;
  let state: string;
  let up: ChildProcess;
  let output = '';

  before(async () => {
    config = relocatedConfig(block);
    state = mkdtempSync(path.join(os.tmpdir(), 'ambient-up-state-'));
    up = spawn(process.execPath, [CLI, 'up', '--config', config.dir, '--state', state, '--node-subnet', subnet, '--drain-ms', '2000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    up.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`mesh not up in 60 s:\n${output}`)), 60_000);
      up.stdout!.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('ambient mesh is up')) {
          clearTimeout(t);
          resolve();
        }
      });
      up.on('exit', (code) => reject(new Error(`ambient up exited ${code}:\n${output}`)));
    });
  });

  after(() => {
    if (up.exitCode === null) up.kill('SIGKILL');
    config?.remove();
    if (state) rmSync(state, { recursive: true, force: true });
  });

  it('prints how to send traffic and the mesh root', () => {
    assert.match(output, /curl --from sleep http:\/\/reviews:9080\//);
    assert.match(output, new RegExp(`--socks5-hostname ${block.pod(2).replace(/\./g, '\\.')}:15080`));
    assert.match(output, /root-cert\.pem/);
  });

  it('serves `ambient curl --from sleep` through the waypoint', async () => {
    const r = await runCli(['curl', '--config', config.dir, '--from', 'sleep', 'http://reviews:9080/from-cli']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as EchoReport;
    assert.equal(report.path, '/from-cli');
    assert.equal(report.peer.address, block.waypoint(1));
    assert.equal(report.peer.identity, 'spiffe://cluster.local/ns/default/sa/waypoint');
  });

  it('exits 7 when L4 policy refuses the connection', async () => {
    const r = await runCli(['curl', '--config', config.dir, '--from', 'other/notsleep', 'http://ratings.default:9080/']);
    assert.equal(r.code, 7);
    assert.match(r.stderr, /not allowed by ruleset/);
  });

  it('answers readiness on every role', async () => {
    assert.equal(await httpGet(block.waypoint(1), 15021, '/healthz/ready'), 200);
    assert.equal(await httpGet(block.node(1), 15021, '/healthz/ready'), 200);
    assert.equal(await httpGet(block.node(2), 15021, '/healthz/ready'), 200);
  });

  it('serves metrics (15020, 15090) and the admin API (15000) on each role\'s address, and logs requests', async () => {
    const wp = block.waypoint(1);
    for (const port of [15020, 15090]) {
      const r = await httpText(wp, port, '/stats/prometheus');
      assert.equal(r.status, 200);
      assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
      // The earlier `ambient curl` through the waypoint.
      assert.match(r.body, /^istio_requests_total\{reporter="waypoint",source_workload="sleep",.*destination_service_name="reviews".*response_code="200".*\} \d+$/m);
      assert.match(r.body, /^ambient_config_generation \d+$/m);
      assert.match(r.body, /^ambient_nodejs_eventloop_lag_seconds \S+$/m);
      assert.match(r.body, /^ambient_nodejs_heap_size_used_bytes \d+$/m);
      // Tracing exporter health (no collector configured here: nothing sent, nothing dropped).
      assert.match(r.body, /^ambient_tracing_spans_dropped_total 0$/m);
    }
    assert.deepEqual(await httpText(wp, 15000, '/ready'), { status: 200, type: 'text/plain; charset=UTF-8', body: 'LIVE\n' });
    assert.equal((await httpText(wp, 15000, '/quitquitquit')).status, 405);
    assert.equal((await httpText(block.node(1), 15000, '/ready')).status, 200);
    const z = await httpText(block.node(2), 15020, '/stats/prometheus');
    assert.match(z.body, /^istio_tcp_connections_opened_total\{reporter="destination",.*response_flags="DENY".*\} 1$/m);
    assert.match(output, /\[waypoint\/default\/waypoint\] \[[^\]]+\] "GET \/from-cli HTTP\/1\.1" 200 - via_upstream /);
    assert.match(output, /\[ztunnel\/node-b\] \S+\terror\taccess\tconnection complete .*response_flag=DENY/);
  });

  it('drains and exits cleanly on Ctrl-C, leaving nothing listening', async () => {
    const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
    up.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
    assert.equal(code, 0, output);
    assert.match(output, /ambient up: stopped/);
    assert.equal(await canConnect(block.waypoint(1), 15008), false);
    assert.equal(await canConnect(block.pod(11), 15008), false);
    assert.equal(await canConnect(block.pod(11), 9080), false);
  });
});

describe('ambient validate', () => {
  it('accepts the embedded default mesh', async () => {
    const r = await runCli(['validate', path.join(REPO_ROOT, 'deploy', 'local', 'default')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /0 error\(s\)/);
  });

  it('names the file, line, object and field of a bad object, and exits 1', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ambient-bad-'));
    try {
      writeFileSync(
        path.join(dir, 'pods.yaml'),
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n  namespace: default\nspec:\n  nodeName: node-a\n  containers: [{name: c, image: echo}]\nstatus:\n  podIP: not-an-ip\n',
      );
      const r = await runCli(['validate', dir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /pods\.yaml:10: error FIELD_INVALID Pod default\/broken status\.podIP: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
