/**
 * Plaintext inbound at the destination ztunnel over real sockets: the per-pod PROXY v2 listener
 * (`podIP:15006`) and the `--inbound-fixed` listener. PeerAuthentication decides first (STRICT
 * closes, PERMISSIVE/DISABLE pass; precedence and port-level overrides), then L4
 * AuthorizationPolicy without a peer identity; HBONE inbound is unaffected; a change from
 * PERMISSIVE to STRICT applies to new connections and closes open plaintext ones; malformed
 * headers are refused with a stable code.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { WorkloadIR } from '../../src/config/ir.js';
import { encodeProxyV2 } from '../../src/net/proxy-protocol.js';
import type { ConnectionRecord } from '../../src/ztunnel/connection-record.js';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import type { PeerAuthnSpec, SnapshotSpec } from '../helpers/mesh-builders.js';
import { l4Policy, meshView, peerAuthn, workload } from '../helpers/mesh-builders.js';
import type { TestApp, ZtunnelMesh } from './ztunnel-harness.js';
import { exchange, readAll, startApp, startMesh } from './ztunnel-harness.js';

const block = allocateBlock();
const sleep = workload({ name: 'sleep', ip: block.pod(1), node: 'node-a' });
const web = workload({ name: 'web-1', ip: block.pod(2), node: 'node-b', serviceAccount: 'web', labels: { app: 'web' } });
const db = workload({ name: 'db-1', ip: block.pod(3), node: 'node-b', serviceAccount: 'db', labels: { app: 'db' } });
/** Where plaintext "comes from": an address outside the mesh. */
const outsider = block.pod(40);

const base: SnapshotSpec = { workloads: [sleep, web, db] };
const withPolicies = (peer: readonly PeerAuthnSpec[], extra: Partial<SnapshotSpec> = {}) => meshView({ ...base, peerAuthns: peer.map(peerAuthn), ...extra });

/** For eventually(): throws (so it retries) until the value exists. */
function must<T>(v: T | undefined): T {
  assert.ok(v !== undefined, 'not yet');
  return v;
}

interface Plain {
  readonly data: string;
  readonly error?: Error;
}

/** A plaintext client whose PROXY header says it came from `outsider` and was going to `dest:port`. */
async function viaProxy(dest: WorkloadIR, port: number, payload: string, header?: Buffer): Promise<Plain> {
  const s = net.connect({ host: dest.ip, port: 15006 });
  await once(s, 'connect');
  const done = readAll(s);
  s.end(Buffer.concat([header ?? encodeProxyV2({ sourceIp: outsider, sourcePort: 40001, destIp: dest.ip, destPort: port }), Buffer.from(payload)]));
  const r = await done;
  return { data: r.data.toString(), ...(r.error ? { error: r.error } : {}) };
}

