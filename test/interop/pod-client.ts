/**
 * A client run inside a pod's network namespace (`ip netns exec <ns> node pod-client.js ...`): it
 * reaches the mesh the way an app of that pod does when Istio's ztunnel serves it, through the
 * ztunnel's SOCKS5 port 127.0.0.1:15080, and prints one JSON line with what came back.
 *
 * Usage: pod-client.js h1|h2|grpc|tcp HOST PORT [PATH] [NAME:VALUE] (one extra request header)
 */
import http from 'node:http';
import http2 from 'node:http2';
import { socks5Connect } from '../../src/net/socks5-client.js';

interface Result {
  readonly ok: boolean;
  readonly status?: number;
  readonly grpcStatus?: string;
  readonly body?: string;
  readonly error?: string;
}

async function main(): Promise<Result> {
  const [mode, host = '', portText = '', path = '/', extra] = process.argv.slice(2);
  const [hName, ...hValue] = (extra ?? '').split(':');
  const headers: Record<string, string> = hName ? { [hName]: hValue.join(':') } : {};
  const port = Number(portText);
  const socket = await socks5Connect({ proxyHost: '127.0.0.1', proxyPort: 15080, host, port, timeoutMs: 5000 });
  switch (mode) {
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
          grpc ? { ':method': 'POST', ':path': '/echo.Echo/Call', 'content-type': 'application/grpc', te: 'trailers' } : { ':path': path, ...headers },
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
