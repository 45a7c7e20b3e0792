/**
 * `RequestMirror` / VirtualService `mirror`: a fire-and-forget copy of the request to another
 * Service, sent with `-shadow` appended to the host as Envoy does, its response discarded and its
 * failures ignored; `percent` of requests are mirrored.
 *
 * Only requests without a body are mirrored: Envoy buffers the body for the shadow, and a copy
 * of a streamed body is not worth its memory here yet (a documented limitation).
 */
import type { Dispatcher } from 'undici';
import type { RequestContext } from '../filter/api.js';
import type { Endpoint } from '../state/mesh-view.js';
import type { UpstreamDispatcher, UpstreamHttpVersion } from '../upstream/http-client.js';
import type { LeastRequestBalancer } from '../upstream/lb.js';
import { upstreamRequestHeaders } from '../waypoint/proxy-headers.js';
import type { RouteMirror } from '../waypoint/router.js';
import { splitAuthority } from './path-rewrite.js';

/** What sending a mirror needs from the waypoint. */
export interface MirrorDeps {
  readonly lb: LeastRequestBalancer;
  readonly upstream: UpstreamDispatcher;
  readonly random: () => number;
}

export interface MirrorTarget {
  readonly endpoints: readonly Endpoint[];
  /** In [0, 100]. */
  readonly percent: number;
}

/** Discards the shadow's response; releases its endpoint in the balancer when done. */
class ShadowHandler implements Dispatcher.DispatchHandler {
  private done = false;

  constructor(
    private readonly lb: LeastRequestBalancer,
    private readonly ep: Endpoint,
  ) {}

  onConnect(): void {}
  onHeaders(): boolean {
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    this.finish();
  }
  onError(): void {
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.lb.end(this.ep);
  }
}

export class RequestMirror implements RouteMirror {
  constructor(
    private readonly deps: MirrorDeps,
    private readonly targets: readonly MirrorTarget[],
  ) {}

  send(ctx: RequestContext, version: UpstreamHttpVersion, bodyless: boolean): void {
    if (!bodyless) return;
    for (const t of this.targets) {
      if (t.percent < 100 && this.deps.random() * 100 >= t.percent) continue;
      const ep = this.deps.lb.pick(t.endpoints);
      if (!ep) continue;
      const { host, port } = splitAuthority(ctx.authority);
      const authority = port === undefined ? `${host}-shadow` : `${host}-shadow:${port}`;
      this.deps.lb.begin(ep);
      try {
        this.deps.upstream.dispatch(
          ep,
          version,
          { method: ctx.method, path: ctx.path, headers: upstreamRequestHeaders(ctx.headers, authority, 1), body: null },
          new ShadowHandler(this.deps.lb, ep),
        );
      } catch {
        // A shadow must never affect the real request.
        this.deps.lb.end(ep);
      }
    }
  }
}
