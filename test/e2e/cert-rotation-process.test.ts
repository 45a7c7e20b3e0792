/**
 * `ambient ztunnel --cert-lifetime 4s --cert-refresh-fraction 0.5`, run as its own process: the
 * role's workload certificates live 4 s and are re-issued at half-life, so a new HBONE connection
 * to its pod presents a new certificate while a connection opened before keeps working with the
 * one it was established with (no connection is dropped by a rotation).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { eventually } from '../helpers/eventually.js';
import type { LocalMesh } from '../helpers/local-mesh.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import { startRole, type RoleProcess } from '../helpers/role-process.js';

interface Hbone {
  readonly socket: tls.TLSSocket;
  readonly session: http2.ClientHttp2Session;
  readonly serial: string;
  readonly lifetimeMs: number;
}

describe('certificate lifetime and rotation of a role process', () => {
  let mesh: LocalMesh;
  let role: RoleProcess;
  let podIp = '';
  const open: Hbone[] = [];

  /** An HBONE (mTLS, ALPN h2) connection to the pod as `sleep`: what the ztunnel presents. */
  async function connect(): Promise<Hbone> {
    const client = await mesh.ca.issue('spiffe://cluster.local/ns/default/sa/sleep');
    const socket = tls.connect({
      host: podIp,
      port: 15008,
      ALPNProtocols: ['h2'],
      cert: client.certChainPem,
      key: client.keyPem,
      ca: [mesh.ca.rootCertPem],
      checkServerIdentity: () => undefined,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', () => resolve());
      socket.once('error', reject);
    });
    const peer = socket.getPeerCertificate();
    const session = http2.connect(`https://${podIp}:15008`, { createConnection: () => socket });
    const conn = { socket, session, serial: peer.serialNumber, lifetimeMs: Date.parse(peer.valid_to) - Date.parse(peer.valid_from) };
    open.push(conn);
    return conn;
  }

  const ping = (s: http2.ClientHttp2Session): Promise<void> =>
    new Promise((resolve, reject) => {
      s.ping((err) => (err ? reject(err) : resolve()));
    });

  before(async () => {
    mesh = await startLocalMesh({ skipNodes: ['node-b'] });
    podIp = mesh.pod('default', 'reviews-v2').ip;
    const admin = mesh.block.node(8);
    role = await startRole(
      ['ztunnel', '--node', 'node-b', '--admin-address', admin, '--config', mesh.config.dir, '--state', mesh.stateDir, '--quiet', '--drain-ms', '500', '--cert-lifetime', '4s', '--cert-refresh-fraction', '0.5'],
      { host: admin, port: 15021 },
    );
  });

  after(async () => {
    for (const c of open) {
      c.session.destroy();
      c.socket.destroy();
    }
    await role?.stop();
    await mesh?.close();
  });

  it('re-issues at the refresh point; new connections get the new certificate, open ones continue', async () => {
    const first = await connect();
    // 4 s, plus the issuer's clock-skew allowance on notBefore (well under a minute).
    assert.ok(first.lifetimeMs >= 4000 && first.lifetimeMs < 4000 + 5 * 60_000, `lifetime ${first.lifetimeMs} ms`);
    const second = await eventually(async () => {
      const c = await connect();
      assert.notEqual(c.serial, first.serial, 'not re-issued yet');
      return c;
    }, 15_000, 250);
    assert.ok(second.lifetimeMs >= 4000);
    // The connection opened before the rotation is still up and answering.
    assert.equal(first.socket.destroyed, false);
    await ping(first.session);
    assert.equal(first.socket.getPeerCertificate().serialNumber, first.serial);
  });

  it('rejects a lifetime it cannot use, with a clear message', async () => {
    await assert.rejects(
      startRole(['ztunnel', '--node', 'node-b', '--admin-address', mesh.block.node(7), '--config', mesh.config.dir, '--state', mesh.stateDir, '--cert-lifetime', '10ms'], { host: mesh.block.node(7), port: 15021 }, 3000),
      /--cert-lifetime must be a duration of at least 1s/,
    );
  });
});
