/**
 * `proxy_http_call` at a waypoint: the cluster name a plugin passes is resolved like Envoy's
 * cluster names against the mesh view at call time, and the request goes to one of the Service's
 * endpoints through the waypoint's own upstream client (HBONE with the waypoint's identity, the
 * same pools and balancer as routed traffic).
 *
 * Accepted names: `outbound|<port>|<subset>|<host>` (what Istio generates and plugins written for
 * Envoy use), `inbound-vip|<port>|<proto>|<host>`, `<host>:<port>`, and a bare `<host>` (the
 * Service's first port). `<host>` is a Service hostname, `name.namespace`, or `name.namespace.svc`.
 */
import type { Dispatcher } from 'undici';
import type { ServiceIR } from '../config/ir.js';
import type { ViewSource } from '../state/view-source.js';
import type { LeastRequestBalancer } from '../upstream/lb.js';
import type { UpstreamDispatcher } from '../upstream/http-client.js';
import type { Pair } from './header-pairs.js';
import type { HttpCallDispatcher, HttpCallResponse, HttpCallTarget } from './http-call.js';

interface MeshTarget extends HttpCallTarget {
  readonly service: ServiceIR;
  readonly port: number;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'host']);
/** Bound on a call's response body: a plugin's side call must not grow the proxy without limit. */
const MAX_BODY = 4 * 1024 * 1024;

export interface MeshHttpCallsOptions {
  readonly view: ViewSource;
  readonly lb: LeastRequestBalancer;
  readonly upstream: UpstreamDispatcher;
}

export class MeshHttpCalls implements HttpCallDispatcher {
  constructor(private readonly opts: MeshHttpCallsOptions) {}

  resolve(cluster: string): MeshTarget | undefined {
    const view = this.opts.view.current();
    let host: string;
    let port: number | undefined;
    const parts = cluster.split('|');
    if (parts.length === 4 && (parts[0] === 'outbound' || parts[0] === 'inbound-vip')) {
      host = parts[3] as string;
      port = Number(parts[1]);
    } else if (parts.length === 1) {
      const m = /^(.*):(\d+)$/.exec(cluster);
      host = m ? (m[1] as string) : cluster;
      port = m ? Number(m[2]) : undefined;
    } else return undefined;
    const service = view.serviceByHostname(host);
    if (!service) return undefined;
    const sp = port === undefined ? service.ports[0] : service.ports.find((p) => p.port === port);
    if (!sp) return undefined;
    return { service, port: sp.port, describe: `${service.hostname}:${sp.port}` };
  }

  send(target: HttpCallTarget, headers: readonly Pair[], body: Buffer, timeoutMs: number): Promise<HttpCallResponse> {
    const t = target as MeshTarget;
    const view = this.opts.view.current();
    const ep = this.opts.lb.pick(view.endpoints(t.service, t.port));
    if (!ep) return Promise.resolve({ ok: false, reason: 'no healthy upstream' });
    let method = 'GET';
    let path = '/';
    let authority = t.service.hostname;
    const out: Record<string, string | string[]> = {};
    for (const [k0, v] of headers) {
      const k = k0.toLowerCase();
      if (k === ':method') method = v;
      else if (k === ':path') path = v;
      else if (k === ':authority' || k === 'host') authority = v;
      else if (k.startsWith(':') || HOP_BY_HOP.has(k)) continue;
      else {
        const prev = out[k];
        out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
    }
    out['host'] = authority;
    return new Promise((resolve) => {
      const call = new CallHandler(resolve);
      this.opts.lb.begin(ep);
      const done = (): void => this.opts.lb.end(ep);
      call.onSettled = done;
      if (timeoutMs > 0) call.timer = setTimeout(() => call.fail('timeout'), timeoutMs).unref();
      const options: Dispatcher.DispatchOptions = { method: method, path, headers: out, ...(body.length > 0 ? { body } : {}) };
      try {
        this.opts.upstream.dispatch(ep, 'h1', options, call);
      } catch (err) {
        call.fail(err instanceof Error ? err.message : String(err));
      }
    });
  }
}

function pairsFromRaw(raw: Buffer[] | string[] | null): Pair[] {
  const out: Pair[] = [];
  if (!raw) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([String(raw[i]).toLowerCase(), String(raw[i + 1])]);
  return out;
}

/** undici's classic handler callbacks for one call. */
class CallHandler implements Dispatcher.DispatchHandler {
  timer: NodeJS.Timeout | undefined;
  onSettled: () => void = () => undefined;
  private abort: ((err?: Error) => void) | undefined;
  private headers: Pair[] = [];
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private settled = false;

  constructor(private readonly resolve: (r: HttpCallResponse) => void) {}

  fail(reason: string): void {
    if (this.settled) return;
    this.finish({ ok: false, reason });
    this.abort?.(new Error(reason));
  }

  private finish(r: HttpCallResponse): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.onSettled();
    this.resolve(r);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.settled) abort(new Error('call no longer wanted'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null): boolean {
    if (statusCode < 200) return true;
    this.headers = [[':status', String(statusCode)], ...pairsFromRaw(rawHeaders)];
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > MAX_BODY) {
      this.fail('response body too large');
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(rawTrailers: Buffer[] | string[] | null): void {
    if (this.settled) return;
    this.finish({ ok: true, headers: this.headers, body: Buffer.concat(this.chunks), trailers: pairsFromRaw(rawTrailers) });
  }

  onError(err: Error): void {
    if (this.settled) return;
    this.finish({ ok: false, reason: err.message });
  }
}
