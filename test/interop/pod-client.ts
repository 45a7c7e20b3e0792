/**
 * A client run inside a pod's network namespace (`ip netns exec <ns> node pod-client.js ...`): it
 * reaches the mesh the way an app of that pod does when Istio's ztunnel serves it, through the
 * ztunnel's SOCKS5 port 127.0.0.1:15080, and prints one JSON line with what came back.
 *
 * Usage: pod-client.js h1|h2|grpc|tcp HOST PORT [PATH] [NAME:VALUE] (one extra request header; grpc
 *        ignores PATH)
 *        pod-client.js load HOST PORT DURATION_MS CONCURRENCY: HTTP/1.1 loops (a connection per
 *        request) for that long; prints counts of successes and failures.
 *        pod-client.js h1bulk|h2bulk HOST PORT BYTES: that many random bytes to `POST /echo-body`
 *        and back, hashed both ways; pod-client.js h2trailers HOST PORT: request and response
 *        trailers over HTTP/2 (pod-client-bulk.ts).
 */
import http from 'node:http';
import http2 from 'node:http2';
import { socks5Connect } from '../../src/net/socks5-client.js';
import { bulk, h2Trailers, type BulkResult, type TrailersResult } from './pod-client-bulk.js';

interface Result {
  readonly ok: boolean;
  readonly status?: number;
  readonly grpcStatus?: string;
  readonly body?: string;
  readonly error?: string;
}

interface LoadResult {
  readonly ok: boolean;
  readonly sent: number;
  readonly succeeded: number;
  readonly failures: readonly string[];
}

async function load(host: string, port: number, durationMs: number, concurrency: number): Promise<LoadResult> {
  const until = Date.now() + durationMs;
  let sent = 0;
  let succeeded = 0;
  const failures: string[] = [];
  const loop = async (): Promise<void> => {
    while (Date.now() < until) {
      sent++;
      const r = await one(host, port).catch((e: unknown): Result => ({ ok: false, error: e instanceof Error ? e.message : String(e) }));
      if (r.status === 200) succeeded++;
      else failures.push(r.error ?? `status ${r.status ?? 0}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { ok: true, sent, succeeded, failures };
}

async function one(host: string, port: number): Promise<Result> {
  const socket = await socks5Connect({ proxyHost: '127.0.0.1', proxyPort: 15080, host, port, timeoutMs: 5000 });
  return new Promise((resolve) => {
    const req = http.request({ host, port, path: '/load', createConnection: () => socket, headers: { connection: 'close' }, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0 }));
      res.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, error: e.message }));
    req.end();
  });
}

async function main(): Promise<Result | LoadResult | BulkResult | TrailersResult> {
  const [mode, host = '', portText = '', path = '/', extra] = process.argv.slice(2);
  if (mode === 'load') return load(host, Number(portText), Number(path), Number(extra ?? '4'));
  const [hName, ...hValue] = (extra ?? '').split(':');
  const headers: Record<string, string> = hName ? { [hName]: hValue.join(':') } : {};
  const port = Number(portText);
  const socket = await socks5Connect({ proxyHost: '127.0.0.1', proxyPort: 15080, host, port, timeoutMs: 5000 });
  switch (mode) {
    case 'h1bulk':
    case 'h2bulk':
      return bulk(socket, host, port, Number(path), mode === 'h2bulk');
    case 'h2trailers':
      return h2Trailers(socket, host, port, path !== 'no-request-trailers');
    case 'h1':
      return new Promise((resolve) => {
        const req = http.request({ host, port, path, createConnection: () => socket, headers: { connection: 'close', ...headers } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body }));
        });
        req.on('error', (e) => resolve({ ok: false, error: e.message }));
        req.end();
      });
    case 'h2':
    case 'grpc':
      return new Promise((resolve) => {
        const session = http2.connect(`http://${host}:${port}`, { createConnection: () => socket });
        session.on('error', (e: Error) => resolve({ ok: false, error: e.message }));
        const grpc = mode === 'grpc';
        const stream = session.request(
          grpc ? { ':method': 'POST', ':path': '/echo.Echo/Call', 'content-type': 'application/grpc', te: 'trailers', ...headers } : { ':path': path, ...headers },
        );
        let status = 0;
        let grpcStatus: string | undefined;
        const chunks: Buffer[] = [];
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('trailers', (t: http2.IncomingHttpHeaders) => (grpcStatus = String(t['grpc-status'])));
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          session.close();
          const all = Buffer.concat(chunks);
          resolve({ ok: true, status, ...(grpcStatus !== undefined ? { grpcStatus } : {}), body: grpc ? all.subarray(5).toString('utf8') : all.toString('utf8') });
        });
        stream.on('error', (e: Error) => resolve({ ok: false, error: e.message }));
        if (grpc) {
          const msg = Buffer.from('hello grpc');
          const frame = Buffer.alloc(5 + msg.length);
          frame.writeUInt32BE(msg.length, 1);
          msg.copy(frame, 5);
          stream.end(frame);
        } else stream.end();
      });
    case 'tcp':
      return new Promise((resolve) => {
        let body = '';
        socket.setEncoding('utf8');
        socket.on('data', (c: string) => {
          body += c;
          if (body.includes('ping')) socket.end();
        });
        socket.on('close', () => resolve({ ok: body.includes('ping'), body }));
        socket.on('error', (e) => resolve({ ok: false, error: e.message }));
        socket.write('ping\n');
      });
    default:
      return { ok: false, error: `unknown mode ${mode ?? ''}` };
  }
}

// A connection Istio's ztunnel closed before a mode attached its listeners leaves nothing
// pending: say so instead of exiting silently (the test would read empty output).
process.once('beforeExit', () => {
  process.stdout.write(JSON.stringify({ ok: false, error: 'no answer: the connection closed before it was read' }) + '\n');
  process.exit(0);
});

main().then(
  (r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  },
  (err: unknown) => {
    process.stdout.write(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }) + '\n');
    process.exit(0);
  },
);
