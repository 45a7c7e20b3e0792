/**
 * Envoy's `tls_inspector` for the waypoint's TCP proxy: waits for a connection's ClientHello and
 * gives its server name, putting every byte back for the proxy to forward (TLS passes through).
 * A connection that sends something else, nothing within the timeout (a server-first protocol),
 * or ends first is routed without a server name.
 */
import type { Duplex } from 'node:stream';
import { MAX_CLIENT_HELLO_BYTES, scanClientHello, type ClientHelloScan } from './client-hello.js';
import { readPrefix } from './prefix-reader.js';

/** How long a client has to send its ClientHello (it is the client's first flight). */
export const TLS_INSPECT_TIMEOUT_MS = 5_000;

const NO_HELLO: Exclude<ClientHelloScan, 'more'> = Object.freeze({ tls: false });

export interface InspectedHello {
  readonly sni?: string;
  /** The stream ended while (or before) inspecting: these bytes could not be put back. */
  readonly endedWith?: Buffer;
}

/**
 * The server name of `stream`'s ClientHello. `endedWith`: the stream already ended and these are
 * its bytes (protocol sniffing consumed them), so they are scanned instead of the stream.
 */
export async function inspectClientHello(stream: Duplex, endedWith?: Buffer, timeoutMs = TLS_INSPECT_TIMEOUT_MS): Promise<InspectedHello> {
  if (endedWith) {
    const scan = scanClientHello(endedWith);
    return scan !== 'more' && scan.sni !== undefined ? { sni: scan.sni, endedWith } : { endedWith };
  }
  const r = await readPrefix(stream, { classify: scanClientHello, fallback: NO_HELLO, maxBytes: MAX_CLIENT_HELLO_BYTES, timeoutMs });
  return { ...(r.value.sni !== undefined ? { sni: r.value.sni } : {}), ...(r.endedWith ? { endedWith: r.endedWith } : {}) };
}
