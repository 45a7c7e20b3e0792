/**
 * The Telemetry API's accessLogging applied to a running waypoint: the local mesh starts with the
 * text format (the flag); a Telemetry targeting the waypoint Gateway with a JSON provider from the
 * mesh config switches the lines to JSON, `disabled: true` stops them, and removing the override
 * (an empty file) goes back to the flag's text.
 */
import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';
import { followAccessLogPolicy } from '../../src/telemetry/access-log-policy.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { WaypointTelemetry } from '../../src/telemetry/waypoint-telemetry.js';
import { eventually } from '../helpers/eventually.js';
import { startLocalMesh, type LocalMesh } from '../helpers/local-mesh.js';
import { telemetryYaml, waypointTargetRefs } from '../helpers/mesh-fixtures.js';

const MESH_PROVIDERS = `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  mesh: |
    extensionProviders:
      - name: json-stdout
        envoyFileAccessLog:
          path: /dev/stdout
          logFormat:
            labels: {}
      - name: tenant-line
        envoyFileAccessLog:
          path: /dev/stdout
          logFormat:
            text: "tenant=%REQ(X-TENANT)% %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% %DOWNSTREAM_PEER_URI_SAN%"
`;

const telemetry = (accessLogging: string): string => telemetryYaml('waypoint-logs', 'default', `${waypointTargetRefs()}  accessLogging:\n${accessLogging}`);

describe('Telemetry accessLogging at a running waypoint', () => {
  let mesh: LocalMesh;
  let telemetrySink: WaypointTelemetry | undefined;
  let stop: (() => void) | undefined;
  const lines: string[] = [];
  const view: ViewSource = {
    current: (): MeshView => mesh.store.current(),
    onChange: (l) => mesh.store.onChange(l),
  };

  before(async () => {
    mesh = await startLocalMesh({
      extraFiles: { '95-mesh-providers.yaml': MESH_PROVIDERS },
      waypointAccessLog: () => {
        telemetrySink = new WaypointTelemetry({ metrics: new ProxyMetrics(), view, format: 'text', write: (l) => void lines.push(l) });
        return telemetrySink.sink;
      },
    });
    stop = followAccessLogPolicy(view, { namespace: 'default', name: 'waypoint' }, telemetrySink as WaypointTelemetry, 'text');
  });

  after(async () => {
    stop?.();
    await mesh?.close();
  });

  /** One request; resolves with its log line. */
  async function lineFor(p: string): Promise<string | undefined> {
    const before = mesh.waypointRecords.length;
    assert.equal((await mesh.request(mesh.pod('default', 'sleep'), `http://reviews:9080${p}`)).status, 200);
    await eventually(() => mesh.waypointRecords.length > before);
    return lines.find((l) => l.includes(p));
  }

  it('starts with the flag’s text format', async () => {
    assert.equal(telemetrySink?.accessLogFormat, 'text');
    assert.match((await lineFor('/text-1')) ?? '', /^\[.*\] "GET \/text-1 HTTP\/1\.1" 200 /);
  });

  it('switches to JSON when a Telemetry names a JSON provider for this waypoint', async () => {
    mesh.config.write('96-telemetry.yaml', telemetry('    - providers:\n        - name: json-stdout'));
    await eventually(() => telemetrySink?.accessLogFormat === 'json');
    const line = await lineFor('/json-1');
    assert.ok(line);
    const obj = JSON.parse(line) as Record<string, unknown>;
    assert.equal(obj['path'], '/json-1');
    assert.equal(obj['response_code'], 200);
  });

  it('prints a provider’s custom text format, with request headers', async () => {
    mesh.config.write('96-telemetry.yaml', telemetry('    - providers:\n        - name: tenant-line'));
    let probe = 0;
    await eventually(async () => (await lineFor(`/custom-probe-${++probe}`))?.startsWith('tenant=') === true);
    const before = mesh.waypointRecords.length;
    assert.equal((await mesh.request(mesh.pod('default', 'sleep'), 'http://reviews:9080/custom-1', { headers: { 'x-tenant': 'blue' } })).status, 200);
    await eventually(() => mesh.waypointRecords.length > before);
    assert.equal(lines.find((l) => l.includes('/custom-1')), 'tenant=blue GET /custom-1 200 spiffe://cluster.local/ns/default/sa/sleep\n');
  });

  it('stops logging with disabled: true, and returns to the flag when the Telemetry is gone', async () => {
    mesh.config.write('96-telemetry.yaml', telemetry('    - disabled: true'));
    await eventually(() => telemetrySink?.accessLogFormat === 'off');
    assert.equal(await lineFor('/off-1'), undefined);
    unlinkSync(path.join(mesh.config.dir, '96-telemetry.yaml'));
    await eventually(() => telemetrySink?.accessLogFormat === 'text');
    assert.match((await lineFor('/text-2')) ?? '', /"GET \/text-2 HTTP\/1\.1" 200 /);
  });
});
