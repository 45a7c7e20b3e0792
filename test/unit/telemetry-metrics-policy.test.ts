/**
 * Telemetry `metrics` → per-metric plans → what ProxyMetrics exports: translation and its
 * diagnostics, the merge down the hierarchy (mesh → namespace → waypoint, ALL_METRICS before a
 * named metric), the CEL subset of tag values, and the exposition with tags removed, upserted
 * and metrics disabled.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTagExpression } from '../../src/config/tag-expression.js';
import type { AccessRecord } from '../../src/telemetry/access-record.js';
import { REQUEST_LABEL_NAMES, type IstioRequestLabels } from '../../src/telemetry/istio-labels.js';
import { seriesKeyOf } from '../../src/telemetry/istio-series.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { metricsPolicyFor } from '../../src/telemetry/metrics-policy.js';
import { tagValue } from '../../src/telemetry/tag-value.js';
import { parseExposition } from '../helpers/prometheus-text.js';
import { telemetryYaml, waypointTargetRefs } from '../helpers/mesh-fixtures.js';
import { snapshotFromYaml } from '../helpers/yaml-snapshot.js';

const WP = { namespace: 'apps', name: 'waypoint' };

const telemetry = telemetryYaml;
const TO_WAYPOINT = waypointTargetRefs();

const RECORD: AccessRecord = {
  kind: 'http',
  startTime: '2026-11-22T00:00:00.000Z',
  method: 'GET',
  path: '/reviews/1?x=1',
  protocol: 'HTTP/1.1',
  responseCode: 200,
  responseFlags: '-',
  bytesReceived: 0,
  bytesSent: 10,
  durationMs: 3,
  authority: 'reviews:9080',
  downstreamLocalAddress: '127.100.0.5:9080',
  downstreamRemoteAddress: '127.1.0.2:40000',
  requestHeaders: new Map([['x-tenant', 'blue']]),
};

const BASE = seriesKeyOf(
  Object.fromEntries(REQUEST_LABEL_NAMES.map((n) => [n, n === 'reporter' ? 'waypoint' : n === 'source_cluster' ? 'Kubernetes' : 'x'])) as IstioRequestLabels,
);

describe('Telemetry metrics: translation', () => {
  it('keeps the server-side prometheus overrides and warns about what it cannot do', () => {
    const { snapshot, diagnostics } = snapshotFromYaml([
      telemetry(
        'm',
        'apps',
        `${TO_WAYPOINT}  metrics:
    - providers: [{ name: prometheus }]
      reportingInterval: 10s
      overrides:
        - match: { metric: REQUEST_COUNT }
          tagOverrides:
            grpc_response_status: { operation: REMOVE }
            tenant: { value: "request.headers['X-Tenant']" }
            odd: { value: "request.url_path.matches('^/a')" }
        - match: { metric: REQUEST_SIZE, mode: CLIENT }
          disabled: true
        - match: { customMetric: my_metric }
          disabled: true
    - providers: [{ name: stackdriver }]
      overrides:
        - disabled: true
`,
      ),
    ]);
    const codes = diagnostics.map((d) => `${d.severity} ${d.code} ${d.field ?? ''}`).sort();
    assert.deepEqual(codes, [
      'warning UNSUPPORTED spec.metrics[0].overrides[0].tagOverrides.odd.value',
      'warning UNSUPPORTED spec.metrics[0].overrides[2].match.customMetric',
      'warning UNSUPPORTED spec.metrics[0].reportingInterval',
    ]);
    const t = snapshot.telemetries?.[0];
    assert.deepEqual(t?.metricOverrides, [
      {
        metric: 'REQUEST_COUNT',
        disabled: false,
        tagOverrides: [
          { tag: 'grpc_response_status', operation: 'REMOVE' },
          { tag: 'tenant', operation: 'UPSERT', value: { kind: 'attribute', path: 'request.headers', key: 'x-tenant' } },
        ],
      },
    ]);
  });

  it('rejects an unknown metric, mode or operation, and a tag that is not a label name', () => {
    const { diagnostics } = snapshotFromYaml([
      telemetry(
        'bad',
        'apps',
        `  metrics:
    - overrides:
        - match: { metric: REQUEST_COUNTS }
        - match: { mode: BOTH }
        - tagOverrides:
            "bad-tag": { value: "'x'" }
            good: { operation: DELETE }
`,
      ),
    ]);
    const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => d.field);
    assert.deepEqual(errors.sort(), [
      'spec.metrics[0].overrides[0].match.metric',
      'spec.metrics[0].overrides[1].match.mode',
      'spec.metrics[0].overrides[2].tagOverrides.bad-tag',
      'spec.metrics[0].overrides[2].tagOverrides.good.operation',
    ]);
  });
});

describe('Telemetry metrics: tag value expressions', () => {
  const value = (text: string): string => {
    const p = parseTagExpression(text);
    assert.ok(p.ok, `parses: ${text}`);
    return tagValue(p.value, RECORD);
  };

  it('evaluates literals, attributes, headers and has() conditionals', () => {
    assert.equal(value("'fixed'"), 'fixed');
    assert.equal(value('request.host'), 'reviews:9080');
    assert.equal(value('request.url_path'), '/reviews/1');
    assert.equal(value('request.path'), '/reviews/1?x=1');
    assert.equal(value('response.code'), '200');
    assert.equal(value("request.headers['x-tenant']"), 'blue');
    assert.equal(value("request.headers['x-missing']"), 'unknown');
    assert.equal(value("has(request.headers['x-tenant']) ? request.headers['x-tenant'] : 'none'"), 'blue');
    assert.equal(value("has(request.headers['x-other']) ? 'yes' : \"none\""), 'none');
  });

  it('refuses what it cannot evaluate, saying what is accepted', () => {
    for (const text of ["request.url_path.matches('^/a')", 'size(request.path)', 'request.nope', "'open", "request.headers['a'] + 'b'"]) {
      const p = parseTagExpression(text);
      assert.equal(p.ok, false, text);
      if (!p.ok) assert.match(p.reason, /supported: a string literal/);
    }
  });
});

describe('Telemetry metrics: merge and exposition', () => {
  const yaml = [
    telemetry(
      'mesh',
      'istio-system',
      `  metrics:
    - overrides:
        - disabled: true
          match: { metric: REQUEST_SIZE }
        - tagOverrides:
            source_cluster: { operation: REMOVE }
`,
    ),
    telemetry(
      'ns',
      'apps',
      `  metrics:
    - overrides:
        - match: { metric: REQUEST_COUNT }
          tagOverrides:
            tenant: { value: "request.headers['x-tenant']" }
`,
    ),
    telemetry(
      'wp',
      'apps',
      `${TO_WAYPOINT}  metrics:
    - overrides:
        - match: { metric: REQUEST_DURATION }
          disabled: true
        - tagOverrides:
            source_cluster: { value: "'restored'" }
`,
    ),
  ];

  it('merges mesh → namespace → waypoint per metric', () => {
    const { snapshot } = snapshotFromYaml(yaml);
    const policy = metricsPolicyFor(snapshot, WP);
    assert.ok(policy);
    const count = policy.get('REQUEST_COUNT');
    // The waypoint's ALL_METRICS override re-upserts the tag the mesh removed; the namespace's tenant tag stays.
    assert.deepEqual(count?.removes, []);
    assert.deepEqual(count?.upserts.map((u) => u.tag).sort(), ['source_cluster', 'tenant']);
    // REQUEST_SIZE: disabled at the mesh, but the waypoint's ALL_METRICS override (disabled unset) re-enables it.
    assert.equal(policy.get('REQUEST_SIZE')?.disabled, false);
    assert.equal(policy.get('REQUEST_DURATION')?.disabled, true);
    // Another waypoint in the namespace gets the mesh and namespace levels only.
    const other = metricsPolicyFor(snapshot, { namespace: 'apps', name: 'other' });
    assert.equal(other?.get('REQUEST_SIZE')?.disabled, true);
    assert.deepEqual(other?.get('TCP_SENT_BYTES')?.removes, ['source_cluster']);
    assert.equal(metricsPolicyFor(snapshotFromYaml([]).snapshot, WP), undefined);
  });

  it('exports the overridden label sets and skips disabled metrics', async () => {
    const { snapshot } = snapshotFromYaml(yaml);
    const metrics = new ProxyMetrics();
    metrics.setMetricsPolicy(metricsPolicyFor(snapshot, { namespace: 'apps', name: 'other' }));
    metrics.observeRequest(BASE, 3, 0, 10, 0, 0, RECORD);
    metrics.observeRequest(BASE, 4, 0, 10, 0, 0, { ...RECORD, requestHeaders: new Map([['x-tenant', 'green']]) });
    const e = parseExposition((await metrics.exposition()).body);
    const requests = e.find('istio_requests_total');
    assert.deepEqual(requests.map((s) => [s.labels['tenant'], s.value]).sort(), [['blue', 1], ['green', 1]]);
    assert.ok(requests.every((s) => !('source_cluster' in s.labels) && s.labels['reporter'] === 'waypoint'), 'the mesh-level REMOVE applies');
    assert.equal(e.find('istio_request_bytes_count').length, 0, 'REQUEST_SIZE is disabled');
    assert.equal(e.find('istio_request_duration_milliseconds_count')[0]?.value, 2);
    // Without a policy the shared series are fed again; the overridden ones stay exported.
    metrics.setMetricsPolicy(undefined);
    metrics.observeRequest(BASE, 3, 0, 10, 0, 0, RECORD);
    const after = parseExposition((await metrics.exposition()).body).find('istio_requests_total');
    assert.equal(after.length, 3);
    assert.equal(after.find((s) => s.labels['tenant'] === undefined)?.value, 1);
  });
});
