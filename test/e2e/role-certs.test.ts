/**
 * `ambient waypoint --certs DIR`: the role serves the certificate it was given as PEM files
 * (as when istio-agent, cert-manager or a CSI driver writes them) instead of the local CA's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import tls from 'node:tls';
import { describe, it } from 'node:test';
import { serialOf } from '../../src/identity/local-ca.js';
import { allocateBlock } from '../helpers/addresses.js';
import { relocatedConfig, REPO_ROOT } from '../helpers/relocated-config.js';
import { createTestCa } from '../helpers/test-ca.js';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');

describe('roles with certificates from PEM files', () => {
  it('the waypoint presents the certificate from --certs', async () => {
    const block = allocateBlock();
    const config = relocatedConfig(block);
    const ca = await createTestCa();
    const certs = mkdtempSync(path.join(os.tmpdir(), 'ambient-certs-'));
    const wpId = ca.id('default', 'waypoint');
    const wp = await ca.issue(wpId);
    mkdirSync(path.join(certs, 'default', 'waypoint'), { recursive: true });
    writeFileSync(path.join(certs, 'root-cert.pem'), ca.rootsPem.join(''));
    writeFileSync(path.join(certs, 'default', 'waypoint', 'cert-chain.pem'), wp.certChainPem);
    writeFileSync(path.join(certs, 'default', 'waypoint', 'key.pem'), wp.keyPem);
    const child = spawn(process.execPath, [CLI, 'waypoint', '--gateway', 'default/waypoint', '--config', config.dir, '--certs', certs, '--quiet'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('waypoint not ready')), 20_000);
        readline.createInterface({ input: child.stderr }).on('line', (l) => {
          if (l.includes('ready on')) {
            clearTimeout(t);
            resolve();
          }
        });
        child.on('exit', (code) => reject(new Error(`waypoint exited ${code}`)));
      });
      const client = await ca.issue(ca.id('default', 'sleep'));
      const serial = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({
          host: block.waypoint(1),
          port: 15008,
          ca: ca.rootsPem,
          cert: client.certChainPem,
          key: client.keyPem,
          ALPNProtocols: ['h2'],
          minVersion: 'TLSv1.3',
          checkServerIdentity: () => undefined,
        });
        s.once('secureConnect', () => {
          const sn = s.getPeerCertificate().serialNumber;
          s.destroy();
          resolve(sn);
        });
        s.once('error', reject);
      });
      assert.equal(serial.toUpperCase(), serialOf(wp.certChainPem).toUpperCase());
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      ca.close();
      config.remove();
      rmSync(certs, { recursive: true, force: true });
    }
  });
});
