/**
 * The waypoint's record sink: every access record becomes Istio metrics (`reporter="waypoint"`)
 * and, unless logging is off, one access-log line. The data path hands over a record once; this
 * is the only place that turns it into telemetry.
 */
import { failureInfo } from '../failures.js';
import type { ViewSource } from '../state/view-source.js';
import type { LogFormatIR } from '../config/log-format.js';
import type { AccessLogSink, AccessRecord } from './access-record.js';
import { renderLogFormat } from './log-format-render.js';
import type { AccessLogFormat } from './access-log.js';
import { formatEnvoyJson, formatEnvoyText } from './access-log.js';
import { WaypointLabeler } from './istio-labels.js';
import { LiveTcpBytes } from './live-tcp-bytes.js';
import type { ProxyMetrics } from './metrics.js';

export interface WaypointTelemetryOptions {
  readonly metrics: ProxyMetrics;
  readonly view: ViewSource;
  readonly format: AccessLogFormat;
  /** Where a log line goes (newline included); default stdout. */
  readonly write?: (line: string) => void;
  /** How often open TCP connections report their bytes (default Istio's 15 s). */
  readonly tcpReportingIntervalMs?: number;
  /** Also given every record (tests, other exporters). */
  readonly also?: AccessLogSink;
}

/** How a request answered because a filter threw is recorded (src/failures.ts `FILTER_FAILED`). */
const FILTER_FAILED_DETAILS = failureInfo('FILTER_FAILED').details;

const writeStdout = (line: string): void => void process.stdout.write(line);

export class WaypointTelemetry {
  private format: AccessLogFormat;
  private readonly labeler: WaypointLabeler;
  private readonly write: (line: string) => void;
  /** Bound once, handed to the waypoint. */
  readonly sink: AccessLogSink = Object.assign((r: AccessRecord) => this.record(r), { opened: (r: AccessRecord) => this.opened(r) });

  constructor(private readonly opts: WaypointTelemetryOptions) {
    this.format = opts.format;
    this.write = opts.write ?? writeStdout;
    this.live = new LiveTcpBytes(opts.metrics, opts.tcpReportingIntervalMs);
    this.labeler = new WaypointLabeler(() => opts.view.current());
  }

  /** A provider's custom line format (mesh config `logFormat`), when one applies. */
  private custom: LogFormatIR | undefined;

  /** Switches the access-log format at run time (flag, Telemetry API, mesh config). */
  setFormat(format: AccessLogFormat, custom?: LogFormatIR): void {
    this.format = format;
    this.custom = custom;
  }

  get accessLogFormat(): AccessLogFormat {
    return this.format;
  }

  /** Open TCP connections whose bytes are reported periodically. */
  readonly live: LiveTcpBytes;

  private opened(r: AccessRecord): void {
    try {
      const k = this.labeler.tcp(r);
      this.opts.metrics.observeTcpOpened(k, r);
      if (r.tally) this.live.track(r.tally, k, r);
    } catch {
      this.opts.metrics.telemetryErrors.inc();
    }
  }

  private record(r: AccessRecord): void {
    const m = this.opts.metrics;
    if (r.responseFlags !== '-') countConnectionFailures(m, r.responseFlags);
    try {
      switch (r.kind) {
        case 'http':
          m.observeRequest(this.labeler.request(r), r.durationMs, r.bytesReceived, r.bytesSent, r.requestMessages, r.responseMessages, r);
          if (r.responseCodeDetails === FILTER_FAILED_DETAILS) m.filterErrors.inc();
          break;
        case 'tcp': {
          // What periodic reports already counted is not counted again.
          const reported = this.live.finish(r.tally);
          m.observeTcp(this.labeler.tcp(r), r.bytesSent - reported.sent, r.bytesReceived - reported.received, r, r.openReported === true);
          break;
        }
      }
    } catch {
      // A sink must not throw into the data path; a bug here shows as a counter.
      m.telemetryErrors.inc();
    }
    switch (this.format) {
      case 'text':
        this.write(`${this.custom ? renderLogFormat(this.custom, r) : formatEnvoyText(r)}\n`);
        break;
      case 'json':
        this.write(`${this.custom ? renderLogFormat(this.custom, r) : formatEnvoyJson(r)}\n`);
        break;
      case 'off':
        break;
    }
    this.opts.also?.(r);
  }
}

/**
 * Envoy's response flags that mean a connection (not a request) failed: upstream connect failure,
 * no healthy upstream, overflow, upstream/downstream connection terminated, local reset, retries
 * exhausted on connection errors. Each one in the record's flags is counted as its own reason.
 */
const CONNECTION_FLAGS: ReadonlySet<string> = new Set(['UF', 'UH', 'UO', 'UC', 'DC', 'LR', 'URX']);

function countConnectionFailures(m: ProxyMetrics, flags: string): void {
  for (const f of flags.split(',')) if (CONNECTION_FLAGS.has(f)) m.failedConnections.inc({ reason: f, response_flag: flags });
}
