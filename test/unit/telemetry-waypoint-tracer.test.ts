import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeaderMap } from '../../src/filter/header-map.js';
import { OtlpHttpExporter } from '../../src/telemetry/otlp-http-transport.js';
import type { RequestSpan } from '../../src/telemetry/waypoint-tracer.js';
import { WaypointTracer, waypointSpanIdentity } from '../../src/telemetry/waypoint-tracer.js';

function tracer(samplingPercent: number): WaypointTracer {
  // Nothing is exported in these tests: the exporter only has to exist.
  const exporter = new OtlpHttpExporter({ endpoint: 'http://127.0.0.1:1', serviceName: 't', flushIntervalMs: 60_000 });
  return new WaypointTracer({ exporter, samplingPercent, identity: waypointSpanIdentity('default', 'waypoint', '127.0.0.1'), random: () => 0.5 });
}

/** `begin` on a configured tracer always gives a span. */
function begin(t: WaypointTracer, h: HeaderMap): RequestSpan {
  const span = t.begin(h);
  assert.ok(span, 'a configured tracer begins a span');
  return span;
}

function headers(entries: Record<string, string>): HeaderMap {
  const h = new HeaderMap();
  for (const [k, v] of Object.entries(entries)) h.set(k, v);
  return h;
}

describe('WaypointTracer', () => {
  it('prefers traceparent over B3 and propagates W3C only then', () => {
    const h = headers({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00', 'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7', 'x-b3-spanid': 'e457b5a2e4d86bd1' });
    const t = tracer(100);
    const span = begin(t, h);
    assert.equal(span.b3, false);
    assert.equal(span.ctx.parentSpanId, '00f067aa0ba902b7');
    // The caller decided "not sampled": followed even at 100%.
    assert.equal(span.ctx.sampled, false);
    t.inject(h, span);
    assert.equal(h.get('traceparent'), `00-4bf92f3577b34da6a3ce929d0e0e4736-${span.ctx.spanId}-00`);
  });

  it('turns a B3 single header into B3 multi headers plus traceparent upstream', () => {
    const h = headers({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' });
    const t = tracer(0);
    const span = begin(t, h);
    assert.equal(span.b3, true);
    assert.equal(span.ctx.sampled, true);
    t.inject(h, span);
    assert.equal(h.get('b3'), undefined);
    assert.equal(h.get('x-b3-traceid'), '80f198ee56343ba864fe8b2a57d3eff7');
    assert.equal(h.get('x-b3-parentspanid'), 'e457b5a2e4d86bd1');
    assert.equal(h.get('x-b3-spanid'), span.ctx.spanId);
    assert.equal(h.get('traceparent'), `00-80f198ee56343ba864fe8b2a57d3eff7-${span.ctx.spanId}-01`);
  });

  it('starts a new trace sampled by percentage when no context came', () => {
    assert.equal(begin(tracer(50.1), new HeaderMap()).ctx.sampled, true);
    assert.equal(begin(tracer(50), new HeaderMap()).ctx.sampled, false);
    assert.equal(begin(tracer(50), new HeaderMap()).ctx.parentSpanId, undefined);
  });

  it('begins nothing while off, and follows configure() on and off', async () => {
    const t = new WaypointTracer({ identity: waypointSpanIdentity('default', 'waypoint', '127.0.0.1'), random: () => 0.5 });
    const h = headers({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    assert.equal(t.begin(h), undefined);
    const exporter = new OtlpHttpExporter({ endpoint: 'http://127.0.0.1:1', serviceName: 't', flushIntervalMs: 60_000 });
    t.configure({ exporter, samplingPercent: 100 });
    assert.equal(begin(t, h).ctx.sampled, true);
    t.configure(undefined);
    assert.equal(t.begin(h), undefined);
    await exporter.close(10);
  });
});
