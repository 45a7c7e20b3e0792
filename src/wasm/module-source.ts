/**
 * Fetches plugin modules the way istio-agent does before Envoy sees them (pkg/wasm): `file://`
 * read from disk, `http(s)://` downloaded, `oci://` pulled with the OCI distribution API, with the
 * `sha256` checked whenever it is given and remote modules cached on disk by URL (a restart or a
 * config reload does not download again unless `imagePullPolicy: Always`).
 *
 * OCI: `oci://host[:port]/repo[:tag|@sha256:...]`, Docker Hub-style anonymous bearer tokens, and
 * both module formats Istio accepts: the Wasm artifact layer
 * (`application/vnd.module.wasm.content.layer.v1+wasm`) and the compat image whose single
 * tar(+gzip) layer holds `plugin.wasm`. Loopback registries are spoken to over plain HTTP.
 */
const { createHash, randomUUID } = process.getBuiltinModule('node:crypto');
const { mkdir, readFile, rename, writeFile } = process.getBuiltinModule('node:fs/promises');
const os = process.getBuiltinModule('node:os');
const path = process.getBuiltinModule('node:path');
const { gunzipSync } = process.getBuiltinModule('node:zlib');

export interface ModuleFetchOptions {
  /** Where remote modules are cached (default: `<tmp>/ambient-wasm-cache`). */
  readonly cacheDir?: string;
  /** Per request (default 30 s, Istio's remote fetch timeout). */
  readonly timeoutMs?: number;
}

export interface ModuleRequest {
  readonly url: string;
  readonly sha256?: string;
  readonly pullPolicy: 'IfNotPresent' | 'Always';
}

const WASM_LAYER = 'application/vnd.module.wasm.content.layer.v1+wasm';
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export async function fetchModule(req: ModuleRequest, opts: ModuleFetchOptions = {}): Promise<Uint8Array> {
  const bytes = await fetchBytes(req, opts);
  if (req.sha256 !== undefined) {
    const got = sha256Hex(bytes);
    if (got !== req.sha256) throw new Error(`sha256 mismatch for ${req.url}: expected ${req.sha256}, got ${got}`);
  }
  return bytes;
}

async function fetchBytes(req: ModuleRequest, opts: ModuleFetchOptions): Promise<Uint8Array> {
  if (req.url.startsWith('file://')) return readFile(req.url.slice('file://'.length));
  const dir = opts.cacheDir ?? path.join(os.tmpdir(), 'ambient-wasm-cache');
  const cached = path.join(dir, `${sha256Hex(Buffer.from(req.url))}.wasm`);
  if (req.pullPolicy !== 'Always') {
    const hit = await readFile(cached).catch(() => undefined);
    // A cached module is used only if it still matches the expected digest.
    if (hit && (req.sha256 === undefined || sha256Hex(hit) === req.sha256)) return hit;
  }
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const bytes = req.url.startsWith('oci://') ? await pullOci(req.url.slice('oci://'.length), timeoutMs) : await get(req.url, timeoutMs);
  await mkdir(dir, { recursive: true });
  // Unique per download: two plugins fetching the same URL at once must not share a temp file.
  const tmp = `${cached}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, cached);
  return bytes;
}

async function get(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<Buffer> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

interface OciRef {
  readonly base: string;
  readonly repo: string;
  readonly reference: string;
}

function parseOci(ref: string): OciRef {
  const slash = ref.indexOf('/');
  if (slash < 0) throw new Error(`oci reference ${ref} has no repository`);
  const host = ref.slice(0, slash);
  let rest = ref.slice(slash + 1);
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  const hostname = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback = hostname === 'localhost' || hostname.startsWith('127.') || hostname === '::1';
  return { base: `${loopback ? 'http' : 'https'}://${host}`, repo: rest, reference };
}

/** A registry session: follows one bearer-token challenge, then reuses the token. */
class Registry {
  private auth: string | undefined;
  constructor(
    private readonly ref: OciRef,
    private readonly timeoutMs: number,
  ) {}

  async get(p: string, accept?: string): Promise<{ body: Buffer; contentType: string }> {
    const url = `${this.ref.base}/v2/${this.ref.repo}/${p}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = {};
      if (accept) headers['accept'] = accept;
      if (this.auth) headers['authorization'] = this.auth;
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
      if (res.status === 401 && attempt === 0) {
        await this.login(res.headers.get('www-authenticate') ?? '');
        continue;
      }
      if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
      return { body: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? '' };
    }
    throw new Error(`GET ${url}: unauthorized`);
  }

  private async login(challenge: string): Promise<void> {
    const params = new Map<string, string>();
    for (const m of challenge.matchAll(/(\w+)="([^"]*)"/g)) params.set(m[1] as string, m[2] as string);
    const realm = params.get('realm');
    if (!challenge.toLowerCase().startsWith('bearer') || !realm) throw new Error(`registry wants unsupported authentication: ${challenge}`);
    const u = new URL(realm);
    const service = params.get('service');
    if (service) u.searchParams.set('service', service);
    u.searchParams.set('scope', params.get('scope') ?? `repository:${this.ref.repo}:pull`);
    const doc: unknown = JSON.parse((await get(u.href, this.timeoutMs)).toString('utf8'));
    const token = isObj(doc) ? (doc['token'] ?? doc['access_token']) : undefined;
    if (typeof token !== 'string') throw new Error('registry token response has no token');
    this.auth = `Bearer ${token}`;
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function pullOci(refText: string, timeoutMs: number): Promise<Buffer> {
  const ref = parseOci(refText);
  const reg = new Registry(ref, timeoutMs);
  let manifest: unknown = JSON.parse((await reg.get(`manifests/${ref.reference}`, MANIFEST_ACCEPT)).body.toString('utf8'));
  // An index (multi-platform): take its first manifest.
  if (isObj(manifest) && Array.isArray(manifest['manifests'])) {
    const first: unknown = manifest['manifests'][0];
    if (!isObj(first) || typeof first['digest'] !== 'string') throw new Error('image index has no manifests');
    manifest = JSON.parse((await reg.get(`manifests/${first['digest']}`, MANIFEST_ACCEPT)).body.toString('utf8'));
  }
  const layers = isObj(manifest) && Array.isArray(manifest['layers']) ? manifest['layers'].filter(isObj) : [];
  const wasmLayer = layers.find((l) => l['mediaType'] === WASM_LAYER);
  const layer = wasmLayer ?? (layers.length === 1 ? layers[0] : undefined);
  if (!layer || typeof layer['digest'] !== 'string') throw new Error('manifest has no Wasm layer (expected a wasm artifact layer or one image layer with plugin.wasm)');
  const digest = layer['digest'];
  const blob = (await reg.get(`blobs/${digest}`)).body;
  if (digest.startsWith('sha256:') && sha256Hex(blob) !== digest.slice(7)) throw new Error(`blob ${digest} does not match its digest`);
  if (wasmLayer) return blob;
  return extractPluginWasm(blob);
}

/** Istio's compat image: one (gzipped) tar layer with `plugin.wasm` at its root. */
function extractPluginWasm(layer: Buffer): Buffer {
  const tar = layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer;
  let off = 0;
  while (off + 512 <= tar.length) {
    const name = tar.toString('utf8', off, off + 100).replace(/\0.*$/s, '');
    if (name === '') break;
    const size = parseInt(tar.toString('utf8', off + 124, off + 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const data = off + 512;
    if (name.replace(/^\.\//, '') === 'plugin.wasm') return tar.subarray(data, data + size);
    off = data + Math.ceil(size / 512) * 512;
  }
  throw new Error('image layer has no plugin.wasm');
}
