/**
 * deploy/local/wasm-plugin answers as its README says: with the header-editing sample at the
 * WasmPlugin's file:// url, `ambient curl --from sleep http://httpbin:8000/headers` shows the header
 * the plugin added to the request (in the echo's report) and to the response.
 *
 * The WasmPlugin host and the AssemblyScript samples are built by another piece of work (issue 6):
 * until the config validator knows the WasmPlugin kind, or while no header sample is built, this
 * test skips and says which of the two is missing.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { validateDir } from '../../src/config/validate-dir.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import { REPO_ROOT } from '../helpers/relocated-config.js';
import { DEPLOY_DIR } from './manifests.js';

const EXAMPLE_DIR = path.join(DEPLOY_DIR, 'local', 'wasm-plugin');
const PLUGIN_FILE = '40-wasm-plugin.yaml';
/** The url the example ships with (its README tells users to copy the sample there). */
const SHIPPED_URL = 'file:///tmp/ambient-wasm/add-header.wasm';

/** Built Wasm modules whose name says they edit headers, under dist/ and wasm/. */
function headerSamples(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (name === 'node_modules') continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.wasm') && /header/i.test(name)) found.push(p);
    }
  };
  walk(path.join(REPO_ROOT, 'dist'));
  walk(path.join(REPO_ROOT, 'wasm'));
  return found.sort();
}

describe('deploy/local/wasm-plugin: a WasmPlugin at the waypoint on the local mesh', () => {
  it('the header-editing sample edits the request and the response', async (t) => {
    const validation = await validateDir(EXAMPLE_DIR);
    const unknown = validation.diagnostics.find((d) => d.code === 'UNKNOWN_KIND' && d.kind === 'WasmPlugin');
    if (unknown) return t.skip(`WasmPlugin is not supported by the config validator yet (${unknown.message}); this example runs once the Wasm host lands`);
    assert.deepEqual(validation.diagnostics.filter((d) => d.severity === 'error'), []);
    const [sample] = headerSamples();
    if (!sample) return t.skip('no header-editing Wasm sample (*header*.wasm) is built under dist/ or wasm/ yet');

    const text = readFileSync(path.join(EXAMPLE_DIR, PLUGIN_FILE), 'utf8');
    assert.ok(text.includes(SHIPPED_URL), `the example loads ${SHIPPED_URL}`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ambient-wasm-'));
    copyFileSync(sample, path.join(dir, 'add-header.wasm'));
    const mesh = await startLocalMesh({
      configDir: EXAMPLE_DIR,
      extraFiles: { [PLUGIN_FILE]: text.replace(SHIPPED_URL, `file://${path.join(dir, 'add-header.wasm')}`) },
    });
    try {
      const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://httpbin:8000/headers');
      assert.equal(res.status, 200, res.body.toString());
      const report = res.json<EchoReport>();
      assert.equal(report.pod, 'default/httpbin');
      assert.equal(report.headers['x-wasm-example'], 'added-by-waypoint', 'the request header the plugin adds');
      assert.equal(res.headers['x-wasm-example'], 'added-by-waypoint', 'the response header the plugin adds');
    } finally {
      await mesh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
