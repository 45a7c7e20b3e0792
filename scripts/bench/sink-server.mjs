// The bulk backend: GET /bytes/<n> streams n bytes (one reused 1 MiB buffer, backpressure
// respected); any request with a body is read to the end and answered with its size. Cheap on
// purpose, so a bulk row measures the path, not the backend.
// Usage: node sink-server.mjs <host> <port>
import http from 'node:http';

const [host, port] = process.argv.slice(2);
const CHUNK = Buffer.alloc(1 << 20, 120);

http
  .createServer((req, res) => {
    const m = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (m && req.method === 'GET') {
      let left = Number(m[1]);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, CHUNK.length);
          left -= n;
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    let bytes = 0;
    req.on('data', (c) => (bytes += c.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${bytes}\n`);
    });
  })
  .listen(Number(port), host, () => process.stderr.write(`sink listening on ${host}:${port}\n`));
