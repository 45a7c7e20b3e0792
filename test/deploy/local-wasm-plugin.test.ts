/**
 * deploy/local/wasm-plugin answers as its README says: with the header-editing sample that
 * `npm run build` builds at the WasmPlugin's file:// url, `ambient curl --from sleep
 * http://httpbin:8000/headers` shows the header the plugin added to the request (in the echo's
 * report) and to the response.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { EchoReport } from '../../src/apps/echo-server.js';
import { validateDir } from '../../src/config/validate-dir.js';
import { startLocalMesh } from '../helpers/local-mesh.js';
import { DEPLOY_DIR } from './manifests.js';

const EXAMPLE_DIR = path.join(DEPLOY_DIR, 'local', 'wasm-plugin');
const PLUGIN_FILE = '40-wasm-plugin.yaml';
/** The url the example ships with: the header-editing sample as `npm run build` leaves it, relative to the example. */
const SHIPPED_URL = 'file://../../../dist/wasm/plugins/header-edit.wasm';

describe('deploy/local/wasm-plugin: a WasmPlugin at the waypoint on the local mesh', () => {
  it('the header-editing sample edits the request and the response', async () => {
    const validation = await validateDir(EXAMPLE_DIR);
    assert.deepEqual(validation.diagnostics.filter((d) => d.severity === 'error'), []);
    const text = readFileSync(path.join(EXAMPLE_DIR, PLUGIN_FILE), 'utf8');
    assert.ok(text.includes(SHIPPED_URL), `the example loads ${SHIPPED_URL}`);
    const sample = path.resolve(EXAMPLE_DIR, SHIPPED_URL.slice('file://'.length));
    assert.ok(existsSync(sample), `${sample} is built by npm run build`);
    // The mesh runs from a relocated copy of the example, so the url is made absolute there.
    const mesh = await startLocalMesh({
      configDir: EXAMPLE_DIR,
      extraFiles: { [PLUGIN_FILE]: text.replace(SHIPPED_URL, `file://${sample}`) },
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
    }
  });
});
