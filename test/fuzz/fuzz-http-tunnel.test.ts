/** Short run of the HTTP-in-tunnel fuzz target through the local mesh (long run: scripts/fuzz.mjs). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { fuzzHttpTunnel } from './http-tunnel-fuzz.js';

describe('fuzz (short): HTTP inside HBONE tunnels', () => {
  let mesh: LocalMesh;
  before(async () => {
    mesh = await startLocalMesh({ waypointHttpLimits: { requestHeadersTimeoutMs: 1000 } });
  });
  after(async () => {
    await mesh?.close();
  });

  it('120 mutated requests: well-formed answers or a close, and the waypoint keeps serving', async () => {
    const r = await fuzzHttpTunnel(mesh, 7, 120, 4, 1500);
    assert.deepEqual(r.findings.slice(0, 3), []);
  });
});
