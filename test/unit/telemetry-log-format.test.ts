/**
 * Custom access-log formats: Envoy format strings parsed from the mesh config (provider
 * `logFormat.text` / `labels`, MeshConfig `accessLogFormat` / `accessLogEncoding`), rendered per
 * record (text: `-` for missing; JSON: typed values, null for missing), and chosen by the
 * Telemetry API or as the default when no Telemetry applies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLogTemplate } from '../../src/config/log-format.js';
import { parseMeshSettings } from '../../src/config/mesh-config.js';
import { MeshView } from '../../src/state/mesh-view.js';
import type { ViewSource } from '../../src/state/view-source.js';
import type { LogFormatIR } from '../../src/config/log-format.js';
import type { AccessLogFormat } from '../../src/telemetry/access-log.js';
import { accessLogChoiceFor, followAccessLogPolicy } from '../../src/telemetry/access-log-policy.js';
import type { AccessRecord } from '../../src/telemetry/access-record.js';
import { renderLogFormat } from '../../src/telemetry/log-format-render.js';
import { snapshotFromYaml } from '../helpers/yaml-snapshot.js';

const RECORD: AccessRecord = {
  kind: 'http',
  startTime: '2026-11-22T10:00:00.000Z',
  method: 'POST',
  path: '/orders?id=7',
  protocol: 'HTTP/2',
  responseCode: 503,
  responseFlags: 'UF,URX',
  responseCodeDetails: 'upstream reset before response',
  bytesReceived: 12,
  bytesSent: 91,
  durationMs: 4.6,
  upstreamServiceTimeMs: 3,
  authority: 'orders:8080',
  downstreamLocalAddress: '127.100.0.9:8080',
  downstreamRemoteAddress: '127.1.0.4:51000',
  sourcePrincipal: 'spiffe://cluster.local/ns/default/sa/sleep',
  requestHeaders: new Map([['x-tenant', 'blue']]),
};

describe('access-log format strings', () => {
  it('parses commands with arguments and lengths, and names the unsupported ones', () => {
    const p = parseLogTemplate('[%START_TIME%] %REQ(X-TENANT?USER-AGENT):3% %FILTER_STATE(x)% %%DURATION%');
    assert.deepEqual(p.unsupported, ['FILTER_STATE']);
    assert.deepEqual(p.template[3], { command: 'REQ', arg: 'X-TENANT?USER-AGENT', maxLength: 3 });
  });

  it('renders text with Envoy’s substitutions and dashes', () => {
    const f: LogFormatIR = { kind: 'text', template: parseLogTemplate('%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% tenant=%REQ(X-TENANT)% ua=%REQ(USER-AGENT)% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_PEER_URI_SAN% %REQ(X-TENANT):2%').template };
    assert.equal(
      renderLogFormat(f, RECORD),
      'POST /orders?id=7 503 UF,URX upstream_reset_before_response tenant=blue ua=- 5 3 127.1.0.4 spiffe://cluster.local/ns/default/sa/sleep bl',
    );
  });

  it('renders JSON with typed lone commands and null for missing values', () => {
    const f: LogFormatIR = {
      kind: 'json',
      labels: [
        ['code', parseLogTemplate('%RESPONSE_CODE%').template],
        ['tenant', parseLogTemplate('%REQ(X-TENANT)%').template],
        ['ua', parseLogTemplate('%REQ(USER-AGENT)%').template],
        ['line', parseLogTemplate('%REQ(:METHOD)% %REQ(:AUTHORITY)%').template],
      ],
    };
    assert.deepEqual(JSON.parse(renderLogFormat(f, RECORD)), { code: 503, tenant: 'blue', ua: null, line: 'POST orders:8080' });
  });
});

describe('access-log formats from the mesh config', () => {
  it('reads provider logFormat text and labels, and the envoy provider’s accessLogFormat', () => {
    const { settings, problems } = parseMeshSettings(`
accessLogEncoding: JSON
accessLogFormat: '{"c": "%RESPONSE_CODE%", "x": "%UPSTREAM_PEER(x)%"}'
extensionProviders:
  - name: short
    envoyFileAccessLog:
      path: /dev/stdout
      logFormat:
        text: "%REQ(:METHOD)% %RESPONSE_CODE%\\n"
  - name: keys
    envoyFileAccessLog:
      path: /dev/stdout
      logFormat:
        labels: { code: "%RESPONSE_CODE%" }
`);
    assert.deepEqual(problems, [{ field: 'accessLogFormat.labels.x', message: "unsupported command(s) %UPSTREAM_PEER% print '-'", warning: true }]);
    assert.deepEqual(settings.accessLogProviders, { envoy: 'json', short: 'text', keys: 'json' });
    const short = settings.accessLogFormats?.['short'];
    assert.ok(short?.kind === 'text');
    assert.equal(renderLogFormat(short, RECORD), 'POST 503', 'the trailing newline is the writer’s');
    assert.equal(settings.accessLogFormats?.['envoy']?.kind, 'json');
  });

  it('refuses a bad encoding or a JSON format that is not JSON', () => {
    assert.deepEqual(parseMeshSettings('accessLogEncoding: XML\n').problems.map((p) => p.field), ['accessLogEncoding']);
    assert.deepEqual(parseMeshSettings("accessLogEncoding: JSON\naccessLogFormat: 'not json'\n").problems.map((p) => p.field), ['accessLogFormat']);
  });

  it('uses the provider’s format when a Telemetry selects it, and the envoy format by default', () => {
    const mesh = `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    accessLogFormat: "default %RESPONSE_CODE%"
    extensionProviders:
      - name: short
        envoyFileAccessLog:
          path: /dev/stdout
          logFormat: { text: "short %RESPONSE_CODE%" }
`;
    const telemetry = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: t, namespace: apps }
spec:
  accessLogging: [{ providers: [{ name: short }] }]
`;
    const wp = { namespace: 'apps', name: 'waypoint' };
    const withTelemetry = snapshotFromYaml([mesh, telemetry]).snapshot;
    const choice = accessLogChoiceFor(withTelemetry, wp);
    assert.equal(choice?.format, 'text');
    assert.equal(choice?.custom && renderLogFormat(choice.custom, RECORD), 'short 503');

    const seen: [AccessLogFormat, LogFormatIR | undefined][] = [];
    const plain = snapshotFromYaml([mesh]).snapshot;
    const view = new MeshView(plain);
    const source: ViewSource = { current: () => view, onChange: () => () => undefined };
    followAccessLogPolicy(source, wp, { setFormat: (f, c) => void seen.push([f, c]) }, 'text');
    const [format, custom] = seen[0] ?? [];
    assert.equal(format, 'text');
    assert.equal(custom && renderLogFormat(custom, RECORD), 'default 503');
    seen.length = 0;
    followAccessLogPolicy(source, wp, { setFormat: (f, c) => void seen.push([f, c]) }, 'off');
    assert.deepEqual(seen, [['off', undefined]]);
  });
});
