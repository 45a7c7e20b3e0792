import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConcurrency } from '../../src/process/worker-cluster.js';
import { desiredProcesses } from '../../src/runner/desired-processes.js';
import type { MeshView } from '../../src/state/mesh-view.js';

describe('ambient up --concurrency', () => {
  const view = {
    snapshot: {
      workloads: new Map([
        ['a', { namespace: 'default', name: 'p', node: 'n1', protocol: 'HBONE', demoApp: { ports: [80] } }],
        ['b', { namespace: 'default', name: 'q', node: 'n2', protocol: 'HBONE' }],
      ]),
      waypoints: new Map([['w', { namespace: 'default', name: 'waypoint' }]]),
    },
  } as unknown as MeshView;

  it('reaches every waypoint and ztunnel, and no app', () => {
    const specs = desiredProcesses(view, { configDir: 'c', stateDir: 's', nodeAddress: () => '127.3.0.1', dataPlaneArgs: ['--concurrency', '2'] });
    assert.deepEqual(specs.map((p) => p.role).sort(), ['app', 'waypoint', 'ztunnel', 'ztunnel']);
    for (const p of specs) {
      const i = p.args.indexOf('--concurrency');
      if (p.role === 'app') assert.equal(i, -1, p.name);
      else assert.equal(p.args[i + 1], '2', p.name);
    }
  });

  it('adds nothing by default', () => {
    for (const p of desiredProcesses(view, { configDir: 'c', stateDir: 's', nodeAddress: () => '127.3.0.1' })) assert.ok(!p.args.includes('--concurrency'), p.name);
  });

  it('is validated like the roles validate it', () => {
    assert.equal(parseConcurrency(undefined), 1);
    assert.equal(parseConcurrency('4'), 4);
    for (const bad of ['0', '65', '1.5', 'x', '']) assert.equal(parseConcurrency(bad), undefined, bad);
  });
});
