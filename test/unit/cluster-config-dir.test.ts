/** Which files a role reads without `--config`: the demo mesh locally, nothing beside a control plane. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import { configDirFor } from '../../src/commands/cluster-config-dir.js';
import { DEFAULT_CONFIG_DIR } from '../../src/commands/defaults.js';
import { parseWaypointArgs } from '../../src/commands/waypoint-options.js';
import { ZTUNNEL_OPTIONS } from '../../src/commands/ztunnel.js';

describe('configDirFor', () => {
  it('an explicit --config wins; no control plane reads the demo mesh; a control plane reads an empty directory', () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'ambient-state-'));
    try {
      assert.equal(configDirFor('/etc/mesh', true, state), '/etc/mesh');
      assert.equal(configDirFor(undefined, false, state), DEFAULT_CONFIG_DIR);
      const empty = configDirFor(undefined, true, state);
      assert.ok(empty.startsWith(state));
      assert.ok(existsSync(empty));
      assert.deepEqual(readdirSync(empty), []);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('neither role defaults --config, so the choice is configDirFor’s', () => {
    assert.equal(parseArgs({ args: ['--node', 'n'], options: ZTUNNEL_OPTIONS }).values.config, undefined);
    assert.equal(parseWaypointArgs([]).config, undefined);
  });
});
