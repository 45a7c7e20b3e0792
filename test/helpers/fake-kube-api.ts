/**
 * A fake Kubernetes API server over plain HTTP on loopback: list (`GET <collection>`, items and
 * `metadata.resourceVersion`) and watch (`?watch=true&resourceVersion=N`, JSON lines streamed as
 * objects change, honouring `timeoutSeconds`). `compact()` makes older resourceVersions expire
 * (a watch from one gets an ERROR 410 event, as etcd compaction does), `expireWatches()` ends every
 * open watch with that event, and `failLists()` answers lists with 500 (an API server outage).
 * A collection is also served per namespace (`/api/v1/namespaces/<ns>/pods` lists and watches the
 * `/api/v1/pods` objects of that namespace), as a real API server does; `deleteSilently()` drops an
 * object without telling watchers (an event lost on the way), which only a re-list notices.
 */
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

type KubeObject = Record<string, unknown> & { metadata: { name: string; namespace?: string; resourceVersion?: string } };

interface Event {
  readonly path: string;
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
}

export class FakeKubeApi {
  readonly requests: { readonly url: string; readonly authorization: string | undefined }[] = [];
  private readonly collections = new Map<string, Map<string, KubeObject>>();
  private readonly events: Event[] = [];
  private readonly watchers = new Set<{ path: string; namespace: string | undefined; res: http.ServerResponse }>();
  private rv = 100;
  private compactedRv = 0;
  private listFailures = false;

  private constructor(
    private readonly server: http.Server,
    paths: readonly string[],
  ) {
    for (const p of paths) this.collections.set(p, new Map());
  }

  /** Serves the given collection paths (others answer 404, like a CRD that is not installed). */
  static async start(paths: readonly string[]): Promise<FakeKubeApi> {
    const server = http.createServer();
    const api = new FakeKubeApi(server, paths);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => api.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * A kubeconfig file pointing at this server with a bearer token. client-node only speaks plain
   * HTTP to a cluster marked `insecure-skip-tls-verify`.
   */
  writeKubeconfig(dir: string, token = 'fake-token'): string {
    const file = join(dir, 'kubeconfig.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: fake, cluster: {server: "${this.url}", insecure-skip-tls-verify: true}}]`,
        `users: [{name: fake, user: {token: ${token}}}]`,
        'contexts: [{name: fake, context: {cluster: fake, user: fake}}]',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return file;
  }

  /** Adds or replaces an object of a collection (ADDED / MODIFIED to watchers). */
  set(path: string, object: Record<string, unknown>): void {
    const coll = this.collection(path);
    const o = structuredClone(object) as KubeObject;
    const key = keyOf(o);
    const type = coll.has(key) ? 'MODIFIED' : 'ADDED';
    o.metadata.resourceVersion = String(++this.rv);
    coll.set(key, o);
    this.publish({ path, rv: this.rv, type, object: o });
  }

  delete(path: string, namespace: string | undefined, name: string): void {
    const coll = this.collection(path);
    const key = `${namespace ?? ''}/${name}`;
    const o = coll.get(key);
    if (!o) return;
    coll.delete(key);
    const gone = structuredClone(o);
    gone.metadata.resourceVersion = String(++this.rv);
    this.publish({ path, rv: this.rv, type: 'DELETED', object: gone });
  }

  /** Removes an object without an event: watchers never hear of it; the next list does not have it. */
  deleteSilently(path: string, namespace: string | undefined, name: string): void {
    this.collection(path).delete(`${namespace ?? ''}/${name}`);
  }

  /** Forgets history: a watch from any current resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedRv = ++this.rv;
  }

  /** Ends every open watch with an ERROR 410 event. */
  expireWatches(): void {
    for (const w of this.watchers) endWithGone(w.res);
    this.watchers.clear();
  }

  failLists(on: boolean): void {
    this.listFailures = on;
    if (on) {
      for (const w of this.watchers) w.res.destroy();
      this.watchers.clear();
    }
  }

  listCount(path: string): number {
    return this.requests.filter((r) => r.url.split('?')[0] === path && !r.url.includes('watch=true')).length;
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private collection(path: string): Map<string, KubeObject> {
    const c = this.collections.get(path);
    if (!c) throw new Error(`fake kube API: unknown collection ${path}`);
    return c;
  }

  private publish(e: Event): void {
    this.events.push(e);
    for (const w of this.watchers) if (w.path === e.path && (w.namespace === undefined || w.namespace === e.object.metadata.namespace)) w.res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    const url = new URL(req.url ?? '/', 'http://x');
    // `/api/v1/namespaces/<ns>/<plural>` and `/apis/<g>/<v>/namespaces/<ns>/<plural>`: one namespace of a collection.
    const scoped = this.collections.has(url.pathname) ? undefined : /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const path = scoped ? `${scoped[1]}/${scoped[3]}` : url.pathname;
    const namespace = scoped?.[2];
    const coll = this.collections.get(path);
    if (req.method !== 'GET' || !coll) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' }));
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      const from = Number(url.searchParams.get('resourceVersion') ?? '0');
      res.writeHead(200, { 'content-type': 'application/json' });
      if (from < this.compactedRv) {
        endWithGone(res);
        return;
      }
      for (const e of this.events) if (e.path === path && e.rv > from && (namespace === undefined || e.object.metadata.namespace === namespace)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
      const w = { path, namespace, res };
      this.watchers.add(w);
      const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
      const timer = timeout > 0 ? setTimeout(() => (this.watchers.delete(w), res.end()), timeout * 1000) : undefined;
      res.on('close', () => {
        if (timer) clearTimeout(timer);
        this.watchers.delete(w);
      });
      return;
    }
    if (this.listFailures) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 500, message: 'etcdserver: request timed out' }));
      return;
    }
    // List items carry neither apiVersion nor kind, as from a real API server.
    const items = [...coll.values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace).map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: String(this.rv) }, items }));
  }
}

function endWithGone(res: http.ServerResponse): void {
  res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410, message: 'too old resource version' } })}\n`);
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}
