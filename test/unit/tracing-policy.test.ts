/**
 * Which tracing a waypoint gets from a view: mesh config providers and defaults, Telemetry
 * levels merged field by field (Gateway target > namespace > root), flags as the last default.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tracingFor } from '../../src/telemetry/tracing-policy.js';
import { snapshotFromYaml, type YamlSnapshot } from '../helpers/yaml-snapshot.js';

const WP = { namespace: 'apps', name: 'waypoint' };
const FLAGS = { endpoint: 'http://127.0.0.1:4318/', samplingPercent: 5 };

function mesh(body: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
${body.replace(/^/gm, '    ')}
`;
}

const PROVIDERS = `extensionProviders:
  - name: grpc
    opentelemetry: {service: collector.obs.svc.cluster.local, port: 4317}
  - name: http
    opentelemetry: {service: collector.obs.svc.cluster.local, port: 4318, http: {path: v1/traces, timeout: 3s}}
  - name: zip
    zipkin: {service: zipkin, port: 9411}
`;

function telemetry(name: string, namespace: string, tracing: string, targeted = false): string {
  return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${targeted ? '  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: waypoint}]\n' : ''}  tracing:
    - ${tracing}
`;
}

const snapshot = (...docs: string[]): YamlSnapshot => snapshotFromYaml(docs, false);

describe('mesh tracing settings', () => {
  it('reads OTLP providers (gRPC, HTTP with path and timeout) and warns on other kinds', () => {
    const { snapshot: s, diagnostics } = snapshot(mesh(PROVIDERS));
    assert.deepEqual(s.mesh.tracing?.providers['grpc'], { name: 'grpc', service: 'collector.obs.svc.cluster.local', port: 4317, protocol: 'grpc', headers: {} });
    assert.deepEqual(s.mesh.tracing?.providers['http'], { name: 'http', service: 'collector.obs.svc.cluster.local', port: 4318, protocol: 'http', path: '/v1/traces', timeoutMs: 3000, headers: {} });
    assert.deepEqual(diagnostics.map((d) => [d.severity, d.code]), [['warning', 'UNSUPPORTED']]);
  });

  it('rejects the mesh settings for a provider without a port', () => {
    const { diagnostics } = snapshot(mesh('extensionProviders:\n  - name: x\n    opentelemetry: {service: c}\n'));
    assert.deepEqual(diagnostics.map((d) => [d.severity, d.code]), [['error', 'FIELD_INVALID']]);
    assert.match(diagnostics[0]?.message ?? '', /opentelemetry\.port/);
  });
});

describe('tracingFor', () => {
  it('falls back to the flags, then off', () => {
    assert.deepEqual(tracingFor(snapshot().snapshot, WP, FLAGS), { kind: 'endpoint', endpoint: FLAGS.endpoint, samplingPercent: 5, customTags: [] });
    assert.equal(tracingFor(snapshot().snapshot, WP, undefined), undefined);
  });

  it('uses the default provider and sampling of the mesh config, unless tracing is disabled there', () => {
    const on = snapshot(mesh(`${PROVIDERS}defaultProviders: {tracing: [grpc]}\ndefaultConfig: {tracing: {sampling: 20}}\n`)).snapshot;
    const r = tracingFor(on, WP, FLAGS);
    assert.equal(r?.kind === 'provider' && r.provider.name, 'grpc');
    assert.equal(r?.samplingPercent, 20);
    const off = snapshot(mesh(`${PROVIDERS}defaultProviders: {tracing: [grpc]}\nenableTracing: false\n`)).snapshot;
    assert.equal(tracingFor(off, WP, FLAGS), undefined);
  });

  it('merges Telemetry fields from the most specific level that sets them', () => {
    const base = mesh(`${PROVIDERS}defaultProviders: {tracing: [grpc]}\n`);
    const root = telemetry('root', 'istio-system', 'randomSamplingPercentage: 50');
    const ns = telemetry('ns', 'apps', 'providers: [{name: http}]');
    const r = tracingFor(snapshot(base, root, ns).snapshot, WP, undefined);
    assert.equal(r?.kind === 'provider' && r.provider.name, 'http');
    assert.equal(r?.samplingPercent, 50);
    const gwOff = telemetry('gw', 'apps', 'disableSpanReporting: true', true);
    assert.equal(tracingFor(snapshot(base, root, ns, gwOff).snapshot, WP, FLAGS), undefined);
    assert.notEqual(tracingFor(snapshot(base, root, ns, gwOff).snapshot, { namespace: 'apps', name: 'other' }, FLAGS), undefined);
  });

  it('is off when a Telemetry names a provider the mesh does not define', () => {
    const s = snapshot(mesh(PROVIDERS), telemetry('ns', 'apps', 'providers: [{name: nope}]')).snapshot;
    assert.equal(tracingFor(s, WP, FLAGS), undefined);
  });
});

describe('tracing customTags', () => {
  it('resolves literal and environment tags once, keeps header tags for the span, inherits as a whole', () => {
    const s = snapshot(
      mesh(`${PROVIDERS}defaultProviders: {tracing: [grpc]}`),
      telemetry('root', 'istio-system', `customTags: {team: {literal: {value: mesh}}}`),
      telemetry(
        'ns',
        'apps',
        `customTags:
        zone: {environment: {name: ZONE}}
        missing: {environment: {name: NOPE}}
        fallback: {environment: {name: NOPE, defaultValue: d}}
        tenant: {header: {name: X-Tenant}}`,
      ),
    ).snapshot;
    const r = tracingFor(s, WP, undefined, { ZONE: 'z1' });
    assert.deepEqual(r?.customTags, [
      { key: 'zone', value: 'z1' },
      { key: 'fallback', value: 'd' },
      { key: 'tenant', header: 'x-tenant' },
    ]);
    assert.deepEqual(tracingFor(s, { namespace: 'other', name: 'wp' }, undefined, {})?.customTags, [{ key: 'team', value: 'mesh' }]);
  });

  it('rejects a tag that is not exactly one of literal, environment, header', () => {
    const { diagnostics } = snapshot(telemetry('bad', 'apps', `customTags: {a: {literal: {value: x}, header: {name: y}}, b: {}}`));
    assert.deepEqual(diagnostics.map((d) => [d.severity, d.field]), [
      ['error', 'spec.tracing[0].customTags.a'],
      ['error', 'spec.tracing[0].customTags.b'],
    ]);
  });
});
