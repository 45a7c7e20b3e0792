/**
 * The HBONE connection pool: one HTTP/2 connection carries many CONNECT streams.
 *
 * Key: (source identity, sorted expected identities, address:port, local address), as ztunnel's
 * `WorkloadKey` — a connection authenticated as one source, to a server verified as one of a set
 * of identities, from one source IP, is only reusable for exactly that combination.
 *
 * A connection takes streams while it has fewer than min(100, the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS) (ztunnel's POOL_MAX_STREAMS_PER_CONNECTION); streams are
 * reserved before the connection is up, so a burst of dials fills one connection before opening
 * the next instead of opening one each. A connection with no streams is released after an idle
 * timeout (5 min). A server GOAWAY retires a connection for new streams; open ones continue, and
 * a stream the server refused unprocessed (REFUSED_STREAM, e.g. racing the GOAWAY) is sent once
 * more on another connection.
 *
 * Until a new connection's SETTINGS arrive its limit is taken to be 100 (streams are not held back
 * for that round trip); a server advertising fewer makes nghttp2 queue the excess of that first
 * burst until earlier streams finish. Later picks use the advertised limit.
 */
import type { SpiffeUri } from '../config/ir.js';
import type { Outcome } from '../failures.js';
import type { CertSource } from '../identity/tls-material.js';
import type { HboneClientConnection } from './client.js';
import { connectHbone } from './client.js';
import type { KeepaliveOptions } from './keepalive.js';
import { DIAL_TIMEOUT_MS, POOL_IDLE_TIMEOUT_MS, POOL_MAX_STREAMS_PER_CONNECTION } from './settings.js';
import type { HboneDial, HboneDialResult } from './types.js';

export interface HbonePoolOptions {
  /** Where the roots that server certificates must chain to come from. */
  readonly trust: Pick<CertSource, 'rootsPem'>;
  readonly maxStreamsPerConnection?: number;
  readonly idleTimeoutMs?: number;
  /** TCP + TLS, and separately the CONNECT answer, must each arrive within this; default 10 s. */
  readonly dialTimeoutMs?: number;
  readonly keepalive?: KeepaliveOptions;
}

export interface HbonePoolStats {
  /** Connections open or being opened, including ones draining after a GOAWAY. */
  readonly connections: number;
  /** Streams reserved or open across all connections. */
  readonly streams: number;
}

interface Slot {
  readonly key: string;
  /** Streams reserved (dials in progress) or open. */
  reserved: number;
  conn?: HboneClientConnection;
  readonly ready: Promise<Outcome<HboneClientConnection>>;
  /** No new streams: failed, GOAWAY received, or idle-released. */
  retired: boolean;
  idleTimer?: NodeJS.Timeout;
}

export class HbonePool {
  private readonly byKey = new Map<string, Slot[]>();
  private readonly all = new Set<Slot>();
  private readonly maxStreams: number;
  private readonly idleTimeoutMs: number;
  private readonly dialTimeoutMs: number;
  private closed = false;

  constructor(private readonly opts: HbonePoolOptions) {
    this.maxStreams = opts.maxStreamsPerConnection ?? POOL_MAX_STREAMS_PER_CONNECTION;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? POOL_IDLE_TIMEOUT_MS;
    this.dialTimeoutMs = opts.dialTimeoutMs ?? DIAL_TIMEOUT_MS;
  }

  async dial(d: HboneDial): Promise<HboneDialResult> {
    if (this.closed) return { ok: false, code: 'UPSTREAM_CONNECT_FAILED', message: 'HBONE pool is closed' };
    if (d.expectedIdentities.length === 0) return { ok: false, code: 'UPSTREAM_IDENTITY_MISMATCH', message: 'no expected identity given' };
    const key = poolKey(d);
    // Two attempts: a connection picked while healthy may get a GOAWAY before our stream goes
    // out; the server then refuses the stream unprocessed, and it is sent once more elsewhere.
    for (let attempt = 0; ; attempt++) {
      const slot = this.pick(key) ?? this.open(key, d);
      slot.reserved++;
      this.clearIdle(slot);
      const ready = await slot.ready;
      if (!ready.ok) {
        this.release(slot);
        return ready;
      }
      const conn = ready.value;
      if (!conn.usable && attempt === 0) {
        this.release(slot);
        continue;
      }
      const result = await conn.request(d.authority, d.headers, this.dialTimeoutMs, () => this.release(slot));
      if (!result.ok && 'retryable' in result) {
        this.retire(slot);
        if (attempt === 0 && !this.closed) continue;
        return { ok: false, code: result.code, message: result.message };
      }
      return result;
    }
  }