describe('ztunnel plaintext inbound (PeerAuthentication)', () => {
  let mesh: ZtunnelMesh;
  const apps: TestApp[] = [];
  let fixedAddr = '';
  const lastRecord = (pred: (r: ConnectionRecord) => boolean): ConnectionRecord => {
    const r = [...mesh.records].reverse().find(pred);
    assert.ok(r, 'no matching record');
    return r;
  };

  before(async () => {
    apps.push(await startApp(web.ip, 9080, 'echo'), await startApp(web.ip, 7070, 'echo'), await startApp(db.ip, 9080, 'echo'));
    mesh = await startMesh(withPolicies([]), ['node-a', 'node-b'], (node) =>
      node === 'node-b' ? { fixedInbound: [{ listenHost: '127.0.0.1', listenPort: 0, pod: 'default/web-1', port: 9080 }] } : {},
    );
    fixedAddr = mesh.ztunnels.get('node-b')?.fixedInboundAddresses()[0] ?? '';
    assert.ok(fixedAddr);
  });
  beforeEach(() => mesh.view.set(withPolicies([])));
  after(async () => {
    await mesh.close();
    await Promise.all(apps.map((a) => a.close()));
  });

  it('listens on 15006 for local ambient pods only', () => {
    assert.deepEqual(mesh.ztunnels.get('node-b')?.listening().plaintext.slice().sort(), [`${web.ip}:15006`, `${db.ip}:15006`].sort());
    assert.deepEqual(mesh.ztunnels.get('node-a')?.listening().plaintext, [`${sleep.ip}:15006`]);
  });

  it('PERMISSIVE (the default): plaintext reaches the app as the original source', async () => {
    const r = await viaProxy(web, 9080, 'hello');
    assert.equal(r.data, 'hello');
    const seen = apps[0]?.connections.at(-1);
    assert.equal(seen?.peerAddress, outsider, 'the app sees the source from the PROXY header');
    const rec = lastRecord((x) => x.dstAddr === `${web.ip}:9080` && x.srcAddr === `${outsider}:40001`);
    assert.equal(rec.direction, 'inbound');
    assert.equal(rec.srcIdentity, undefined);
    assert.equal(rec.failure, undefined);
    assert.equal(rec.bytesSent, 5);
  });

  it('STRICT mesh-wide: plaintext is closed and counted as a denial; HBONE still works', async () => {
    mesh.view.set(withPolicies([{ name: 'default', namespace: 'istio-system', mode: 'STRICT' }]));
    const before = apps[0]?.connections.length ?? 0;
    const r = await viaProxy(web, 9080, 'hello');
    assert.equal(r.data, '');
    assert.equal(apps[0]?.connections.length, before, 'the app never saw it');
    const rec = lastRecord((x) => x.dstAddr === `${web.ip}:9080` && x.failure !== undefined);
    assert.equal(rec.failure, 'MTLS_REQUIRED');
    assert.equal(rec.responseFlag, 'DENY');
    assert.match(rec.error ?? '', /istio-system\/default/);
    // The fixed listener is plaintext too.
    const [host = '', port = ''] = fixedAddr.split(/:(?=\d+$)/);
    const fixed = net.connect({ host, port: Number(port) });
    const fixedOut = await exchange(fixed, 'x').catch(() => Buffer.alloc(0));
    assert.equal(fixedOut.length, 0);
    // HBONE from a mesh pod is unaffected.
    const s = await mesh.socks(sleep, web.ip, 9080);
    assert.equal((await exchange(s, 'mtls')).toString(), 'mtls');
  });

  it('precedence: namespace PERMISSIVE over mesh STRICT, workload STRICT over both, port-level DISABLE over workload', async () => {
    mesh.view.set(
      withPolicies([
        { name: 'default', namespace: 'istio-system', mode: 'STRICT' },
        { name: 'default', namespace: 'default', mode: 'PERMISSIVE' },
        { name: 'web', selector: { app: 'web' }, mode: 'STRICT', portLevel: { 7070: 'DISABLE' } },
      ]),
    );
    assert.equal((await viaProxy(db, 9080, 'db')).data, 'db', 'namespace PERMISSIVE wins over mesh STRICT');
    assert.equal((await viaProxy(web, 9080, 'web')).data, '', 'workload STRICT wins over namespace');
    assert.equal((await viaProxy(web, 7070, 'port')).data, 'port', 'port-level DISABLE wins over the workload mode');
  });

  it('port-level STRICT under a PERMISSIVE workload; UNSET inherits', async () => {
    mesh.view.set(withPolicies([{ name: 'web', selector: { app: 'web' }, mode: 'UNSET', portLevel: { 9080: 'STRICT', 7070: 'UNSET' } }]));
    assert.equal((await viaProxy(web, 9080, 'a')).data, '');
    assert.equal((await viaProxy(web, 7070, 'b')).data, 'b');
  });

  it('L4 AuthorizationPolicy applies to plaintext, with no peer identity', async () => {
    const principalOnly = l4Policy({ name: 'only-sleep', action: 'ALLOW', selector: { app: 'web' }, matches: [{ principals: ['cluster.local/ns/default/sa/sleep'] }] });
    mesh.view.set(withPolicies([], { policies: [principalOnly] }));
    assert.equal((await viaProxy(web, 9080, 'a')).data, '', 'no identity cannot match a principal');
    assert.equal(lastRecord((x) => x.dstAddr === `${web.ip}:9080` && x.failure !== undefined).failure, 'L4_POLICY_DENIED');
    const s = await mesh.socks(sleep, web.ip, 9080);
    assert.equal((await exchange(s, 'ok')).toString(), 'ok', 'the HBONE peer with that identity is allowed');
    const byIp = l4Policy({ name: 'from-outsider', action: 'ALLOW', selector: { app: 'web' }, matches: [{ sourceIps: [`${outsider}/32`] }] });
    mesh.view.set(withPolicies([], { policies: [byIp] }));
    assert.equal((await viaProxy(web, 9080, 'ip')).data, 'ip', 'an ipBlocks rule matches the PROXY source');
    const denyNoIdentity = l4Policy({ name: 'need-identity', action: 'DENY', selector: { app: 'web' }, matches: [{ notPrincipals: ['*'] }] });
    mesh.view.set(withPolicies([], { policies: [denyNoIdentity] }));
    assert.equal((await viaProxy(web, 9080, 'n')).data, '');
  });

  it('a change from PERMISSIVE to STRICT applies to new connections and closes open plaintext ones', async () => {
    mesh.view.set(withPolicies([{ name: 'default', mode: 'PERMISSIVE' }]));
    const open = net.connect({ host: web.ip, port: 15006 });
    await once(open, 'connect');
    const done = readAll(open);
    let echoed = '';
    open.on('data', (c: Buffer) => (echoed += c.toString()));
    open.write(Buffer.concat([encodeProxyV2({ sourceIp: outsider, sourcePort: 40002, destIp: web.ip, destPort: 9080 }), Buffer.from('ping')]));
    await eventually(() => echoed === 'ping');
    const [host = '', port = ''] = fixedAddr.split(/:(?=\d+$)/);
    assert.equal((await exchange(net.connect({ host, port: Number(port) }), 'fixed')).toString(), 'fixed', 'fixed listener: PERMISSIVE passes');

    mesh.view.set(withPolicies([{ name: 'default', mode: 'STRICT' }]));
    const r = await done;
    assert.equal(r.data.toString(), 'ping', 'what was echoed before the change arrived; then the close');
    const rec = await eventually(() => must(mesh.records.find((x) => x.srcAddr === `${outsider}:40002`)));
    assert.equal(rec.failure, 'L4_POLICY_LATE_REJECTION');
    assert.match(rec.error ?? '', /STRICT by default\/default/);
    assert.equal((await viaProxy(web, 9080, 'new')).data, '', 'new connections are refused');
  });

  it('refuses malformed headers and foreign destinations with stable codes', async () => {
    const bad = async (header: Buffer, code: string, reason?: RegExp): Promise<void> => {
      const before = mesh.records.length;
      assert.equal((await viaProxy(web, 9080, 'x', header)).data, '');
      const rec = await eventually(() => must(mesh.records.slice(before).find((x) => x.failure !== undefined)));
      assert.equal(rec.failure, code);
      if (reason) assert.match(rec.error ?? '', reason);
    };
    await bad(Buffer.from('PROXY TCP4 127.0.0.1 127.0.0.2 1 2\r\n'), 'PROXY_PROTOCOL_INVALID', /^BAD_SIGNATURE/);
    const v3 = encodeProxyV2({ sourceIp: outsider, sourcePort: 1, destIp: web.ip, destPort: 9080 });
    v3[12] = 0x31;
    await bad(v3, 'PROXY_PROTOCOL_INVALID', /^BAD_VERSION/);
    await bad(encodeProxyV2('LOCAL'), 'PROXY_PROTOCOL_INVALID', /LOCAL/);
    await bad(encodeProxyV2({ sourceIp: outsider, sourcePort: 1, destIp: db.ip, destPort: 9080 }), 'PROXY_DESTINATION_MISMATCH');
    // A header cut short, then the client's end: closed before a complete header.
    await bad(encodeProxyV2({ sourceIp: outsider, sourcePort: 1, destIp: web.ip, destPort: 9080 }).subarray(0, 20), 'PROXY_PROTOCOL_INVALID', /^CLOSED/);
    assert.deepEqual(mesh.errors, []);
  });
});

