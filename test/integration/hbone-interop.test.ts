/**
 * Interop with an independent HBONE implementation: Python's ssl (OpenSSL) and the `h2` library
 * (test/interop/hbone_peer.py), holding certificates issued by the mesh CA.
 * - as a client: it sends CONNECT to the waypoint and is routed to a mesh app;
 * - as a server: it stands in for a destination ztunnel, and the waypoint reaches it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { REPO_ROOT } from '../helpers/relocated-config.js';

const PYTHON = '/usr/bin/python3';
const PEER = path.join(REPO_ROOT, 'test', 'interop', 'hbone_peer.py');
const WAYPOINT_ID = 'spiffe://cluster.local/ns/default/sa/waypoint';
const PY_ID = 'spiffe://cluster.local/ns/default/sa/py';

/** Runs the peer without blocking: the mesh under test shares this process's event loop. */
function runPeer(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [PEER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const hasH2 = spawnSync(PYTHON, ['-c', 'import h2'], { stdio: 'ignore' }).status === 0;
const skip = hasH2 ? false : 'python3-h2 is not installed (scripts/install-test-tools.sh installs it as root)';

// A Service behind the waypoint whose only endpoint is served by the Python peer (node-py has
// no ztunnel of ours).
const PY_SERVICE = `apiVersion: v1
kind: Service
metadata: {name: py, namespace: default, labels: {istio.io/use-waypoint: waypoint}}
spec:
  clusterIP: 127.100.0.30
  selector: {app: py}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: py-1, namespace: default, labels: {app: py}}
spec:
  nodeName: node-py
  serviceAccountName: py
  containers: [{name: py, image: python-hbone, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 127.1.0.30}
`;

describe('HBONE interop with an independent HTTP/2 + TLS stack', { skip }, () => {
  let mesh: LocalMesh;
  let dir: string;
  let server: ChildProcess | undefined;

  async function writeIdentity(name: string, identity: string): Promise<{ cert: string; key: string; root: string }> {
    const m = await mesh.ca.issue(identity);
    const files = { cert: path.join(dir, `${name}-cert.pem`), key: path.join(dir, `${name}-key.pem`), root: path.join(dir, 'root.pem') };
    writeFileSync(files.cert, m.certChainPem);
    writeFileSync(files.key, m.keyPem, { mode: 0o600 });
    writeFileSync(files.root, mesh.ca.rootCertPem);
    return files;
  }

  before(async () => {
    mesh = await startLocalMesh({ skipNodes: ['node-py'], extraFiles: { '80-py.yaml': PY_SERVICE } });
    dir = mkdtempSync(path.join(os.tmpdir(), 'ambient-interop-'));
  });
  after(async () => {
    server?.kill('SIGKILL');
    await mesh?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('routes a CONNECT from a Python HBONE client through the waypoint to a mesh app', async () => {
    const sleep = mesh.pod('default', 'sleep');
    const id = await writeIdentity('sleep', 'spiffe://cluster.local/ns/default/sa/sleep');
    const run = await runPeer(
      ['client', '--host', mesh.block.waypoint(1), '--port', '15008', '--cert', id.cert, '--key', id.key, '--root', id.root,
        '--source', sleep.ip, '--expect', WAYPOINT_ID, '--authority', `${mesh.block.vip(10)}:9080`, '--path', '/from-python', '--host-header', 'reviews'],
    );
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { connect_status: number; server_sans: string[]; response: string };
    assert.equal(out.connect_status, 200);
    assert.deepEqual(out.server_sans, [WAYPOINT_ID]);
    assert.match(out.response, /^HTTP\/1\.1 200 /);
    assert.match(out.response, /server: istio-envoy/i);
    const report = JSON.parse(out.response.slice(out.response.indexOf('\r\n\r\n') + 4)) as EchoReport;
    assert.match(report.pod, /^default\/reviews-v[12]$/);
    assert.equal(report.path, '/from-python');
    assert.equal(report.peer.identity, WAYPOINT_ID);
  });

  it('refuses the Python client when it names a service the waypoint does not serve', async () => {
    const id = await writeIdentity('sleep2', 'spiffe://cluster.local/ns/default/sa/sleep');
    const run = await runPeer(
      ['client', '--host', mesh.block.waypoint(1), '--port', '15008', '--cert', id.cert, '--key', id.key, '--root', id.root,
        '--expect', WAYPOINT_ID, '--authority', `${mesh.block.vip(11)}:9080`],
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { connect_status: number }).connect_status, 400);
  });

  it('reaches a Python HBONE server standing in for a destination ztunnel', async () => {
    const py = mesh.pod('default', 'py-1');
    const id = await writeIdentity('py', PY_ID);
    server = spawn(PYTHON, [PEER, 'server', '--host', py.ip, '--port', '15008', '--cert', id.cert, '--key', id.key, '--root', id.root], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      const rl = readline.createInterface({ input: server!.stdout! });
      const t = setTimeout(() => reject(new Error('python server did not start')), 15_000);
      rl.on('line', (line) => {
        if (line.startsWith('LISTENING')) {
          clearTimeout(t);
          resolve();
        }
      });
      server!.on('exit', (code) => reject(new Error(`python server exited ${code}`)));
    });
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://py:8080/to-python?q=1');
    assert.equal(res.status, 200);
    assert.equal(res.headers['server'], 'istio-envoy');
    const report = res.json<{ app: string; authority: string; peer_identity: string; request_line: string; headers: Record<string, string> }>();
    assert.equal(report.app, 'python-hbone');
    assert.equal(report.authority, `${py.ip}:8080`);
    assert.equal(report.peer_identity, WAYPOINT_ID);
    assert.equal(report.request_line, 'GET /to-python?q=1 HTTP/1.1');
    assert.equal(report.headers['x-envoy-attempt-count'], '1');
  });
});
