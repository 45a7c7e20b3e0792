/**
 * PeerAuthentication: YAML → IR (scope, modes, portLevelMtls, validation) and the effective mode of
 * a workload port with Istio's precedence (workload > namespace > mesh; UNSET inherits; the oldest
 * policy of a level wins, then name, then namespace).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import type { PeerAuthnIR } from '../../src/config/ir-security.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';
import { effectiveMtlsMode } from '../../src/ztunnel/mtls-mode.js';
import { workload } from '../helpers/mesh-builders.js';

function build(yaml: string): { peerAuthns: readonly PeerAuthnIR[]; diagnostics: Diagnostic[] } {
  const t = translateFile('pa.yaml', yaml, { localRanges: true });
  const objects: TranslatedObject[] = [];
  for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
  const b = buildSnapshot(objects, 1);
  return { peerAuthns: b.snapshot.peerAuthns ?? [], diagnostics: [...t.diagnostics, ...b.diagnostics] };
}

function pa(ns: string, name: string, spec: string, created?: string): string {
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ${name}
  namespace: ${ns}
${created ? `  creationTimestamp: "${created}"\n` : ''}spec:
${spec}
---
`;
}

const app = workload({ name: 'app-1', namespace: 'apps', ip: '127.1.0.10', node: 'n', labels: { app: 'web' } });
const other = workload({ name: 'other-1', namespace: 'other', ip: '127.1.0.11', node: 'n', labels: { app: 'web' } });

describe('PeerAuthentication translation', () => {
  it('reads mesh, namespace and selector scopes, modes and port-level modes', () => {
    const r = build(
      pa('istio-system', 'default', '  mtls:\n    mode: STRICT') +
        pa('apps', 'ns', '  mtls: {}') +
        pa('apps', 'web', '  selector:\n    matchLabels:\n      app: web\n  mtls:\n    mode: PERMISSIVE\n  portLevelMtls:\n    8080:\n      mode: DISABLE\n    "9090":\n      mode: UNSET'),
    );
    assert.deepEqual(r.diagnostics, []);
    const byName = new Map(r.peerAuthns.map((p) => [p.name, p]));
    assert.deepEqual(byName.get('default')?.scope, { kind: 'mesh' });
    assert.equal(byName.get('default')?.mode, 'STRICT');
    assert.deepEqual(byName.get('ns')?.scope, { kind: 'namespace' });
    assert.equal(byName.get('ns')?.mode, 'UNSET');
    assert.deepEqual(byName.get('web')?.scope, { kind: 'selector', matchLabels: { app: 'web' } });
    assert.deepEqual(byName.get('web')?.portLevel, { 8080: 'DISABLE', 9090: 'UNSET' });
  });

  it('rejects a bad mode, a bad port and portLevelMtls without a selector', () => {
    const bad = build(pa('apps', 'm', '  mtls:\n    mode: strict'));
    assert.equal(bad.peerAuthns.length, 0);
    assert.equal(bad.diagnostics[0]?.code, 'FIELD_INVALID');
    assert.equal(bad.diagnostics[0]?.field, 'spec.mtls.mode');
    const port = build(pa('apps', 'p', '  selector:\n    matchLabels: {app: web}\n  portLevelMtls:\n    "0":\n      mode: STRICT'));
    assert.equal(port.peerAuthns.length, 0);
    assert.match(port.diagnostics[0]?.message ?? '', /1\.\.65535/);
    const nsPorts = build(pa('apps', 'q', '  portLevelMtls:\n    8080:\n      mode: STRICT'));
    assert.equal(nsPorts.peerAuthns.length, 0);
    assert.match(nsPorts.diagnostics[0]?.message ?? '', /cannot have portLevelMtls/);
  });

  it('ignores a selector policy in the root namespace, with a warning', () => {
    const r = build(pa('istio-system', 'sel', '  selector:\n    matchLabels: {app: web}\n  mtls:\n    mode: STRICT'));
    assert.equal(r.peerAuthns.length, 0);
    assert.equal(r.diagnostics[0]?.code, 'UNSUPPORTED');
  });
});

describe('PeerAuthentication precedence', () => {
  const modeOf = (yaml: string, w = app, port = 80): string => effectiveMtlsMode(build(yaml).peerAuthns, w, port).mode;

  it('defaults to PERMISSIVE; mesh < namespace < workload', () => {
    assert.equal(modeOf(''), 'PERMISSIVE');
    const mesh = pa('istio-system', 'default', '  mtls:\n    mode: STRICT');
    assert.equal(modeOf(mesh), 'STRICT');
    const ns = pa('apps', 'default', '  mtls:\n    mode: PERMISSIVE');
    assert.equal(modeOf(mesh + ns), 'PERMISSIVE');
    assert.equal(modeOf(mesh + ns, other), 'STRICT', 'another namespace keeps the mesh mode');
    const wl = pa('apps', 'web', '  selector:\n    matchLabels: {app: web}\n  mtls:\n    mode: STRICT');
    assert.equal(modeOf(mesh + ns + wl), 'STRICT');
    assert.equal(modeOf(ns + wl, other), 'PERMISSIVE', 'a selector only selects in its namespace');
  });

  it('UNSET inherits at every level; a port-level mode overrides, port-level UNSET inherits', () => {
    const mesh = pa('istio-system', 'default', '  mtls:\n    mode: STRICT');
    const nsUnset = pa('apps', 'default', '  mtls:\n    mode: UNSET');
    const wl = pa('apps', 'web', '  selector:\n    matchLabels: {app: web}\n  portLevelMtls:\n    8080:\n      mode: DISABLE\n    9090:\n      mode: UNSET');
    assert.equal(modeOf(mesh + nsUnset + wl, app, 80), 'STRICT');
    assert.equal(modeOf(mesh + nsUnset + wl, app, 8080), 'DISABLE');
    assert.equal(modeOf(mesh + nsUnset + wl, app, 9090), 'STRICT');
    const wlStrict = pa('apps', 'web', '  selector:\n    matchLabels: {app: web}\n  mtls:\n    mode: STRICT\n  portLevelMtls:\n    8080:\n      mode: PERMISSIVE');
    assert.equal(modeOf(wlStrict, app, 8080), 'PERMISSIVE');
    assert.equal(modeOf(wlStrict, app, 8081), 'STRICT');
    assert.equal(modeOf(pa('istio-system', 'default', '  mtls:\n    mode: UNSET')), 'PERMISSIVE', 'an unset mesh level is PERMISSIVE');
  });

  it('among policies of one level the oldest wins, then the name', () => {
    const newer = pa('apps', 'a-new', '  mtls:\n    mode: STRICT', '2024-05-02T00:00:00Z');
    const older = pa('apps', 'z-old', '  mtls:\n    mode: PERMISSIVE', '2024-05-01T00:00:00Z');
    assert.equal(modeOf(newer + older), 'PERMISSIVE');
    assert.equal(modeOf(older + newer), 'PERMISSIVE', 'file order does not matter');
    const sameTimeA = pa('apps', 'a', '  mtls:\n    mode: STRICT', '2024-05-01T00:00:00Z');
    const sameTimeB = pa('apps', 'b', '  mtls:\n    mode: PERMISSIVE', '2024-05-01T00:00:00Z');
    assert.equal(modeOf(sameTimeB + sameTimeA), 'STRICT', 'equal times: name order');
    const wlNew = pa('apps', 'w1', '  selector:\n    matchLabels: {app: web}\n  mtls:\n    mode: STRICT', '2024-06-01T00:00:00Z');
    const wlOld = pa('apps', 'w2', '  selector:\n    matchLabels: {app: web}\n  mtls:\n    mode: DISABLE', '2024-01-01T00:00:00Z');
    assert.equal(modeOf(wlNew + wlOld), 'DISABLE');
    const decision = effectiveMtlsMode(build(wlNew + wlOld).peerAuthns, app, 80);
    assert.equal(decision.policy, 'apps/w2');
  });
});

describe('--inbound-fixed', () => {
  it('parses <ip>:<port>=<ns/pod or podIP>:<port> and rejects the rest with a clear message', async () => {
    const { parseFixedInbound } = await import('../../src/ztunnel/fixed-inbound.js');
    assert.deepEqual(parseFixedInbound('127.0.0.1:18090=default/reviews-v1:9080'), {
      ok: true,
      value: { listenHost: '127.0.0.1', listenPort: 18090, pod: 'default/reviews-v1', port: 9080 },
    });
    assert.equal(parseFixedInbound('127.0.0.1:0=127.1.0.9:80').ok, true);
    for (const bad of ['127.0.0.1:18090', 'localhost:1=default/a:80', '127.0.0.1:1=default/a:0', '127.0.0.1:1=a:80']) {
      const r = parseFixedInbound(bad);
      assert.equal(r.ok, false, bad);
      if (!r.ok) assert.match(r.message, /^--inbound-fixed /);
    }
  });
});
