/**
 * Fixed-destination outbound listeners: a local port that behaves like a connection captured on
 * the way out of a given workload to a given destination (what ztunnel's 15001 sees after
 * `SO_ORIGINAL_DST`), without any handshake. Load generators such as wrk and h2load speak plain
 * HTTP to it and reach the mesh path (client ztunnel → waypoint or destination ztunnel) as that
 * workload would, which SOCKS5 cannot offer them.
 *
 * Spec (`--outbound-fixed`, repeatable): `<listenHost>:<listenPort>=<source>-><host>:<port>`, where
 * `<source>` is a pod of this node as `namespace/name` or its IP, and `<host>` a Service name (as the
 * source pod's resolver would expand it), a Service VIP, or a pod IP. Example:
 * `127.0.0.1:18080=default/sleep->reviews:9080`.
 *
 * The source is resolved per connection from the current view, so a spec may name a pod that
 * appears later; until then connections are reset.
 */
import type { Socket } from 'node:net';
const { isIP } = process.getBuiltinModule('node:net');
import { AcceptingListener } from '../net/accepting-listener.js';
import { resetSocket } from '../net/sockets.js';
import type { MeshView } from '../state/mesh-view.js';
import { localPod } from './local-pod.js';
import type { OutboundOptions } from './outbound.js';
import { serveOutbound } from './outbound.js';
import type { Socks5ReplyCode } from './socks5.js';
import { SOCKS5_REPLY } from './socks5.js';

export interface FixedOutboundSpec {
  readonly listenHost: string;
  readonly listenPort: number;
  /** `namespace/name` or a pod IP. */
  readonly source: string;
  readonly host: string;
  readonly port: number;
}

const SPEC_SHAPE = /^(.+):(\d{1,5})=([^=]+)->(.+):(\d{1,5})$/;

/** Parses one `--outbound-fixed` value; a clear message for anything malformed. */
export type FixedOutboundParse = { readonly ok: true; readonly value: FixedOutboundSpec } | { readonly ok: false; readonly message: string };

export function parseFixedOutbound(text: string): FixedOutboundParse {
  const bad = (why: string): FixedOutboundParse => ({ ok: false, message: `--outbound-fixed ${JSON.stringify(text)}: ${why}` });
  const m = SPEC_SHAPE.exec(text.trim());
  if (!m) return bad('expected <listenHost>:<port>=<namespace/pod or podIP>-><host>:<port>');
  const [, listenHost = '', listenPort = '', source = '', host = '', port = ''] = m;
  const lp = Number(listenPort);
  const dp = Number(port);
  if (lp > 65535 || dp < 1 || dp > 65535) return bad('port out of range');
  const bareListen = listenHost.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bareListen) === 0) return bad('listen host must be an IP address');
  if (!source.includes('/') && isIP(source) === 0) return bad('source must be namespace/pod or a pod IP');
  return { ok: true, value: { listenHost: bareListen, listenPort: lp, source, host: host.replace(/^\[(.*)\]$/, '$1'), port: dp } };
}

export interface FixedOutboundContext {
  readonly node: string;
  readonly view: () => MeshView;
  /** Everything serveOutbound needs except the view (taken per connection). */
  readonly outbound: Omit<OutboundOptions, 'view' | 'reply'>;
  /** Connection handlers, tracked by the ztunnel so close() awaits them. */
  readonly track: (p: Promise<void>) => void;
  /** Client sockets, so the ztunnel can force them closed at its drain deadline. */
  readonly clients: Set<Socket>;
}

/** A captured connection has no reply channel: success is silence, failure a reset. */
function captureReply(client: Socket, code: Socks5ReplyCode): void {
  if (code !== SOCKS5_REPLY.SUCCEEDED) resetSocket(client);
}

export class FixedOutboundListener extends AcceptingListener {
  constructor(
    readonly spec: FixedOutboundSpec,
    private readonly ctx: FixedOutboundContext,
  ) {
    super(spec.listenHost, spec.listenPort);
  }

  protected onConnection(socket: Socket): void {
    const view = this.ctx.view();
    const source = localPod(view, this.ctx.node, this.spec.source);
    if (!source) {
      resetSocket(socket);
      return;
    }
    this.ctx.clients.add(socket);
    socket.once('close', () => this.ctx.clients.delete(socket));
    const isIp = isIP(this.spec.host) !== 0;
    this.ctx.track(serveOutbound(socket, source, { addressType: isIp ? 'ipv4' : 'domain', host: this.spec.host, port: this.spec.port, isIp }, { ...this.ctx.outbound, view, reply: captureReply }));
  }
}
