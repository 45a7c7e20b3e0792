import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';
import { accessLogFormatFor, followAccessLogPolicy } from '../../src/telemetry/access-log-policy.js';
import type { AccessLogFormat } from '../../src/telemetry/access-log.js';
import { telemetryYaml, waypointTargetRefs } from '../helpers/mesh-fixtures.js';
import { snapshotFromYaml, type YamlSnapshot } from '../helpers/yaml-snapshot.js';

const WP = { namespace: 'apps', name: 'waypoint' };

const MESH = `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |
    extensionProviders:
      - name: json-log
        envoyFileAccessLog:
          path: /dev/stdout
          logFormat:
            labels:
              method: "%REQ(:METHOD)%"
      - name: text-log
        envoyFileAccessLog:
          path: /dev/stdout
      - name: otel
        opentelemetry:
          service: collector
          port: 4317
`;

const telemetry = telemetryYaml;

const snapshot = (...docs: string[]): YamlSnapshot => snapshotFromYaml([['t.yaml', docs.join('---\n')]]);

const GATEWAY_TARGET = waypointTargetRefs();

describe('Telemetry accessLogging → access-log format', () => {
  it('reads envoyFileAccessLog providers from the mesh config (labels = JSON)', () => {
    const { snapshot: s, diagnostics } = snapshot(MESH);
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(s.mesh.accessLogProviders, { 'json-log': 'json', 'text-log': 'text' });
  });

  it('translates targetRefs, disabled and provider names', () => {
    const { snapshot: s, diagnostics } = snapshot(telemetry('t', 'apps', `${GATEWAY_TARGET}  accessLogging:
    - providers:
        - name: json-log
      disabled: false`));
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(s.telemetries?.map((t) => ({ targets: t.targets, accessLogging: t.accessLogging })), [
      { targets: [{ kind: 'Gateway', name: 'waypoint' }], accessLogging: { disabled: false, providers: ['json-log'] } },
    ]);
  });

  it('warns and skips a selector (sidecars); reads custom tags', () => {
    const { snapshot: s, diagnostics } = snapshot(
      telemetry('sel', 'apps', `  selector:
    matchLabels:
      app: x
  accessLogging:
    - disabled: true`),
      telemetry('tr', 'apps', `  metrics:
    - overrides: []
  tracing:
    - randomSamplingPercentage: 10
      customTags:
        team: {literal: {value: a}}
  accessLogging:
    - disabled: true`),
    );
    assert.equal(s.telemetries?.length, 1);
    assert.equal(s.telemetries?.[0]?.tracing?.randomSamplingPercentage, 10);
    // metrics with no overrides is set (it inherits nothing) and says nothing: no diagnostic.
    assert.deepEqual(s.telemetries?.[0]?.metricOverrides, []);
    assert.deepEqual(diagnostics.map((d) => [d.code, d.field]), [['UNSUPPORTED', 'spec.selector']]);
    assert.deepEqual(s.telemetries?.[0]?.tracing?.customTags, { team: { kind: 'literal', value: 'a' } });
  });

  it('is undefined without Telemetry; the built-in envoy provider is text', () => {
    assert.equal(accessLogFormatFor(snapshot(MESH).snapshot, WP), undefined);
    assert.equal(accessLogFormatFor(snapshot(telemetry('t', 'istio-system', '  accessLogging:\n    - {}')).snapshot, WP), 'text');
  });

  it('prefers the Gateway target over the namespace over the root namespace', () => {
    const root = telemetry('mesh-default', 'istio-system', '  accessLogging:\n    - disabled: true');
    const ns = telemetry('ns', 'apps', '  accessLogging:\n    - providers:\n        - name: text-log');
    const gw = telemetry('gw', 'apps', `${GATEWAY_TARGET}  accessLogging:\n    - providers:\n        - name: json-log`);
    assert.equal(accessLogFormatFor(snapshot(MESH, root).snapshot, WP), 'off');
    assert.equal(accessLogFormatFor(snapshot(MESH, root, ns).snapshot, WP), 'text');
    assert.equal(accessLogFormatFor(snapshot(MESH, root, ns, gw).snapshot, WP), 'json');
    // Another waypoint in the same namespace is not targeted by gw.
    assert.equal(accessLogFormatFor(snapshot(MESH, root, ns, gw).snapshot, { namespace: 'apps', name: 'other' }), 'text');
    // Another namespace gets only the mesh-wide one.
    assert.equal(accessLogFormatFor(snapshot(MESH, root, ns, gw).snapshot, { namespace: 'web', name: 'waypoint' }), 'off');
  });

  it('skips an entry whose providers the mesh does not know', () => {
    const unknown = telemetry('gw', 'apps', `${GATEWAY_TARGET}  accessLogging:\n    - providers:\n        - name: nope`);
    const root = telemetry('mesh-default', 'istio-system', '  accessLogging:\n    - providers:\n        - name: json-log');
    assert.equal(accessLogFormatFor(snapshot(MESH, unknown, root).snapshot, WP), 'json');
  });

  it('follows view changes, back to the flag when the Telemetry goes away', () => {
    let listener: ((v: MeshView) => void) | undefined;
    let current = new MeshView(snapshot(MESH, telemetry('t', 'apps', '  accessLogging:\n    - disabled: true')).snapshot);
    const view: ViewSource = { current: () => current, onChange: (l) => ((listener = l), () => (listener = undefined)) };
    const formats: AccessLogFormat[] = [];
    const stop = followAccessLogPolicy(view, WP, { setFormat: (f) => void formats.push(f) }, 'json');
    current = new MeshView(snapshot(MESH).snapshot);
    listener?.(current);
    stop();
    assert.equal(listener, undefined);
    assert.deepEqual(formats, ['off', 'json']);
  });
});
