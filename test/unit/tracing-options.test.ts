import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTracing, tracingArgs } from '../../src/commands/tracing-options.js';
import { UsageError } from '../../src/commands/usage-error.js';
import { desiredProcesses } from '../../src/runner/desired-processes.js';
import type { MeshView } from '../../src/state/mesh-view.js';

describe('--tracing-endpoint / --tracing-sampling', () => {
  it('is off without an endpoint and defaults sampling to Istio’s 1%', () => {
    assert.equal(parseTracing(undefined, undefined), undefined);
    assert.deepEqual(parseTracing('http://127.0.0.1:4318', undefined), { endpoint: 'http://127.0.0.1:4318/', samplingPercent: 1 });
    assert.deepEqual(parseTracing('http://c:4318', '12.5'), { endpoint: 'http://c:4318/', samplingPercent: 12.5 });
  });

  it('rejects bad values as usage errors', () => {
    assert.throws(() => parseTracing('http://c', '101'), UsageError);
    assert.throws(() => parseTracing('http://c', ''), UsageError);
    assert.throws(() => parseTracing('http://c', 'x'), UsageError);
    assert.throws(() => parseTracing('not a url', undefined), UsageError);
    assert.throws(() => parseTracing('ftp://c', undefined), UsageError);
  });

  it('is passed by up to waypoints only', () => {
    const args = tracingArgs(parseTracing('http://c:4318', '5'));
    assert.deepEqual(args, ['--tracing-endpoint', 'http://c:4318/', '--tracing-sampling', '5']);
    const view = {
      snapshot: {
        workloads: new Map([['a', { namespace: 'default', name: 'p', node: 'n1', protocol: 'HBONE', demoApp: { ports: [80] } }]]),
        waypoints: new Map([['w', { namespace: 'default', name: 'waypoint' }]]),
      },
    } as unknown as MeshView;
    const specs = desiredProcesses(view, { configDir: 'c', stateDir: 's', nodeAddress: () => '127.3.0.1', waypointArgs: args });
    for (const p of specs) assert.equal(p.args.includes('--tracing-endpoint'), p.role === 'waypoint', p.name);
  });
});
