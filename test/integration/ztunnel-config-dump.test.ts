/**
 * The ztunnel admin `/config_dump` in Istio's ztunnel shape (what `istioctl ztunnel-config`
 * reads), from a running local mesh with a live connection, and the `ambient ztunnel-config` /
 * `ambient waypoint status` views over it, run as the CLI a user runs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AdminServer } from '../../src/admin/admin-server.js';
import { ReadinessServer } from '../../src/admin/readiness-server.js';
import { ztunnelAdminTarget } from '../../src/admin/ztunnel-admin.js';
import { CLI_ENTRY } from '../../src/commands/defaults.js';
import { Logger } from '../../src/telemetry/logger.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { getPage } from '../../src/commands/admin-fetch.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';

interface Dump {
  workloads: { uid: string; name: string; namespace: string; workloadIps: string[]; protocol: string; status: string; node: string }[];
  services: { name: string; hostname: string; vips: string[]; ports: Record<string, number>; waypoint?: { destination: string }; endpoints: Record<string, { workloadUid: string }> }[];
  policies: { name: string; namespace: string; scope: string; action: string; rules: unknown[] }[];
  certificates: { identity: string; state: string; certChain: { pem: string; serialNumber: string }[]; rootCerts: unknown[] }[];
  workloadState: Record<string, { state: string; info: { name: string }; connections: { outbound: { src: string; originalDst: string; actualDst: string; protocol: string }[] } }>;
  configs: unknown[];
}

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_ENTRY, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('ztunnel /config_dump in istioctl ztunnel-config shape', () => {
  let mesh: LocalMesh;
  let admin: AdminServer;
  const readiness = new ReadinessServer();
  let adminAddr = '';
  let held: net.Socket | undefined;
  let tmp = '';

  before(async () => {
    mesh = await startLocalMesh();
    const node = mesh.pod('default', 'sleep').node;
    const host = mesh.block.node(1);
    const ztunnel = mesh.ztunnels.get(node);
    assert.ok(ztunnel);
    admin = new AdminServer(
      ztunnelAdminTarget({ node, ztunnel, store: mesh.store, certs: mesh.certs, metrics: new ProxyMetrics(), readiness, logger: new Logger({ level: 'error' }), quit: () => undefined }),
    );
    adminAddr = `${host}:${(await admin.listen(host, 0)).port}`;
    // A connection held open, so the dump has one to show.
    held = await mesh.connectFrom(mesh.pod('default', 'sleep'), 'tcp-echo', 9000);
    held.write('hello');
    await new Promise<void>((resolve) => held?.once('data', () => resolve()));
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ztunnel-dump-'));
  });

  after(async () => {
    held?.destroy();
    await admin?.close(200);
    await mesh?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const dump = async (): Promise<Dump> => JSON.parse((await getPage(`http://${adminAddr}/config_dump`)).body) as Dump;

  it('serves workloads, services, policies, certificates and workloadState as ztunnel names them', async () => {
    const d = await dump();
    const sleep = mesh.pod('default', 'sleep');
    const w = d.workloads.find((x) => x.name === 'sleep');
    assert.deepEqual(w && { uid: w.uid, ips: w.workloadIps, protocol: w.protocol, status: w.status, node: w.node }, {
      uid: 'Kubernetes//Pod/default/sleep',
      ips: [sleep.ip],
      protocol: 'HBONE',
      status: 'Healthy',
      node: sleep.node,
    });
    const reviews = d.services.find((s) => s.hostname === 'reviews.default.svc.cluster.local');
    assert.ok(reviews);
    const wp = mesh.store.current().waypoint('default', 'waypoint');
    assert.deepEqual(reviews.waypoint, { destination: `/${wp?.addresses[0] ?? ''}`, hboneMtlsPort: 15008 });
    assert.deepEqual(reviews.ports, { '9080': 9080 });
    assert.equal(Object.keys(reviews.endpoints).length, 2);
    assert.ok(reviews.vips.every((v) => v.startsWith('/127.100.')));
    const pol = d.policies.find((p) => p.namespace === 'default');
    assert.ok(pol, 'the default mesh has an L4 policy');
    assert.ok(['Allow', 'Deny'].includes(pol.action));
    assert.ok(['Global', 'Namespace', 'WorkloadSelector'].includes(pol.scope));
    const cert = d.certificates.find((c) => c.identity === sleep.identity);
    assert.equal(cert?.state, 'Available');
    const leaf = cert?.certChain[0];
    assert.ok(leaf);
    assert.equal(leaf.serialNumber, BigInt(`0x${new X509Certificate(leaf.pem).serialNumber}`).toString(10));
    assert.equal(cert?.rootCerts.length, 1);
    // The held connection, under the client pod, with the Service it asked for.
    const state = d.workloadState['Kubernetes//Pod/default/sleep'];
    assert.equal(state?.state, 'Up');
    const out = state?.connections.outbound.find((c) => c.protocol === 'HBONE' && c.originalDst.endsWith(':9000'));
    assert.ok(out, JSON.stringify(state?.connections));
    assert.ok(out.src.startsWith(`${sleep.ip}:`));
    // Our own sections are still there beside Istio's.
    assert.ok(Array.isArray(d.configs) && d.configs.length === 2);
  });

  it('a closed connection leaves workloadState', async () => {
    held?.destroy();
    await eventually(async () => {
      const d = await dump();
      assert.deepEqual(d.workloadState['Kubernetes//Pod/default/sleep']?.connections.outbound, []);
    });
  });

  it('ambient ztunnel-config prints istioctl-style tables from the admin API and from a file', async () => {
    const w = await cli(['ztunnel-config', 'workloads', '--admin', adminAddr]);
    assert.equal(w.code, 0, w.stderr);
    const lines = w.stdout.split('\n');
    assert.match(lines[0] ?? '', /^NAMESPACE POD NAME +ADDRESS +NODE +WAYPOINT PROTOCOL$/);
    // Columns as Go's tabwriter (padding 1) aligns them: each header starts where its cells do.
    const row = lines.find((l) => l.startsWith('default   sleep')) ?? '';
    assert.equal(row.indexOf('node-a'), (lines[0] ?? '').indexOf('NODE'), w.stdout);
    assert.ok(lines.some((l) => /^default\s+sleep\s+127\.1\.\d+\.\d+\s+node-a\s+None\s+HBONE$/.test(l)), w.stdout);
    const s = await cli(['ztunnel-config', 'services', '--admin', adminAddr]);
    assert.ok(s.stdout.split('\n').some((l) => /^default\s+reviews\s+127\.100\.\d+\.\d+\s+waypoint\s+2\/2$/.test(l)), s.stdout);
    writeFileSync(path.join(tmp, 'dump.json'), JSON.stringify(await dump()));
    const p = await cli(['ztunnel-config', 'policies', '--file', path.join(tmp, 'dump.json')]);
    assert.match(p.stdout, /^NAMESPACE\s+POLICY NAME\s+ACTION\s+SCOPE\n/);
    const c = await cli(['ztunnel-config', 'certificates', '--file', path.join(tmp, 'dump.json')]);
    assert.ok(c.stdout.split('\n').some((l) => /^spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep\s+Leaf\s+Available\s+true\s+[0-9a-f]+\s/.test(l)), c.stdout);
    const j = await cli(['ztunnel-config', 'workloads', '--file', path.join(tmp, 'dump.json'), '-o', 'json']);
    assert.ok((JSON.parse(j.stdout) as { name: string }[]).some((x) => x.name === 'sleep'));
  });

  it('bad input gets a clear answer: not JSON, no source, unknown kind', async () => {
    writeFileSync(path.join(tmp, 'bad.json'), '{not json');
    const bad = await cli(['ztunnel-config', 'workloads', '--file', path.join(tmp, 'bad.json')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not JSON/);
    assert.equal((await cli(['ztunnel-config', 'workloads'])).code, 2);
    assert.equal((await cli(['ztunnel-config', 'pods', '--file', path.join(tmp, 'bad.json')])).code, 2);
    // An empty object is a dump with nothing in it, not a crash.
    writeFileSync(path.join(tmp, 'empty.json'), '{}');
    const empty = await cli(['ztunnel-config', 'all', '--file', path.join(tmp, 'empty.json')]);
    assert.equal(empty.code, 0, empty.stderr);
  });

  it('ambient waypoint status reports a waypoint that is down as not programmed', async () => {
    // The mesh's config names 127.2.x addresses of this test's block; nothing listens on 15021 there.
    const r = await cli(['waypoint', 'status', '--config', mesh.config.dir, '--timeout-ms', '500']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^NAMESPACE\s+NAME\s+STATUS\s+TYPE\s+REASON\s+MESSAGE\n/);
    assert.match(r.stdout, /default\s+waypoint\s+False\s+Programmed\s+NotReady\s+.*fronts default\/reviews/);
    // Once it answers ready on its address (as `ambient waypoint` does), it is programmed.
    const wp = mesh.store.current().waypoint('default', 'waypoint');
    const up = new ReadinessServer();
    await up.listen(wp?.addresses[0] ?? '', 15021);
    up.setReady();
    try {
      const ok = await cli(['waypoint', 'status', '--config', mesh.config.dir, '-n', 'default', '--name', 'waypoint']);
      assert.equal(ok.code, 0, ok.stdout);
      assert.match(ok.stdout, /default\s+waypoint\s+True\s+Programmed\s+Programmed\s+1\/1 ready; fronts default\/reviews/);
    } finally {
      await up.close(200);
    }
  });
});
