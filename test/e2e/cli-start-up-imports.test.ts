/**
 * What a role loads at start is its memory at rest (docs/performance.md, "Session 5: memory"): the
 * CLI imports only the command it runs, a ztunnel loads none of the waypoint's code, and no role
 * loads a control-plane client (Kubernetes, gRPC), undici or re2js before its config asks for one.
 * A resolve hook preloaded into the real `ambient` process records every module it resolves; an
 * unknown flag makes the command exit right after its module graph has loaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/relocated-config.js';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli.js');
const HOOK = `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); appendFileSync(process.env.LOADED_LOG, r.url + '\\n'); return r; } });
process.on('exit', () => appendFileSync(process.env.LOADED_LOG + '.builtins', process.moduleLoadList.join('\\n')));
`;
const CONTROL_PLANE_AND_LAZY = ['@kubernetes/client-node', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'undici', 're2js', '@assemblyscript/loader'];

describe('start-up imports of each command', () => {
  let dir: string;
  let hook: string;
  let n = 0;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cli-imports-'));
    hook = path.join(dir, 'record-resolve.mjs');
    writeFileSync(hook, HOOK);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `ambient ARGS`; returns the exit code and the repo-relative files and package names it resolved. */
  function run(args: string[]): { code: number | null; files: Set<string>; packages: Set<string>; builtins: Set<string> } {
    const log = path.join(dir, `loaded-${n++}.txt`);
    writeFileSync(log, '');
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, CLI, ...args], { env: { ...process.env, LOADED_LOG: log }, encoding: 'utf8', timeout: 60_000 });
    const root = pathToFileURL(REPO_ROOT).href + '/';
    const files = new Set<string>();
    const packages = new Set<string>();
    for (const url of readFileSync(log, 'utf8').split('\n')) {
      if (!url.startsWith(root)) continue;
      const rel = url.slice(root.length);
      const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(rel);
      if (pkg?.[1]) packages.add(pkg[1]);
      else files.add(rel);
    }
    const builtins = new Set(readFileSync(`${log}.builtins`, 'utf8').split('\n').filter((l) => l.startsWith('NativeModule ')).map((l) => l.slice('NativeModule '.length)));
    return { code: r.status, files, packages, builtins };
  }

  it('`ambient version` loads no command module and no package', () => {
    const r = run(['version']);
    assert.equal(r.code, 0);
    assert.deepEqual([...r.files].filter((f) => f.startsWith('dist/src/commands/') && f !== 'dist/src/commands/usage-error.js'), []);
    assert.deepEqual([...r.packages], []);
  });

  it('a ztunnel loads its own command, none of the waypoint, and no lazy client', () => {
    const r = run(['ztunnel', '--no-such-flag']);
    assert.equal(r.code, 2);
    assert.ok(r.files.has('dist/src/commands/ztunnel.js'), 'the ztunnel command module is what ran');
    const foreign = [...r.files].filter((f) => /^dist\/src\/commands\/(waypoint|up|app|curl|validate)\.js$|^dist\/src\/(waypoint|filters|wasm)\/|^dist\/filters\//.test(f));
    assert.deepEqual(foreign, []);
    assert.deepEqual([...r.packages].filter((p) => CONTROL_PLANE_AND_LAZY.includes(p) || p === 'jose'), []);
  });

  it('a waypoint loads no control-plane client, undici or re2js before its config asks', () => {
    const r = run(['waypoint', '--no-such-flag']);
    assert.equal(r.code, 2);
    assert.ok(r.files.has('dist/src/commands/waypoint.js'));
    assert.ok(!r.files.has('dist/src/commands/ztunnel.js'));
    assert.deepEqual([...r.packages].filter((p) => CONTROL_PLANE_AND_LAZY.includes(p)), []);
  });

  // An ESM import of node:http anywhere in the process evaluates its facade, whose lazy
  // `WebSocket` getter loads Node's bundled undici (and ~85 other built-ins); the roles take
  // built-ins from process.getBuiltinModule (scripts/codemod-builtins.mjs, eslint.config.js).
  for (const role of ['ztunnel', 'waypoint']) {
    it(`a ${role} loads no built-in through an ESM facade (no bundled undici)`, () => {
      const r = run([role, '--no-such-flag']);
      assert.equal(r.code, 2);
      assert.ok(r.builtins.has('http2'), 'the load list was recorded');
      assert.deepEqual([...r.builtins].filter((b) => b.startsWith('internal/deps/undici/')), []);
    });
  }
});