  stats(): HbonePoolStats {
    let streams = 0;
    for (const s of this.all) streams += s.reserved;
    return { connections: this.all.size, streams };
  }

  /**
   * Stops new dials, sends GOAWAY on every connection and lets open streams finish until
   * `deadlineMs` has passed, then destroys what is left.
   */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    this.byKey.clear();
    const slots = [...this.all];
    const gone = slots.map((s) => slotGone(s));
    for (const s of slots) {
      this.clearIdle(s);
      s.retired = true;
      s.conn?.close();
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      timer.unref();
    });
    await Promise.race([Promise.all(gone), expired]);
    clearTimeout(timer);
    for (const s of slots) s.conn?.destroy();
    await Promise.all(gone);
  }

  private pick(key: string): Slot | undefined {
    const slots = this.byKey.get(key);
    if (!slots) return undefined;
    for (const s of slots) {
      if (s.retired) continue;
      if (s.conn && !s.conn.usable) continue;
      const limit = s.conn ? Math.min(this.maxStreams, s.conn.peerMaxConcurrentStreams) : this.maxStreams;
      if (s.reserved < limit) return s;
    }
    return undefined;
  }

  private open(key: string, d: HboneDial): Slot {
    const ready = connectHbone({
      source: d.source,
      rootsPem: this.opts.trust.rootsPem(),
      expectedIdentities: d.expectedIdentities,
      address: d.address,
      port: d.port,
      timeoutMs: this.dialTimeoutMs,
      ...(d.localAddress ? { localAddress: d.localAddress } : {}),
      ...(this.opts.keepalive ? { keepalive: this.opts.keepalive } : {}),
    });
    const slot: Slot = { key, reserved: 0, ready, retired: false };
    let list = this.byKey.get(key);
    if (!list) this.byKey.set(key, (list = []));
    list.push(slot);
    this.all.add(slot);
    void ready.then((r) => {
      if (!r.ok) {
        this.retire(slot);
        this.all.delete(slot);
        return;
      }
      slot.conn = r.value;
      r.value.onChange(() => {
        if (!r.value.usable) this.retire(slot);
      });
      r.value.onClose(() => {
        this.retire(slot);
        this.clearIdle(slot);
        this.all.delete(slot);
      });
      // The pool closed while this connection was being opened.
      if (this.closed) r.value.close();
      else if (slot.reserved === 0) this.armIdle(slot);
    });
    return slot;
  }

  private release(slot: Slot): void {
    slot.reserved--;
    if (slot.reserved === 0 && slot.conn && !slot.conn.closed) {
      if (slot.retired) slot.conn.close();
      else this.armIdle(slot);
    }
  }

  private armIdle(slot: Slot): void {
    this.clearIdle(slot);
    slot.idleTimer = setTimeout(() => {
      if (slot.reserved > 0) return;
      this.retire(slot);
      slot.conn?.close();
    }, this.idleTimeoutMs);
    slot.idleTimer.unref();
  }

  private clearIdle(slot: Slot): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
  }

  /** Takes a slot out of its key's list so no new stream is put on it. */
  private retire(slot: Slot): void {
    if (slot.retired && !this.byKey.get(slot.key)?.includes(slot)) return;
    slot.retired = true;
    const list = this.byKey.get(slot.key);
    if (!list) return;
    const i = list.indexOf(slot);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byKey.delete(slot.key);
  }
}

/** The pool key; identities sorted so the same set in another order shares connections. */
export function poolKey(d: Pick<HboneDial, 'source' | 'expectedIdentities' | 'address' | 'port' | 'localAddress'>): string {
  const expected: SpiffeUri[] = d.expectedIdentities.length === 1 ? [...d.expectedIdentities] : [...d.expectedIdentities].sort();
  return `${d.source.identity}\n${expected.join(' ')}\n${d.address}:${d.port}\n${d.localAddress ?? ''}`;
}

function slotGone(slot: Slot): Promise<void> {
  return slot.ready.then((r) => {
    if (!r.ok || r.value.closed) return;
    return new Promise<void>((resolve) => r.value.onClose(resolve));
  });
}
