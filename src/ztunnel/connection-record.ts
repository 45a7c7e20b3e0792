/**
 * One access record per proxied connection, shaped like ztunnel's `connection complete` log line
 * (istio/ztunnel src/proxy/metrics.rs), so logs read the same as a real ambient mesh's:
 *
 *   connection complete src.addr=127.1.0.5:41234 src.workload=sleep src.namespace=default
 *   src.identity="spiffe://cluster.local/ns/default/sa/sleep" dst.addr=127.1.0.9:15008
 *   dst.hbone_addr=127.1.0.9:9080 dst.service=reviews.default.svc.cluster.local dst.workload=reviews
 *   dst.namespace=default dst.identity="spiffe://…/sa/reviews" direction="outbound"
 *   bytes_sent=12 bytes_recv=34 duration="5ms"
 *
 * Byte counts are from the source's point of view, as ztunnel reports them: `bytes_sent` = what
 * the source sent towards the destination, `bytes_recv` = what came back to the source.
 */
import type { FailureCode } from '../failures.js';
import { failureInfo } from '../failures.js';
import type { ByteTally } from '../net/splice.js';

export type ConnectionDirection = 'inbound' | 'outbound';

export interface ConnectionRecord {
  /** Unique within the process: the `opened` and final records of one connection share it. */
  readonly id: number;
  readonly direction: ConnectionDirection;
  readonly startTime: Date;
  /** `ip:port` of the connection's source (client pod, or the peer seen on inbound). */
  readonly srcAddr: string;
  readonly srcWorkload?: string;
  readonly srcNamespace?: string;
  readonly srcIdentity?: string;
  /** Where bytes went: `ip:15008` for HBONE, `ip:port` for plain TCP. */
  readonly dstAddr?: string;
  /** The CONNECT `:authority`, for HBONE hops. */
  readonly dstHboneAddr?: string;
  readonly dstService?: string;
  readonly dstWorkload?: string;
  readonly dstNamespace?: string;
  readonly dstIdentity?: string;
  /** The waypoint (`namespace/name`) that served a connection sent through one. */
  readonly waypoint?: string;
  /** Which of a weighted waypoint set (Istio 1.31 canary) this connection drew; absent without a set. */
  readonly waypointRole?: 'primary' | 'canary';
  readonly bytesSent: number;
  readonly bytesRecv: number;
  readonly durationMs: number;
  /** Set when the connection failed before or during the copy. */
  readonly failure?: FailureCode;
  /** ztunnel/Envoy-style response flag of the failure (`DENY`, `CONNECT`, `UH`...). */
  readonly responseFlag?: string;
  readonly error?: string;
  /** The sink was told when the connection opened ({@link ConnectionRecordSink.opened}). */
  readonly openReported?: true;
  /**
   * The connection's live byte counts (`aToB` = bytes_sent, `bToA` = bytes_recv), on the records
   * of a connection that carried bytes: the sink may report them while it is open.
   */
  readonly tally?: ByteTally;
}

/**
 * Where records go: called once per connection when it ends. A sink with `opened` is also told
 * when bytes start to flow (a record with the fields known then, zero bytes), so Istio's
 * `istio_tcp_connections_opened_total` counts a long connection while it is still open.
 */
export type ConnectionRecordSink = ((record: ConnectionRecord) => void) & { readonly opened?: (record: ConnectionRecord) => void };

/** Writes each record as one ztunnel-style line to stdout. */
export const stdoutRecordSink: ConnectionRecordSink = (rec) => {
  process.stdout.write(`${formatConnectionRecord(rec)}\n`);
};

/** The mutable fields a proxy fills in as the connection progresses. */
export type ConnectionRecordFields = Omit<ConnectionRecord, 'id' | 'direction' | 'startTime' | 'srcAddr' | 'bytesSent' | 'bytesRecv' | 'durationMs' | 'failure' | 'responseFlag' | 'error'>;

let lastRecordId = 0;

/**
 * A record being built: `set` what becomes known (destination, identities), then `complete` once;
 * later calls are ignored, so every exit path can call it without double-logging.
 */
export class PendingConnectionRecord {
  private fields: Partial<ConnectionRecordFields> = {};
  private readonly id = ++lastRecordId;
  private readonly startTime = new Date();
  private readonly startNs = process.hrtime.bigint();
  private done = false;
  private openReported = false;
  private tally: ByteTally | undefined;

  constructor(
    private readonly sink: ConnectionRecordSink | undefined,
    private readonly direction: ConnectionDirection,
    private readonly srcAddr: string,
  ) {}

  set(fields: Partial<ConnectionRecordFields>): void {
    this.fields = { ...this.fields, ...fields };
  }

  /**
   * The connection is established (bytes may flow, counted into `tally` by the splice): tells a
   * sink that counts openings and reports bytes while the connection lasts.
   */
  established(tally?: ByteTally): void {
    const opened = this.sink?.opened;
    if (this.done || this.openReported || !opened) return;
    this.openReported = true;
    this.tally = tally;
    opened({ ...this.fields, id: this.id, direction: this.direction, startTime: this.startTime, srcAddr: this.srcAddr, bytesSent: 0, bytesRecv: 0, durationMs: 0, ...(tally ? { tally } : {}) });
  }

  complete(bytesSent: number, bytesRecv: number, failure?: { readonly code: FailureCode; readonly message?: string } | { readonly error: string }): void {
    if (this.done) return;
    this.done = true;
    if (!this.sink) return;
    const durationMs = Number(process.hrtime.bigint() - this.startNs) / 1e6;
    let fail: Pick<ConnectionRecord, 'failure' | 'responseFlag' | 'error'> = {};
    if (failure && 'code' in failure) {
      fail = { failure: failure.code, responseFlag: failureInfo(failure.code).flag, error: failure.message ?? failureInfo(failure.code).details };
    } else if (failure) {
      fail = { error: failure.error };
    }
    this.sink({
      ...this.fields,
      id: this.id,
      direction: this.direction,
      startTime: this.startTime,
      srcAddr: this.srcAddr,
      bytesSent,
      bytesRecv,
      durationMs,
      ...fail,
      ...(this.openReported ? { openReported: true as const } : {}),
      ...(this.tally ? { tally: this.tally } : {}),
    });
  }
}

/** ztunnel's field order; identities and strings with spaces quoted. */
export function formatConnectionRecord(r: ConnectionRecord): string {
  const parts: string[] = ['connection complete', `src.addr=${r.srcAddr}`];
  const add = (key: string, value: string | undefined, quote = false): void => {
    if (value === undefined || value === '') return;
    parts.push(quote || /[\s"]/.test(value) ? `${key}=${JSON.stringify(value)}` : `${key}=${value}`);
  };
  add('src.workload', r.srcWorkload);
  add('src.namespace', r.srcNamespace);
  add('src.identity', r.srcIdentity, true);
  add('dst.addr', r.dstAddr);
  add('dst.hbone_addr', r.dstHboneAddr);
  add('dst.service', r.dstService);
  add('dst.workload', r.dstWorkload);
  add('dst.namespace', r.dstNamespace);
  add('dst.identity', r.dstIdentity, true);
  add('dst.waypoint', r.waypoint);
  add('dst.waypoint_role', r.waypointRole);
  add('direction', r.direction, true);
  parts.push(`bytes_sent=${r.bytesSent}`, `bytes_recv=${r.bytesRecv}`, `duration="${Math.round(r.durationMs)}ms"`);
  add('response_flag', r.responseFlag);
  add('error', r.error, true);
  return parts.join(' ');
}
