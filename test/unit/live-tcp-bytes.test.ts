/** Periodic TCP byte reports: only growth is added, and a connection's close adds the rest. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteTally } from '../../src/net/splice.js';
import { TCP_LABEL_NAMES, type IstioTcpLabels } from '../../src/telemetry/istio-labels.js';
import { seriesKeyOf } from '../../src/telemetry/istio-series.js';
import { LiveTcpBytes } from '../../src/telemetry/live-tcp-bytes.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { eventually } from '../helpers/eventually.js';
import { parseExposition } from '../helpers/prometheus-text.js';

const KEY = seriesKeyOf(Object.fromEntries(TCP_LABEL_NAMES.map((n) => [n, n === 'reporter' ? 'waypoint' : 'x'])) as IstioTcpLabels);

async function totals(m: ProxyMetrics): Promise<[number, number]> {
  const e = parseExposition((await m.exposition()).body);
  return [e.find('istio_tcp_sent_bytes_total')[0]?.value ?? 0, e.find('istio_tcp_received_bytes_total')[0]?.value ?? 0];
}

describe('LiveTcpBytes', () => {
  it('adds only what grew since the last flush; the close reports the remainder once', async () => {
    const metrics = new ProxyMetrics();
    // An hour: flushes are driven by hand here.
    const live = new LiveTcpBytes(metrics, 3_600_000);
    const tally = new ByteTally();
    live.track(tally, KEY);
    live.flush();
    assert.deepEqual(await totals(metrics), [0, 0]);
    tally.aToB = 10; // from the client
    tally.bToA = 300; // to the client
    live.flush();
    live.flush();
    assert.deepEqual(await totals(metrics), [300, 10]);
    tally.aToB = 15;
    live.flush();
    assert.deepEqual(await totals(metrics), [300, 15]);
    tally.bToA = 500;
    const reported = live.finish(tally);
    assert.deepEqual({ ...reported }, { sent: 300, received: 15, key: KEY, record: undefined });
    // The sink's close report: the connection's totals minus what was reported.
    metrics.observeTcp(KEY, 500 - reported.sent, 15 - reported.received, undefined, true);
    assert.deepEqual(await totals(metrics), [500, 15]);
    assert.equal(live.size, 0);
    // An untracked (or unknown) connection had nothing reported.
    assert.deepEqual(live.finish(new ByteTally()), { sent: 0, received: 0 });
    assert.deepEqual(live.finish(undefined), { sent: 0, received: 0 });
  });

  it('reports on its own timer while connections are open', async () => {
    const metrics = new ProxyMetrics();
    const live = new LiveTcpBytes(metrics, 20);
    const tally = new ByteTally();
    live.track(tally, KEY);
    tally.bToA = 7;
    await eventually(async () => assert.deepEqual(await totals(metrics), [7, 0]));
    live.finish(tally);
    live.stop();
  });
});