describe('ztunnel re-checks open inbound connections when L4 policy changes', () => {
  let mesh: ZtunnelMesh;
  const apps: TestApp[] = [];
  before(async () => {
    apps.push(await startApp(web.ip, 9080, 'echo'), await startApp(db.ip, 9080, 'echo'));
    mesh = await startMesh(meshView(base), ['node-a', 'node-b']);
  });
  after(async () => {
    await mesh.close();
    await Promise.all(apps.map((a) => a.close()));
  });

  it('closes the HBONE connections a new DENY policy matches and keeps the others', async () => {
    const toWeb = await mesh.socks(sleep, web.ip, 9080);
    const toDb = await mesh.socks(sleep, db.ip, 9080);
    const webDone = readAll(toWeb);
    let echoed = '';
    toWeb.on('data', (c: Buffer) => (echoed += c.toString()));
    toWeb.write('one');
    await eventually(() => echoed === 'one');
    const deny = l4Policy({ name: 'no-sleep', action: 'DENY', selector: { app: 'web' }, matches: [{ principals: ['cluster.local/ns/default/sa/sleep'] }] });
    mesh.view.set(meshView({ ...base, policies: [deny], generation: 2 }));
    const r = await webDone;
    assert.equal(r.data.toString(), 'one');
    const rec = await eventually(() => must(mesh.records.find((x) => x.direction === 'inbound' && x.failure === 'L4_POLICY_LATE_REJECTION')));
    assert.equal(rec.dstWorkload, 'web-1');
    assert.equal(rec.responseFlag, 'DENY');
    assert.match(rec.error ?? '', /default\/no-sleep/);
    // The connection to db is not touched by a policy selecting web.
    assert.equal((await exchange(toDb, 'still here')).toString(), 'still here');
  });

  it('leaves open connections alone when the view changes but the policies do not', async () => {
    const deny = l4Policy({ name: 'no-sleep', action: 'DENY', selector: { app: 'web' }, matches: [{ principals: ['cluster.local/ns/default/sa/sleep'] }] });
    mesh.view.set(meshView({ ...base, policies: [deny], generation: 3 }));
    const s = await mesh.socks(sleep, db.ip, 9080);
    const done = readAll(s);
    s.write('a');
    await eventually(() => apps[1]?.connections.some((c) => !c.closed && c.received === undefined));
    mesh.view.set(meshView({ ...base, policies: [deny], generation: 4 }));
    s.end('b');
    assert.equal((await done).data.toString(), 'ab');
  });
});
