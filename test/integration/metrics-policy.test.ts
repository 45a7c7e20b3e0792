/**
 * The Telemetry API's `metrics` at a running waypoint: requests through the local mesh are counted
 * with Istio's labels; a Telemetry for the waypoint that removes `grpc_response_status`, adds a
 * `tenant` tag from a request header and disables the request-size histogram changes what the
 * next requests export; deleting it goes back to the standard labels.
 */
import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { followMetricsPolicy } from '../../src/telemetry/metrics-policy.js';
import { WaypointTelemetry } from '../../src/telemetry/waypoint-telemetry.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { telemetryYaml, waypointTargetRefs } from '../helpers/mesh-fixtures.js';
import { parseExposition, type Exposition } from '../helpers/prometheus-text.js';

const TELEMETRY = telemetryYaml(
  'waypoint-metrics',
  'default',
  `${waypointTargetRefs()}  metrics:
    - providers: [{ name: prometheus }]
      overrides:
        - tagOverrides:
            grpc_response_status: { operation: REMOVE }
        - match: { metric: REQUEST_COUNT }
          tagOverrides:
            tenant:
              value: "has(request.headers['x-tenant']) ? request.headers['x-tenant'] : 'none'"
        - match: { metric: REQUEST_SIZE }
          disabled: true`,
);

describe('Telemetry metrics at a running waypoint', () => {
  let mesh: LocalMesh;
  const metrics = new ProxyMetrics();
  let stop: (() => void) | undefined;
  const view: ViewSource = {
    current: (): MeshView => mesh.store.current(),
    onChange: (l) => mesh.store.onChange(l),
  };

  before(async () => {
    mesh = await startLocalMesh({
      waypointAccessLog: () => new WaypointTelemetry({ metrics, view, format: 'off' }).sink,
    });
    stop = followMetricsPolicy(view, { namespace: 'default', name: 'waypoint' }, metrics);
  });

  after(async () => {
    stop?.();
    await mesh?.close();
  });

  async function send(headers: Record<string, string> = {}): Promise<void> {
    const before = mesh.waypointRecords.length;
    const res = await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/', { headers });
    assert.equal(res.status, 200);
    await eventually(() => mesh.waypointRecords.length > before);
  }

  const scrape = async (): Promise<Exposition> => parseExposition((await metrics.exposition()).body);

  it('exports the standard labels without a Telemetry', async () => {
    await send();
    const e = await scrape();
    const [s, ...others] = e.find('istio_requests_total', { reporter: 'waypoint', destination_service_name: 'reviews' });
    assert.equal(others.length, 0);
    assert.equal(s?.value, 1);
    assert.ok('grpc_response_status' in (s?.labels ?? {}));
    assert.equal(e.find('istio_request_bytes_count').length, 1);
  });

  it('applies tag overrides and disabled metrics to the next requests', async () => {
    mesh.config.write('96-telemetry.yaml', TELEMETRY);
    // The policy is followed on the next view; probe until a request lands in a tenant series.
    await eventually(async () => {
      await send({ 'x-tenant': 'blue' });
      return (await scrape()).find('istio_requests_total', { tenant: 'blue' }).length > 0;
    });
    await send({ 'x-tenant': 'blue' });
    await send();
    const e = await scrape();
    // One series per destination (reviews has two versions), each with the tenant tag.
    const sum = (xs: readonly { value: number }[]): number => xs.reduce((a, x) => a + x.value, 0);
    const blue = e.find('istio_requests_total', { tenant: 'blue' });
    assert.ok(sum(blue) >= 2);
    assert.ok(blue.every((x) => x.labels['destination_service_name'] === 'reviews'));
    assert.ok(blue.every((x) => !('grpc_response_status' in x.labels)), 'REMOVE drops the tag');
    assert.equal(sum(e.find('istio_requests_total', { tenant: 'none' })), 1);
    // REQUEST_SIZE is disabled: only series recorded before the Telemetry (standard labels) remain.
    const sizes = e.find('istio_request_bytes_count');
    assert.ok(sizes.length > 0 && sizes.every((x) => 'grpc_response_status' in x.labels), JSON.stringify(sizes));
    // REQUEST_DURATION only lost the removed tag.
    assert.ok(e.find('istio_request_duration_milliseconds_count').some((d) => !('grpc_response_status' in d.labels) && !('tenant' in d.labels)));
  });

  it('goes back to the standard labels when the Telemetry is deleted', async () => {
    const standard = async (): Promise<number> => (await scrape()).find('istio_requests_total').find((d) => 'grpc_response_status' in d.labels)?.value ?? 0;
    const before = await standard();
    unlinkSync(path.join(mesh.config.dir, '96-telemetry.yaml'));
    await eventually(async () => {
      await send();
      return (await standard()) > before;
    });
  });
});
