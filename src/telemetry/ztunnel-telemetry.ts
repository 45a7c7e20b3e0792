/**
 * The ztunnel's record sink: every connection record becomes Istio's four TCP metrics (reporter
 * `source` on outbound, `destination` on inbound, as ztunnel reports) and, unless logging is off,
 * one ztunnel-style access line.
 */
import type { ViewSource } from '../state/view-source.js';
import type { ConnectionRecord, ConnectionRecordSink } from '../ztunnel/connection-record.js';
import type { AccessLogFormat } from './access-log.js';
import { formatZtunnelJson, formatZtunnelText } from './access-log.js';
import { ZtunnelLabeler } from './istio-labels.js';
import { LiveTcpBytes } from './live-tcp-bytes.js';
import type { ProxyMetrics } from './metrics.js';

export interface ZtunnelTelemetryOptions {
  readonly metrics: ProxyMetrics;
  readonly view: ViewSource;
  readonly format: AccessLogFormat;
  /** Where a log line goes (newline included); default stdout. */
  readonly write?: (line: string) => void;
  /** How often open TCP connections report their bytes (default Istio's 15 s). */
  readonly tcpReportingIntervalMs?: number;
  /** Also given every record (tests). */
  readonly also?: ConnectionRecordSink;
}

const writeStdout = (line: string): void => void process.stdout.write(line);

export class ZtunnelTelemetry {
  private format: AccessLogFormat;
  private readonly labeler: ZtunnelLabeler;
  private readonly write: (line: string) => void;
  /** Bound once, handed to the ztunnel; `opened` counts connections when bytes start to flow. */
  readonly sink: ConnectionRecordSink = Object.assign((r: ConnectionRecord) => this.record(r), { opened: (r: ConnectionRecord) => this.opened(r) });

  constructor(private readonly opts: ZtunnelTelemetryOptions) {
    this.format = opts.format;
    this.write = opts.write ?? writeStdout;
    this.live = new LiveTcpBytes(opts.metrics, opts.tcpReportingIntervalMs);
    this.labeler = new ZtunnelLabeler(() => opts.view.current());
  }


  setFormat(format: AccessLogFormat): void {
    this.format = format;
  }

  get accessLogFormat(): AccessLogFormat {
    return this.format;
  }

  /** Open TCP connections whose bytes are reported periodically. */
  readonly live: LiveTcpBytes;

  private opened(r: ConnectionRecord): void {
    try {
      const k = this.labeler.tcp(r);
      this.opts.metrics.observeTcpOpened(k);
      if (r.tally) this.live.track(r.tally, k);
    } catch {
      this.opts.metrics.telemetryErrors.inc();
    }
  }

  private record(r: ConnectionRecord): void {
    const m = this.opts.metrics;
    if (r.failure !== undefined) m.failedConnections.inc({ reason: r.failure, response_flag: r.responseFlag ?? '-' });
    if (r.waypoint !== undefined && r.direction === 'outbound') {
      m.waypointConnections.inc({ destination_service: r.dstService ?? 'unknown', waypoint: r.waypoint, waypoint_role: r.waypointRole ?? 'none', response_flags: r.responseFlag ?? '-' });
    }
    try {
      // Istio's direction: "received" is what the source sent (request direction). What periodic
      // reports already counted is not counted again.
      const reported = this.live.finish(r.tally);
      m.observeTcp(this.labeler.tcp(r), r.bytesRecv - reported.sent, r.bytesSent - reported.received, undefined, r.openReported === true);
    } catch {
      m.telemetryErrors.inc();
    }
    switch (this.format) {
      case 'text':
        this.write(`${formatZtunnelText(r)}\n`);
        break;
      case 'json':
        this.write(`${formatZtunnelJson(r)}\n`);
        break;
      case 'off':
        break;
    }
    this.opts.also?.(r);
  }
}
