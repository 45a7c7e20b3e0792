/** A real TLS ClientHello, as Node's TLS client sends it, captured on a loopback socket. */
import net from 'node:net';
import tls from 'node:tls';
import { scanClientHello } from '../../src/net/client-hello.js';

/** The ClientHello bytes of `tls.connect({ servername })` (no SNI when `servername` is undefined). */
export async function captureClientHello(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  try {
    const captured = new Promise<Buffer>((resolve, reject) => {
      server.once('connection', (s) => {
        let buf = Buffer.alloc(0);
        s.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          if (scanClientHello(buf) !== 'more') {
            resolve(buf);
            s.destroy();
          }
        });
        s.on('error', reject);
      });
    });
    const client = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername !== undefined ? { servername } : {}) });
    client.on('error', () => undefined);
    try {
      return await captured;
    } finally {
      client.destroy();
    }
  } finally {
    server.close();
  }
}
