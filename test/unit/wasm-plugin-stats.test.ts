/**
 * Plugin-defined metrics on both admin listings (issue 17): `/stats` (text and JSON, from the
 * registry's `getMetricsAsJSON`) under the name the plugin defined, and `/stats/prometheus`
 * under the Prometheus name — the proxy's own metrics still listed beside them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderStatsJson, renderStatsText } from '../../src/admin/stats-text.js';
import { ProxyMetrics } from '../../src/telemetry/metrics.js';
import { MetricType } from '../../src/wasm/abi.js';
import { PluginMetrics } from '../../src/wasm/plugin-metrics.js';

describe('plugin metrics on /stats', () => {
  it('lists counters, gauges and histograms (count, sum) beside the proxy metrics', async () => {
    const proxy = new ProxyMetrics();
    const plugins = new PluginMetrics();
    plugins.registerInto(proxy.registry);
    const c = plugins.define(MetricType.COUNTER, 'wasmcustom.hits_total') as number;
    const g = plugins.define(MetricType.GAUGE, 'my_gauge') as number;
    const h = plugins.define(MetricType.HISTOGRAM, 'wasmcustom.latency') as number;
    plugins.increment(c, 3n);
    plugins.record(g, 7n);
    plugins.record(h, 4n);
    plugins.record(h, 6n);
    const json = await proxy.registry.getMetricsAsJSON();
    const text = renderStatsText(json);
    assert.match(text, /^wasmcustom\.hits_total: 3$/m);
    assert.match(text, /^my_gauge: 7$/m);
    assert.match(text, /^wasmcustom\.latency_count: 2$/m);
    assert.match(text, /^wasmcustom\.latency_sum: 10$/m);
    assert.ok(json.length > 3, 'the proxy metrics are still listed');
    assert.ok(renderStatsJson(json).stats.some((s) => s.name === 'wasmcustom.hits_total' && s.value === 3));
    const prom = await proxy.registry.metrics();
    assert.match(prom, /^wasmcustom_hits_total 3$/m);
    assert.match(prom, /^envoy_my_gauge 7$/m);
  });
});
