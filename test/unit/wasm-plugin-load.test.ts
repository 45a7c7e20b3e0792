/**
 * A plugin whose module could not be fetched or compiled is tried again with backoff, and
 * becomes ready once a load succeeds (not stuck failed until its WasmPlugin changes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTINUE, respond } from '../../src/filter/api.js';
import type { CompileResult } from '../../src/wasm/compiled-plugin.js';
import { compilePlugin } from '../../src/wasm/compiled-plugin.js';
import { PluginHandle } from '../../src/wasm/plugin-handle.js';
import { eventually } from '../helpers/eventually.js';
import type { LogLine } from '../helpers/wasm-modules.js';
import { compatPath, readModule, vmSettings } from '../helpers/wasm-modules.js';

const FAILED = respond({ status: 503, details: 'wasm_fail_stream' });

describe('plugin module load retries', () => {
  it('a failed fetch is retried with a growing delay; the plugin turns ready when a load succeeds', async () => {
    const logs: LogLine[] = [];
    const attemptsAt: number[] = [];
    const load = (): Promise<CompileResult> => {
      attemptsAt.push(Date.now());
      if (attemptsAt.length <= 2) return Promise.reject(new Error('registry unavailable'));
      return Promise.resolve(compilePlugin(readModule(compatPath('rust'))));
    };
    const h = new PluginHandle(vmSettings({}, logs), load, Date.now, 20);
    await h.loaded();
    assert.equal(h.state(), 'failed', 'the first load failed: the fail strategy applies meanwhile');
    assert.equal(h.openStream(FAILED), undefined);
    await eventually(() => assert.equal(h.state(), 'ready'));
    assert.equal(h.loadsAttempted, 3);
    const gap1 = (attemptsAt[1] as number) - (attemptsAt[0] as number);
    const gap2 = (attemptsAt[2] as number) - (attemptsAt[1] as number);
    assert.ok(gap1 >= 15 && gap2 >= 35, `backoff doubles (gaps ${gap1} ms, ${gap2} ms)`);
    assert.ok(h.openStream(CONTINUE), 'streams open on the loaded module');
    assert.ok(logs.some((l) => /registry unavailable \(trying again in 20 ms\)/.test(l.message)));
    h.close();
  });

  it('a fixed load result is not retried; close stops pending retries', async () => {
    const fixed = new PluginHandle(vmSettings(), Promise.resolve<CompileResult>({ ok: false, error: 'bad module' }), Date.now, 5);
    await fixed.loaded();
    assert.equal(fixed.state(), 'failed');
    assert.equal(fixed.loadsAttempted, 1);
    let calls = 0;
    const failing = new PluginHandle(vmSettings(), () => (calls++, Promise.reject(new Error('down'))), Date.now, 30);
    await failing.loaded();
    failing.close();
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(calls, 1, 'no retry after close');
  });
});
