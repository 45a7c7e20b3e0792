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
import type { IstioMetricName } from '../config/ir-telemetry.js';
import type { AccessRecord } from './access-record.js';
import type { IstioTcpLabels, IstioRequestLabels } from './istio-labels.js';
import type { SeriesKey, SeriesWalk } from './istio-series.js';
import { HistogramData, registerCounterFamily, registerHistogramFamily, SeriesSet, walkSet } from './istio-series.js';
import type { MetricsPolicy } from './metrics-policy.js';
import type { MetricSlot } from './overridden-series.js';
import { OverriddenSeries } from './overridden-series.js';
import { RuntimeHealth } from './runtime-health.js';

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
    const counter = (metric: IstioMetricName, name: string, help: string, base: SeriesWalk<number>): void => {
      const over = this.overridden(metric, undefined);
      registerCounterFamily(r, name, help, (visit) => {
        base(visit);
        for (const { labels, data } of over.set.byKey.values()) visit(labels, data.n);
      }, () => this.reset());
    };
    const histogram = (metric: IstioMetricName, name: string, help: string, bounds: readonly number[], base: SeriesWalk<HistogramData>): void => {
      const over = this.overridden(metric, bounds);
      registerHistogramFamily(r, name, help, bounds, (visit) => {
        base(visit);
        for (const { labels, data } of over.set.byKey.values()) if (data.h) visit(labels, data.h);
      }, () => this.reset());
    };
    counter('REQUEST_COUNT', 'istio_requests_total', 'Requests handled by the proxy.', walkSet(req, (s) => s.requests));
    histogram('REQUEST_DURATION', 'istio_request_duration_milliseconds', 'Request duration, first byte in to last byte out, in milliseconds.', ISTIO_DURATION_BUCKETS_MS, walkSet(req, (s) => s.duration));
    histogram('REQUEST_SIZE', 'istio_request_bytes', 'Request body sizes in bytes.', ISTIO_BYTES_BUCKETS, walkSet(req, (s) => s.requestBytes));
    histogram('RESPONSE_SIZE', 'istio_response_bytes', 'Response body sizes in bytes.', ISTIO_BYTES_BUCKETS, walkSet(req, (s) => s.responseBytes));
    counter('GRPC_REQUEST_MESSAGES', 'istio_request_messages_total', 'gRPC messages sent by clients.', walkSet(req, (s) => s.requestMessages));
    counter('GRPC_RESPONSE_MESSAGES', 'istio_response_messages_total', 'gRPC messages sent by servers.', walkSet(req, (s) => s.responseMessages));
    counter('TCP_SENT_BYTES', 'istio_tcp_sent_bytes_total', 'Bytes sent to the client (response direction) over TCP.', walkSet(tcp, (s) => s.sent));
    counter('TCP_RECEIVED_BYTES', 'istio_tcp_received_bytes_total', 'Bytes received from the client (request direction) over TCP.', walkSet(tcp, (s) => s.received));
    counter('TCP_OPENED_CONNECTIONS', 'istio_tcp_connections_opened_total', 'TCP connections opened.', walkSet(tcp, (s) => s.opened));
    counter('TCP_CLOSED_CONNECTIONS', 'istio_tcp_connections_closed_total', 'TCP connections closed.', walkSet(tcp, (s) => s.closed));
    this.telemetryErrors = new Counter({ name: `${PROXY_METRIC_PREFIX}telemetry_errors_total`, help: 'Access records that could not be turned into metrics.', registers });
    this.seriesOverflow = new Counter({ name: `${PROXY_METRIC_PREFIX}metric_series_overflow_total`, help: 'Metric label sets not recorded because an overridden Istio metric holds its maximum.', registers });
    this.filterErrors = new Counter({ name: `${PROXY_METRIC_PREFIX}filter_errors_total`, help: 'Requests answered 500 because an L7 filter threw.', registers });
    this.failedConnections = new Counter({
      name: `${PROXY_METRIC_PREFIX}failed_connections_total`,
      help: 'Connections that failed, by reason (ztunnel: failure code; waypoint: Envoy response flag of a connection-level failure) and response flag.',
      labelNames: ['reason', 'response_flag'],
      registers,
    });
    this.waypointConnections = new Counter({
      name: `${PROXY_METRIC_PREFIX}waypoint_connections_total`,
      help: 'Outbound connections sent through a waypoint, by Service and waypoint; waypoint_role is primary or canary for a weighted (canary) set, none otherwise.',
      labelNames: ['destination_service', 'waypoint', 'waypoint_role', 'response_flags'],
      registers,
    });
    if (opts.processMetrics) {
      collectDefaultMetrics({ register: this.registry, prefix: PROXY_METRIC_PREFIX });
      this.runtime = new RuntimeHealth(this.registry, PROXY_METRIC_PREFIX);
    }
  }

  /** ztunnel: which waypoint served which Service (labels are config names and enums only). */
  readonly waypointConnections: Counter<'destination_service' | 'waypoint' | 'waypoint_role' | 'response_flags'>;
  /** Failed connections by reason (stable failure codes or response flags: bounded label values). */
  readonly failedConnections: Counter<'reason' | 'response_flag'>;
  /** Event-loop delay, sockets and descriptors, GC pauses; with `processMetrics` only. */
  readonly runtime?: RuntimeHealth;

  /** Telemetry API overrides: the series of each overridden metric, by metric. */
  private readonly overrides = new Map<IstioMetricName, OverriddenSeries>();
  /** Whether overrides are in force (a policy applies); else the shared series are fed. */
  private overriding = false;

  private overridden(metric: IstioMetricName, bounds: readonly number[] | undefined): OverriddenSeries {
    let o = this.overrides.get(metric);
    if (!o) {
      o = new OverriddenSeries(bounds);
      this.overrides.set(metric, o);
    }
    return o;
  }

  private reset(): void {
    this.requests.clear();
    this.tcp.clear();
    for (const o of this.overrides.values()) o.set.clear();
  }

  /**
   * Follows the Telemetry API (`metrics-policy.ts`). While a policy applies, every Istio metric is
   * fed through its own overridden series (identity for metrics the policy leaves alone); series
   * recorded before stay exported, as counters must not go back.
   */
  setMetricsPolicy(policy: MetricsPolicy): void {
    this.overriding = policy !== undefined;
    if (!policy) return;
    for (const [metric, plan] of policy) this.overrides.get(metric)?.setPlan(plan);
  }

  /** Label sets an override could not record because the metric holds too many. */
  readonly seriesOverflow: Counter;

  /** One finished HTTP request; `record` feeds the tag overrides' expressions. */
  observeRequest(k: SeriesKey<IstioRequestLabels>, durationMs: number, requestBytes: number, responseBytes: number, requestMessages = 0, responseMessages = 0, record?: AccessRecord): void {
    if (this.overriding) {
      this.observeOverridden('REQUEST_COUNT', k, record, (s) => (s.n += 1));
      this.observeOverridden('REQUEST_DURATION', k, record, (s) => s.h?.observe(durationMs));
      this.observeOverridden('REQUEST_SIZE', k, record, (s) => s.h?.observe(requestBytes));
      this.observeOverridden('RESPONSE_SIZE', k, record, (s) => s.h?.observe(responseBytes));
      this.observeOverridden('GRPC_REQUEST_MESSAGES', k, record, (s) => (s.n += requestMessages));
      this.observeOverridden('GRPC_RESPONSE_MESSAGES', k, record, (s) => (s.n += responseMessages));
      return;
    }
    const s = this.requests.get(k);
    s.requests++;
    s.requestMessages += requestMessages;
    s.responseMessages += responseMessages;
    s.duration.observe(durationMs);
    s.requestBytes.observe(requestBytes);
    s.responseBytes.observe(responseBytes);
  }

  /** A TCP connection opened (counted now, so a long connection shows before it ends). */
  observeTcpOpened(k: SeriesKey<IstioTcpLabels>, record?: AccessRecord): void {
    if (this.overriding) this.observeOverridden('TCP_OPENED_CONNECTIONS', k, record, (s) => (s.n += 1));
    else this.tcp.get(k).opened++;
  }

  /**
   * One finished TCP connection: closed and its bytes, and opened too unless it was counted when
   * it opened (`openedEarlier`; connections that failed before bytes could flow are counted here).
   */
  observeTcp(k: SeriesKey<IstioTcpLabels>, sentBytes: number, receivedBytes: number, record?: AccessRecord, openedEarlier = false): void {
    if (this.overriding) {
      if (!openedEarlier) this.observeOverridden('TCP_OPENED_CONNECTIONS', k, record, (s) => (s.n += 1));
      this.observeOverridden('TCP_CLOSED_CONNECTIONS', k, record, (s) => (s.n += 1));
      this.observeOverridden('TCP_SENT_BYTES', k, record, (s) => (s.n += sentBytes));
      this.observeOverridden('TCP_RECEIVED_BYTES', k, record, (s) => (s.n += receivedBytes));
      return;
    }
    const s = this.tcp.get(k);
    if (!openedEarlier) s.opened++;
    s.closed++;
    s.sent += sentBytes;
    s.received += receivedBytes;
  }

  /** Bytes an open TCP connection carried since its last report ({@link LiveTcpBytes}). */
  observeTcpBytes(k: SeriesKey<IstioTcpLabels>, sentBytes: number, receivedBytes: number, record?: AccessRecord): void {
    if (this.overriding) {
      this.observeOverridden('TCP_SENT_BYTES', k, record, (s) => (s.n += sentBytes));
      this.observeOverridden('TCP_RECEIVED_BYTES', k, record, (s) => (s.n += receivedBytes));
      return;
    }
    const s = this.tcp.get(k);
    s.sent += sentBytes;
    s.received += receivedBytes;
  }

  private observeOverridden(metric: IstioMetricName, k: SeriesKey<Readonly<Record<string, string>>>, record: AccessRecord | undefined, update: (s: MetricSlot) => void): void {
    const o = this.overrides.get(metric);
    if (!o) return;
    const slot = o.slot(k, record);
    if (slot) update(slot);
    else if (!o.disabled) this.seriesOverflow.inc();
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
