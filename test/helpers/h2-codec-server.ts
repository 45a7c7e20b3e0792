/**
 * The waypoint's own inner HTTP/2 server codec (src/http2/) on a plain loopback TCP port, answering
 * every request 200 with a fixed text body once its request body (if any) has been read: the
 * target of the codec's fuzz run and of h2spec.
 */
import { closeTcpServer, createTcpServer, listenTcp } from '../../src/net/sockets.js';
import { H2CodecDownstream } from '../../src/waypoint/h2-codec-downstream.js';
import type { HttpConnection, HttpConnectionSource } from '../../src/waypoint/http-connection.js';
import { httpLimits, type HttpLimits } from '../../src/waypoint/http-limits.js';

const CONN: HttpConnectionSource = { current: () => ({}) as HttpConnection };

export interface CodecServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startCodecServer(limits: Partial<HttpLimits>, body: string): Promise<CodecServer> {
  const h2 = new H2CodecDownstream(httpLimits(limits), (_c, x) => {
    x.attach({ downstreamDrain: () => undefined, downstreamClosed: () => undefined, downstreamIdle: () => undefined });
    const go = (): void => void x.respond(200, ['content-type', 'text/plain'], body);
    if (x.body) {
      x.body.on('error', () => undefined);
      x.body.resume();
      x.body.on('end', go);
    } else go();
  });
  const server = createTcpServer((socket) => h2.serve(socket, CONN));
  const { port } = await listenTcp(server, '127.0.0.1', 0);
  return {
    port,
    close: async () => {
      h2.destroyAll();
      await closeTcpServer(server, 200);
    },
  };
}
