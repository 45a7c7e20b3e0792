/** Istio 1.31 canary waypoint binding (istiod's ambient/waypoints.go rules) from YAML to IR. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Diagnostic } from '../../src/config/diagnostics.js';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import type { Snapshot } from '../../src/config/ir.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';
import { MeshView } from '../../src/state/mesh-view.js';
import { planOutbound } from '../../src/ztunnel/outbound.js';

function build(yaml: string): { snapshot: Snapshot; diagnostics: Diagnostic[] } {
  const t = translateFile('mesh.yaml', yaml, { localRanges: true });
  const objects: TranslatedObject[] = [];
  for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
  const b = buildSnapshot(objects, 1);
  return { snapshot: b.snapshot, diagnostics: [...t.diagnostics, ...b.diagnostics] };
}

const meta = (labels: Record<string, string>, annotations: Record<string, string>): string =>
  `  labels: ${JSON.stringify(labels)}\n  annotations: ${JSON.stringify(annotations)}`;

const ns = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): string => `
apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
${meta(labels, annotations)}
---`;

const waypoint = (name: string, namespace: string, ip: string, waypointFor = 'service'): string => `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: {istio.io/waypoint-for: ${waypointFor}}
spec:
  gatewayClassName: istio-waypoint
  addresses: [{type: IPAddress, value: ${ip}}]
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
---`;

const service = (name: string, namespace: string, vip: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): string => `
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
${meta(labels, annotations)}
spec:
  clusterIP: ${vip}
  selector: {app: ${name}}
  ports: [{name: http, port: 80, targetPort: 8080}]
---`;

const WPS = `${waypoint('wp', 'a', '127.2.0.1')}${waypoint('wp2', 'a', '127.2.0.2')}${waypoint('wl', 'a', '127.2.0.3', 'workload')}${waypoint('far', 'infra', '127.2.0.4')}`;
const CANARY = 'istio.io/use-waypoint-canary';
const WEIGHT = 'istio.io/use-waypoint-canary-weight';

describe('waypoint canary binding', () => {
  it('Service labels and annotation; the weight defaults to 0; -namespace reaches another namespace', () => {
    const { snapshot, diagnostics } = build(
      WPS +
        service('s1', 'a', '127.100.0.1', { 'istio.io/use-waypoint': 'wp', [CANARY]: 'wp2' }, { [WEIGHT]: '25' }) +
        service('s2', 'a', '127.100.0.2', { 'istio.io/use-waypoint': 'wp', [CANARY]: 'wp2' }) +
        service('s3', 'a', '127.100.0.3', { 'istio.io/use-waypoint': 'wp', [CANARY]: 'far', 'istio.io/use-waypoint-canary-namespace': 'infra' }, { [WEIGHT]: '+7' }),
    );
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(snapshot.services.get('a/s1')?.waypointCanary, { waypoint: { namespace: 'a', name: 'wp2' }, weight: 25 });
    assert.deepEqual(snapshot.services.get('a/s2')?.waypointCanary, { waypoint: { namespace: 'a', name: 'wp2' }, weight: 0 });
    assert.deepEqual(snapshot.services.get('a/s3')?.waypointCanary, { waypoint: { namespace: 'infra', name: 'far' }, weight: 7 });
  });

  it('the Namespace canary applies only to Services inheriting the Namespace primary', () => {
    const { snapshot, diagnostics } = build(
      ns('a', { 'istio.io/use-waypoint': 'wp', [CANARY]: 'wp2' }, { [WEIGHT]: '40' }) +
        WPS +
        service('inherits', 'a', '127.100.0.1') +
        service('own-primary', 'a', '127.100.0.2', { 'istio.io/use-waypoint': 'wp' }) +
        service('own-weight', 'a', '127.100.0.3', {}, { [WEIGHT]: '60' }),
    );
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(snapshot.services.get('a/inherits')?.waypointCanary, { waypoint: { namespace: 'a', name: 'wp2' }, weight: 40 });
    assert.equal(snapshot.services.get('a/own-primary')?.waypointCanary, undefined);
    assert.equal(snapshot.services.get('a/own-weight')?.waypointCanary?.weight, 60);
  });

  for (const [what, labels, annotations, code] of [
    ['a weight over 100', { [CANARY]: 'wp2' }, { [WEIGHT]: '101' }, 'FIELD_INVALID'],
    ['a weight that is not an integer', { [CANARY]: 'wp2' }, { [WEIGHT]: '10%' }, 'FIELD_INVALID'],
    ['the canary is the primary', { [CANARY]: 'wp' }, { [WEIGHT]: '10' }, 'FIELD_INVALID'],
    ['a missing canary', { [CANARY]: 'ghost' }, { [WEIGHT]: '10' }, 'REF_NOT_FOUND'],
    ['a canary for workload traffic only', { [CANARY]: 'wl' }, { [WEIGHT]: '10' }, 'FIELD_INVALID'],
  ] as const) {
    it(`${what}: warning, primary only`, () => {
      const { snapshot, diagnostics } = build(WPS + service('s', 'a', '127.100.0.1', { 'istio.io/use-waypoint': 'wp', ...labels }, annotations));
      const s = snapshot.services.get('a/s');
      assert.deepEqual(s?.waypoint, { namespace: 'a', name: 'wp' });
      assert.equal(s?.waypointCanary, undefined);
      assert.deepEqual(diagnostics.map((d) => [d.severity, d.code]), [['warning', code]]);
      assert.match(diagnostics[0]?.message ?? '', /all connections use the primary waypoint a\/wp/);
    });
  }

  it('no primary: the canary labels alone bind nothing', () => {
    const { snapshot } = build(WPS + service('s', 'a', '127.100.0.1', { [CANARY]: 'wp2' }, { [WEIGHT]: '50' }));
    assert.equal(snapshot.services.get('a/s')?.waypoint, undefined);
    assert.equal(snapshot.services.get('a/s')?.waypointCanary, undefined);
  });

  it('planOutbound draws by weight: the draw below the primary weight is the primary, the rest the canary', () => {
    const { snapshot } = build(
      ns('a', { 'istio.io/dataplane-mode': 'ambient' }) + WPS + service('s', 'a', '127.100.0.1', { 'istio.io/use-waypoint': 'wp', [CANARY]: 'wp2' }, { [WEIGHT]: '30' }),
    );
    const view = new MeshView(snapshot);
    const source = { ...[...snapshot.waypoints.values()][0], uid: 'x', ip: '127.1.0.9', node: 'n', labels: {}, protocol: 'HBONE', containerPorts: [], canonicalName: 'x', canonicalRevision: 'x', workloadName: 'x' } as never;
    const target = { host: '127.100.0.1', port: 80, isIp: true };
    const drawn = (r: number): string | undefined => {
      const p = planOutbound(view, source, target, () => 0, (n) => (assert.equal(n, 100), r));
      return p.kind === 'waypoint' ? `${p.waypoint.name}:${p.role}:${p.address}` : p.kind;
    };
    assert.equal(drawn(0), 'wp:primary:127.2.0.1');
    assert.equal(drawn(69), 'wp:primary:127.2.0.1');
    assert.equal(drawn(70), 'wp2:canary:127.2.0.2');
    assert.equal(drawn(99), 'wp2:canary:127.2.0.2');
    assert.equal(view.frontedBy(snapshot.services.get('a/s') as never, { namespace: 'a', name: 'wp2' }), true);
    assert.deepEqual(view.servicesOfWaypoint(snapshot.waypoints.get('a/wp2') as never).map((s) => s.name), ['s']);
  });
});
