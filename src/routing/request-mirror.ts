/**
 * `RequestMirror` / VirtualService `mirror`: a fire-and-forget copy of the request to another
 * Service, sent with `-shadow` appended to the host as Envoy does, its response discarded and its
 * failures ignored; `percent` of requests are mirrored.
 *
 * A request body is copied to each shadow as it streams (`shadow-body-tee.ts`); a shadow that
 * falls behind is dropped rather than slowing the real request.
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RequestContext } from '../filter/api.js';
import type { Endpoint } from '../state/mesh-view.js';
import type { UpstreamDispatcher, UpstreamHttpVersion } from '../upstream/http-client.js';
import type { LeastRequestBalancer } from '../upstream/lb.js';
import { upstreamRequestHeaders } from '../waypoint/proxy-headers.js';
import type { RouteMirror } from '../waypoint/router.js';
import { splitAuthority } from './path-rewrite.js';
import { shadowBody, teeToShadows } from './shadow-body-tee.js';

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

  send(ctx: RequestContext, version: UpstreamHttpVersion, body: Readable | null): Readable | null {
    const shadows: ReturnType<typeof shadowBody>[] = [];
    for (const t of this.targets) {
      if (t.percent < 100 && this.deps.random() * 100 >= t.percent) continue;
      const ep = this.deps.lb.pick(t.endpoints);
      if (!ep) continue;
      const { host, port } = splitAuthority(ctx.authority);
      const authority = port === undefined ? `${host}-shadow` : `${host}-shadow:${port}`;
      const copy = body ? shadowBody() : null;
      // A shadow's body error (it fell behind, the request was reset) only ends the shadow.
      copy?.on('error', () => {});
      this.deps.lb.begin(ep);
      try {
        this.deps.upstream.dispatch(
          ep,
          version,
          { method: ctx.method, path: ctx.path, headers: upstreamRequestHeaders(ctx.headers, authority, 1), body: copy },
          new ShadowHandler(this.deps.lb, ep),
        );
        if (copy) shadows.push(copy);
      } catch {
        // A shadow must never affect the real request.
        this.deps.lb.end(ep);
      }
    }
    return body && shadows.length > 0 ? teeToShadows(body, shadows) : body;
  }
}
