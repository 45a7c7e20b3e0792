/**
 * HTTP inside HBONE tunnels: serves HTTP/1.1 or HTTP/2 prior knowledge on an accepted tunnel
 * stream and runs each request as an {@link HttpExchange}.
 *
 * HTTP/1.1 is the waypoint's own codec (src/http1/) on the tunnel's bytes, one
 * {@link H1DownstreamConnection} per tunnel. HTTP/2 is the waypoint's own codec (src/http2/, one
 * connection per tunnel), or Node's nghttp2 session with `AMBIENT_H2_CODEC=nghttp2`
 * (`h2-downstream-choice.ts`).
 * Tunnel streams arrive hardened against the Node 20 pitfalls (src/hbone/tunnel-stream.ts).
 */
import type { Duplex } from 'node:stream';
import type { ExchangeDeps } from './http-exchange.js';
import { fixedConnection, type HttpConnection, type HttpConnectionSource } from './http-connection.js';
import { HttpExchange } from './http-exchange.js';
import type { HttpLimits } from './http-limits.js';
import { httpLimits } from './http-limits.js';
import { H1DownstreamConnection, type H1ConnectionOwner } from './h1-downstream-connection.js';
import type { H1DownstreamRequest } from './h1-downstream-request.js';
import { createH2Downstream, type InnerH2Server } from './h2-downstream-choice.js';

export type InnerHttpProtocol = 'http1' | 'http2';

export class HttpProxy implements H1ConnectionOwner<HttpConnectionSource> {
  private readonly h2: InnerH2Server;
  private readonly tunnels = new Set<Duplex>();
  /** HTTP/1 tunnels → their connection. */
  private readonly h1 = new Map<Duplex, H1DownstreamConnection<HttpConnectionSource>>();
  private closing = false;
  /** Set at the drain deadline: anything still arriving is refused. */
  private forced = false;

  private readonly deps: ExchangeDeps;
  readonly limits: HttpLimits;

  constructor(deps: ExchangeDeps, limits?: Partial<HttpLimits>) {
    this.deps = deps;
    this.limits = httpLimits(limits);
    this.h2 = createH2Downstream(this.limits, (conn, down) => new HttpExchange(this.deps, conn.current(), down).start());
  }

  /**
   * Serves HTTP on an accepted tunnel. The stream may be paused with bytes put back (after
   * sniffing); it is resumed here. Each request takes the facts `conn` has when it starts.
   */
  serve(stream: Duplex, protocol: InnerHttpProtocol, facts: HttpConnection | HttpConnectionSource): void {
    const conn = 'current' in facts ? facts : fixedConnection(facts);
    // A tunnel that died while being sniffed never gets a 'close' again: do not track it. One
    // accepted just before a drain began is still served (its request is likely already on the
    // wire): HTTP/1 with `connection: close`, HTTP/2 with GOAWAY(2^31-1) at once (streams already
    // sent are served) and the final GOAWAY a moment later.
    if (this.forced || stream.destroyed) {
      stream.destroy();
      return;
    }
    this.tunnels.add(stream);
    stream.once('close', () => this.tunnels.delete(stream));
    if (protocol === 'http1') {
      const c = new H1DownstreamConnection(stream, this, this.limits, conn);
      if (this.closing) c.drain();
      this.h1.set(stream, c);
      c.start();
      return;
    }
    this.h2.serve(stream, conn);
  }

  /** Open tunnels carrying HTTP (tests, admin). */
  get openTunnels(): number {
    return this.tunnels.size;
  }

  /**
   * Drains, then forces at the deadline: HTTP/2 sessions get GOAWAY; HTTP/1 connections answer
   * what arrives with `connection: close` and end after it; those still idle at the deadline end
   * then (the end of the drain), those still busy are reset.
   */
  async close(deadlineMs: number): Promise<void> {
    this.drain();
    const deadline = Date.now() + deadlineMs;
    while (this.tunnels.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.forced = true;
    for (const c of this.h1.values()) {
      if (c.idle) c.closeIdle();
      else c.destroy();
    }
    for (const t of this.tunnels) if (!this.h1.has(t)) t.destroy();
    this.h2.destroyAll();
  }

  /**
   * Starts draining without a deadline (Envoy's drain): HTTP/2 sessions get GOAWAY; HTTP/1 has
   * no GOAWAY, so every response from now on says `connection: close` and its connection ends
   * after it. Idle HTTP/1 connections stay until the drain ends ({@link close}): a client may be
   * sending a request on one right now, and it will be served.
   */
  drain(): void {
    if (this.closing) return;
    this.closing = true;
    this.h2.drain();
    for (const c of this.h1.values()) c.drain();
  }

  // --- H1ConnectionOwner ---

  startExchange(req: H1DownstreamRequest, conn: HttpConnectionSource): void {
    new HttpExchange(this.deps, conn.current(), req).start();
  }

  connectionGone(tunnel: Duplex): void {
    this.h1.delete(tunnel);
  }
}
