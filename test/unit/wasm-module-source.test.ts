/**
 * Module fetching as istio-agent does it: http(s) with sha256 and an on-disk cache, and OCI pulls
 * (anonymous bearer token, Wasm artifact layer and the compat image's tar+gzip layer) from a
 * loopback registry speaking the distribution API.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { fetchModule } from '../../src/wasm/module-source.js';

const MODULE = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function tarOf(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, pad, Buffer.alloc(1024)]);
}

describe('Wasm module fetching', () => {
  let server: http.Server;
  let base = '';
  let cache = '';
  const hits = new Map<string, number>();
  const compat = gzipSync(tarOf('plugin.wasm', MODULE));
  const blobs = new Map([
    [`sha256:${sha(MODULE)}`, MODULE],
    [`sha256:${sha(compat)}`, compat],
  ]);

  before(async () => {
    cache = mkdtempSync(path.join(os.tmpdir(), 'wasm-cache-'));
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      hits.set(url, (hits.get(url) ?? 0) + 1);
      if (url === '/plugin.wasm') return void res.end(MODULE);
      if (url.startsWith('/token')) return void res.end(JSON.stringify({ token: 'tok' }));
      if (url.startsWith('/v2/')) {
        if (req.headers['authorization'] !== 'Bearer tok') {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="${base}/token",service="test",scope="repository:acme/x:pull"` });
          return void res.end();
        }
        const m = /^\/v2\/acme\/(artifact|compat)\/(manifests|blobs)\/(.+)$/.exec(url);
        if (m?.[2] === 'manifests') {
          const layer = m[1] === 'artifact' ? { mediaType: 'application/vnd.module.wasm.content.layer.v1+wasm', digest: `sha256:${sha(MODULE)}` } : { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: `sha256:${sha(compat)}` };
          return void res.end(JSON.stringify({ schemaVersion: 2, layers: [layer] }));
        }
        const blob = m?.[2] === 'blobs' ? blobs.get(m[3] ?? '') : undefined;
        if (blob) return void res.end(blob);
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(cache, { recursive: true, force: true });
  });

  it('http: checks sha256 and caches on disk (no second download unless Always)', async () => {
    const url = `${base}/plugin.wasm`;
    const got = await fetchModule({ url, sha256: sha(MODULE), pullPolicy: 'IfNotPresent' }, { cacheDir: cache });
    assert.deepEqual(Buffer.from(got), MODULE);
    await fetchModule({ url, sha256: sha(MODULE), pullPolicy: 'IfNotPresent' }, { cacheDir: cache });
    assert.equal(hits.get('/plugin.wasm'), 1);
    await fetchModule({ url, pullPolicy: 'Always' }, { cacheDir: cache });
    assert.equal(hits.get('/plugin.wasm'), 2);
    await assert.rejects(fetchModule({ url, sha256: 'f'.repeat(64), pullPolicy: 'Always' }, { cacheDir: cache }), /sha256 mismatch/);
    await assert.rejects(fetchModule({ url: `${base}/nope.wasm`, pullPolicy: 'Always' }, { cacheDir: cache }), /HTTP 404/);
  });

  it('oci: pulls a Wasm artifact and a compat image (plugin.wasm in a tar.gz layer) with a bearer token', async () => {
    const host = base.slice('http://'.length);
    const a = await fetchModule({ url: `oci://${host}/acme/artifact:v1`, pullPolicy: 'Always' }, { cacheDir: cache });
    assert.deepEqual(Buffer.from(a), MODULE);
    const c = await fetchModule({ url: `oci://${host}/acme/compat:v1`, sha256: sha(MODULE), pullPolicy: 'Always' }, { cacheDir: cache });
    assert.deepEqual(Buffer.from(c), MODULE);
    assert.ok((hits.get('/token?service=test&scope=repository%3Aacme%2Fx%3Apull') ?? 0) >= 1);
  });

  it('file: reads the path; a missing file is an error', async () => {
    await assert.rejects(fetchModule({ url: 'file:///nonexistent/x.wasm', pullPolicy: 'IfNotPresent' }), /ENOENT/);
  });
});
