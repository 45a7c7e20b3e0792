/**
 * A raw HTTP/1.1 client over one connection "from" the sleep pod to reviews:9080 of a local mesh:
 * writes bytes as given and reads responses back as they come (framed by content-length or
 * chunked), so tests can pipeline, keep connections alive and see exactly what the waypoint sent.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { eventually } from './eventually.js';
import type { LocalMesh } from './local-mesh.js';

export interface RawResponse {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

export class RawClient {
  text = '';
  ended = false;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => (this.text += d.toString('latin1')));
    socket.on('end', () => (this.ended = true));
    socket.on('error', () => undefined);
  }

  /** Over a connection already made (to another Service). */
  static over(socket: net.Socket): RawClient {
    return new RawClient(socket);
  }

  static async open(mesh: LocalMesh): Promise<RawClient> {
    return new RawClient(await mesh.connectFrom(mesh.pod('default', 'sleep'), 'reviews', 9080));
  }

  /** Complete responses so far (heads and bodies framed by content-length or chunked). */
  responses(): RawResponse[] {
    const out: RawResponse[] = [];
    let rest = this.text;
    for (;;) {
      const end = rest.indexOf('\r\n\r\n');
      if (end < 0) return out;
      const head = rest.slice(0, end);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      let body = '';
      let after = rest.slice(end + 4);
      const cl = /\r\ncontent-length: (\d+)/i.exec(head);
      if (status === 100 || status === 204) {
        // no body
      } else if (cl) {
        const n = Number(cl[1]);
        if (after.length < n) return out;
        body = after.slice(0, n);
        after = after.slice(n);
      } else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
        for (;;) {
          const lf = after.indexOf('\r\n');
          if (lf < 0) return out;
          const size = parseInt(after.slice(0, lf), 16);
          if (after.length < lf + 2 + size + 2) return out;
          body += after.slice(lf + 2, lf + 2 + size);
          after = after.slice(lf + 2 + size + 2);
          if (size === 0) break;
        }
      }
      out.push({ status, head, body });
      rest = after;
    }
  }

  async waitFor(n: number): Promise<RawResponse[]> {
    await eventually(() => assert.ok(this.responses().length >= n, `${this.responses().length} of ${n} responses: ${JSON.stringify(this.text.slice(0, 200))}`), 10_000);
    return this.responses();
  }

  close(): void {
    this.socket.destroy();
  }
}


/**
 * Writes one request (which should carry `connection: close`) on a connection and resolves with
 * the status line's code once the waypoint closes it (0 when no status line came back).
 */
export function statusOfOneRequest(socket: net.Socket, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    const done = (): void => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'))?.[1] ?? 0));
    socket.on('end', done);
    socket.on('close', done);
    socket.write(head);
  });
}
