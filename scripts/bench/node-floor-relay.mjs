// The "Node floor" reference row: the cheapest L4 relay Node itself allows (node:net sockets joined
// with pipe(), no TLS, no HTTP/2, no policy), so the bench shows what a ztunnel's CPU per request
// is next to what any Node process pays to move a request across two sockets.
// Usage: node node-floor-relay.mjs <listen host> <listen port> <upstream host> <upstream port>
import net from 'node:net';

const [host, port, upHost, upPort] = process.argv.slice(2);

net
  .createServer({ noDelay: true }, (down) => {
    const up = net.connect({ host: upHost, port: Number(upPort), noDelay: true });
    down.pipe(up);
    up.pipe(down);
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  })
  .listen(Number(port), host);
