/**
 * A thin Kubernetes API transport: `list` (one GET, JSON body) and `watch` (a GET with
 * `watch=true` whose body is a stream of JSON lines, one event each). Credentials, CA and client
 * certificates come from {@link KubeCredentials} (client-node's KubeConfig, or the in-cluster
 * service-account token and CA read directly), applied again on every request so a rotated token file is picked
 * up. Plain `http://` servers work too (tests, `kubectl proxy`).
 */
const http = process.getBuiltinModule('node:http');
declare namespace http { export type ClientRequest = import('node:http').ClientRequest; export type IncomingMessage = import('node:http').IncomingMessage; }
const https = process.getBuiltinModule('node:https');
declare namespace https { export type RequestOptions = import('node:https').RequestOptions; }
import type { KubeCredentials } from './kube-credentials.js';

export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Raised for transport failures and non-JSON answers; `status` is the HTTP status when there was one. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const LIST_IDLE_MS = 30_000;

export class KubeApiClient {
  private readonly server: URL;
  private readonly active = new Set<http.ClientRequest>();

  constructor(private readonly kc: KubeCredentials) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new KubeApiError('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
  }

  get serverUrl(): string {
    return this.server.origin;
  }

  async list(path: string): Promise<KubeResponse> {
    const res = await this.request(path, LIST_IDLE_MS);
    const text = await readAll(res);
    try {
      return { status: res.statusCode ?? 0, body: JSON.parse(text) as unknown };
    } catch {
      throw new KubeApiError(`GET ${path}: HTTP ${res.statusCode ?? 0}, body is not JSON`, res.statusCode);
    }
  }

  /**
   * Streams watch events to `onEvent` until the server ends the stream (resolves) or it fails
   * (rejects). A non-200 answer resolves to its status without streaming. A stream silent for
   * `idleMs` (a half-dead connection: no event, no bookmark, no end) fails.
   */
  async watch(path: string, onEvent: (event: unknown) => void, idleMs: number): Promise<number> {
    const res = await this.request(path, idleMs);
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      await readAll(res).catch(() => '');
      return status;
    }
    return new Promise<number>((resolve, reject) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
          if (line === '') continue;
          let event: unknown;
          try {
            event = JSON.parse(line) as unknown;
          } catch {
            res.destroy(new KubeApiError(`watch ${path}: an event is not JSON`));
            return;
          }
          onEvent(event);
        }
      });
      res.on('end', () => resolve(status));
      res.on('error', reject);
      res.on('aborted', () => reject(new KubeApiError(`watch ${path}: stream aborted`)));
    });
  }

  /** Ends every request in flight (close). */
  abortAll(): void {
    for (const r of this.active) r.destroy();
    this.active.clear();
  }

  private async request(path: string, idleMs: number): Promise<http.IncomingMessage> {
    const opts: https.RequestOptions = { headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    const url = new URL(path, this.server);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { ...opts, method: 'GET' }, (res) => resolve(res));
      this.active.add(req);
      req.setTimeout(idleMs, () => req.destroy(new Error(`no data for ${idleMs} ms`)));
      req.on('close', () => this.active.delete(req));
      req.on('error', (err) => reject(new KubeApiError(`GET ${url.pathname}: ${err.message}`)));
      req.end();
    });
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (s += c));
    res.on('end', () => resolve(s));
    res.on('error', reject);
  });
}
