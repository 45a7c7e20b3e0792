/**
 * Fixed-destination plaintext inbound listeners (`--inbound-fixed`, repeatable), the inbound twin of
 * `--outbound-fixed`: a local port that behaves like a plaintext connection captured on its way
 * into a given pod port (what ztunnel's 15006 sees after `SO_ORIGINAL_DST`), with no header, so
 * plain clients (curl, wrk) reach the plaintext inbound path: PeerAuthentication mode, then L4
 * AuthorizationPolicy without a peer identity, then the app. The source is the connecting address.
 *
 * Spec: `<listenHost>:<listenPort>=<namespace/pod or podIP>:<port>`, e.g.
 * `127.0.0.1:18090=default/reviews-v1:9080`. The pod is resolved per connection from the current
 * view (it must be an ambient pod of this node); until it exists connections are closed.
 */
import type { Socket } from 'node:net';
const { isIP } = process.getBuiltinModule('node:net');
import { unmapV4 } from '../net/cidr.js';
import { AcceptingListener } from '../net/accepting-listener.js';
import { PendingConnectionRecord } from './connection-record.js';
import { localPod } from './local-pod.js';
import { servePlaintextInbound } from './plaintext-inbound.js';
import type { PlaintextListenerContext } from './proxy-inbound-listeners.js';
import { adoptClient } from './proxy-inbound-listeners.js';

export interface FixedInboundSpec {
  readonly listenHost: string;
  readonly listenPort: number;
  /** `namespace/name` or a pod IP. */
  readonly pod: string;
  readonly port: number;
}

const SPEC_SHAPE = /^(.+):(\d{1,5})=([^=]+):(\d{1,5})$/;

export type FixedInboundParse = { readonly ok: true; readonly value: FixedInboundSpec } | { readonly ok: false; readonly message: string };

export function parseFixedInbound(text: string): FixedInboundParse {
  const bad = (why: string): FixedInboundParse => ({ ok: false, message: `--inbound-fixed ${JSON.stringify(text)}: ${why}` });
  const m = SPEC_SHAPE.exec(text.trim());
  if (!m) return bad('expected <listenHost>:<port>=<namespace/pod or podIP>:<port>');
  const [, listenHost = '', listenPort = '', pod = '', port = ''] = m;
  const lp = Number(listenPort);
  const dp = Number(port);
  if (lp > 65535 || dp < 1 || dp > 65535) return bad('port out of range');
  const bareListen = listenHost.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bareListen) === 0) return bad('listen host must be an IP address');
  if (!/^[a-z0-9.-]+\/[a-z0-9.-]+$/.test(pod) && isIP(pod) === 0) return bad('pod must be namespace/name or a pod IP');
  return { ok: true, value: { listenHost: bareListen, listenPort: lp, pod, port: dp } };
}

export class FixedInboundListener extends AcceptingListener {
  constructor(
    readonly spec: FixedInboundSpec,
    private readonly ctx: PlaintextListenerContext,
  ) {
    super(spec.listenHost, spec.listenPort);
  }

  protected onConnection(socket: Socket): void {
    adoptClient(this.ctx, socket);
    const view = this.ctx.view();
    // Plaintext inbound is captured for ambient (HBONE) pods only.
    const w = localPod(view, this.ctx.node, this.spec.pod, (x) => x.protocol === 'HBONE');
    const sourceIp = unmapV4(socket.remoteAddress ?? '');
    const sourcePort = socket.remotePort ?? 0;
    if (!w) {
      socket.destroy();
      new PendingConnectionRecord(this.ctx.inbound.recordSink, 'inbound', `${sourceIp}:${sourcePort}`).complete(0, 0, {
        code: 'PROXY_DESTINATION_MISMATCH',
        message: `no ambient pod ${this.spec.pod} on node ${this.ctx.node}`,
      });
      return;
    }
    this.ctx.track(servePlaintextInbound(socket, { sourceIp, sourcePort, workload: w, port: this.spec.port }, view, this.ctx.inbound));
  }
}
