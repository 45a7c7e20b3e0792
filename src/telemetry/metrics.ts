/**
 * Every metric a proxy process exports, declared once: Istio's standard request and TCP metrics
 * (names, label set and histogram buckets as Istio's stats plugin and ztunnel export them, so
 * Istio's Grafana dashboards and Kiali query them unchanged) and the proxy's own health metrics.
 *
 * Each {@link ProxyMetrics} owns its own prom-client `Registry` — nothing is registered in the
 * global default registry — so several components in one test process never share series. The
 * Istio families are fed through `istio-series.ts` (cheap per request), the rest are prom-client's.
 *
 * Label values come only from config identities (workloads, services, principals) and bounded
 * enums (response code, flags, protocol), never from paths or headers, so a flood of distinct
 * requests cannot grow the number of series. See `istio-labels.ts`.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { IstioTcpLabels, IstioRequestLabels } from './istio-labels.js';
import type { SeriesKey } from './istio-series.js';
import { HistogramData, registerCounterFamily, registerHistogramFamily, SeriesSet } from './istio-series.js';

/** Istio's `istio_request_duration_milliseconds` buckets (stats plugin defaults), in ms. */
export const ISTIO_DURATION_BUCKETS_MS: readonly number[] = Object.freeze([
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
]);

/** Istio's `istio_request_bytes` / `istio_response_bytes` buckets: powers of ten, 1 B to 1 GB. */
export const ISTIO_BYTES_BUCKETS: readonly number[] = Object.freeze([1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000]);

/** Point-in-time readings the health gauges take at scrape time (cheap counters, no walks). */
export interface ProxyHealthSource {
  /** Open downstream connections (HBONE sessions, SOCKS5 clients). */
  downstreamConnections(): number;
  /** Open HBONE streams accepted by this proxy. */
  downstreamStreams(): number;
  /** Upstream HBONE pool: connections and reserved streams. */
  upstreamPool(): { readonly connections: number; readonly streams: number };
  /** Generation of the config snapshot being served. */
  configGeneration(): number;
  /** Diagnostics (severity error) of the latest config rebuild: rejected objects. */
  configErrors(): number;
  /** HBONE connections closed on accept at the connection limit (Envoy `downstream_cx_overflow`). */
  downstreamCxOverflow?(): number;
}

export interface ProxyMetricsOptions {
  /** Also export Node's process metrics (event-loop lag, heap, GC, CPU) prefixed `ambient_`. */
  readonly processMetrics?: boolean;
}

/** Prefix of the proxy's own (non-Istio) metrics. */
export const PROXY_METRIC_PREFIX = 'ambient_';

/** Per label set of the request metrics. */
class RequestSeries {
  requests = 0;
  readonly duration = new HistogramData(ISTIO_DURATION_BUCKETS_MS);
  readonly requestBytes = new HistogramData(ISTIO_BYTES_BUCKETS);
  readonly responseBytes = new HistogramData(ISTIO_BYTES_BUCKETS);
  requestMessages = 0;
  responseMessages = 0;
}

/** Per label set of the TCP metrics. */
class TcpSeries {
  opened = 0;
  closed = 0;
  sent = 0;
  received = 0;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly requests = new SeriesSet<IstioRequestLabels, RequestSeries>(() => new RequestSeries());
  private readonly tcp = new SeriesSet<IstioTcpLabels, TcpSeries>(() => new TcpSeries());
  /** Access records a sink could not turn into metrics (a bug; counted, never thrown). */
  readonly telemetryErrors: Counter;
  /** Requests a throwing filter answered with 500 (`FILTER_FAILED`, details `filter_chain_exception`). */
  readonly filterErrors: Counter;

  constructor(opts: ProxyMetricsOptions = {}) {
    const r = this.registry;
    const registers = [r];
    const req = this.requests;
    const tcp = this.tcp;
    registerCounterFamily(r, 'istio_requests_total', 'Requests handled by the proxy.', req, (s) => s.requests);
    registerHistogramFamily(r, 'istio_request_duration_milliseconds', 'Request duration, first byte in to last byte out, in milliseconds.', ISTIO_DURATION_BUCKETS_MS, req, (s) => s.duration);
    registerHistogramFamily(r, 'istio_request_bytes', 'Request body sizes in bytes.', ISTIO_BYTES_BUCKETS, req, (s) => s.requestBytes);
    registerHistogramFamily(r, 'istio_response_bytes', 'Response body sizes in bytes.', ISTIO_BYTES_BUCKETS, req, (s) => s.responseBytes);
    registerCounterFamily(r, 'istio_request_messages_total', 'gRPC messages sent by clients.', req, (s) => s.requestMessages);
    registerCounterFamily(r, 'istio_response_messages_total', 'gRPC messages sent by servers.', req, (s) => s.responseMessages);
    registerCounterFamily(r, 'istio_tcp_sent_bytes_total', 'Bytes sent to the client (response direction) over TCP.', tcp, (s) => s.sent);
    registerCounterFamily(r, 'istio_tcp_received_bytes_total', 'Bytes received from the client (request direction) over TCP.', tcp, (s) => s.received);
    registerCounterFamily(r, 'istio_tcp_connections_opened_total', 'TCP connections opened.', tcp, (s) => s.opened);
    registerCounterFamily(r, 'istio_tcp_connections_closed_total', 'TCP connections closed.', tcp, (s) => s.closed);
    this.telemetryErrors = new Counter({ name: `${PROXY_METRIC_PREFIX}telemetry_errors_total`, help: 'Access records that could not be turned into metrics.', registers });
    this.filterErrors = new Counter({ name: `${PROXY_METRIC_PREFIX}filter_errors_total`, help: 'Requests answered 500 because an L7 filter threw.', registers });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: PROXY_METRIC_PREFIX });
  }

  /** One finished HTTP request. */
  observeRequest(k: SeriesKey<IstioRequestLabels>, durationMs: number, requestBytes: number, responseBytes: number, requestMessages = 0, responseMessages = 0): void {
    const s = this.requests.get(k);
    s.requests++;
    s.requestMessages += requestMessages;
    s.responseMessages += responseMessages;
    s.duration.observe(durationMs);
    s.requestBytes.observe(requestBytes);
    s.responseBytes.observe(responseBytes);
  }

  /**
   * One finished TCP connection. Opened and closed are both counted at the end because the
   * access record is the only feed (the data path is not touched twice); a connection still
   * open is therefore not yet in `opened`.
   */
  observeTcp(k: SeriesKey<IstioTcpLabels>, sentBytes: number, receivedBytes: number): void {
    const s = this.tcp.get(k);
    s.opened++;
    s.closed++;
    s.sent += sentBytes;
    s.received += receivedBytes;
  }

  /** Health gauges read from the component at scrape time. */
  addHealth(source: ProxyHealthSource): void {
    const registers = [this.registry];
    const p = PROXY_METRIC_PREFIX;
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    gauge('downstream_connections', 'Open downstream connections.', () => source.downstreamConnections());
    gauge('downstream_streams', 'Open HBONE streams accepted.', () => source.downstreamStreams());
    gauge('hbone_pool_connections', 'Upstream HBONE pool connections.', () => source.upstreamPool().connections);
    gauge('hbone_pool_streams', 'Upstream HBONE pool streams reserved or open.', () => source.upstreamPool().streams);
    gauge('config_generation', 'Generation of the config snapshot being served.', () => source.configGeneration());
    gauge('config_errors', 'Config objects rejected by the latest rebuild (error diagnostics).', () => source.configErrors());
    const overflow = source.downstreamCxOverflow?.bind(source);
    if (overflow) gauge('downstream_cx_overflow', 'HBONE connections closed on accept at the connection limit (Envoy downstream_cx_overflow).', overflow);
  }

  /** The Prometheus text exposition and its content type. */
  async exposition(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
