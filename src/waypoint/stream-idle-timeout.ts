/**
 * Envoy's `stream_idle_timeout` (5 min by default) for one request: when no bytes move on it in
 * either direction for that long, the exchange ends ({@link HttpExchange.onStreamIdle}: 408 or
 * 504 with flag `SI`, or a reset once the response started).
 *
 * Activity is what the transport sees, so Node's own timeouts measure it: the HTTP/1 tunnel's
 * socket timeout (reads of the request, writes of the response; Node's HTTP server swaps it for
 * the keep-alive timeout once the response ends) and the inner HTTP/2 stream's timeout. The
 * handlers are shared functions finding their exchange on the object that times out, so arming
 * the timer costs no closure per request.
 */
import http from 'node:http';
import type { DownstreamResponse } from './downstream-request.js';
import type { HttpExchange } from './http-exchange.js';

const kExchange = Symbol('streamIdleExchange');

interface Tagged {
  [kExchange]?: HttpExchange;
}

function onIdle(this: Tagged): void {
  const exchange = this[kExchange];
  this[kExchange] = undefined;
  exchange?.onStreamIdle();
}

export function watchStreamIdle(exchange: HttpExchange, res: DownstreamResponse, idleMs: number): void {
  if (!(idleMs > 0) || !Number.isFinite(idleMs)) return;
  // HTTP/1: 'timeout' is emitted on the response (this = res); HTTP/2: on the stream.
  const target = (res instanceof http.ServerResponse ? res : res.stream) as unknown as Tagged;
  target[kExchange] = exchange;
  res.setTimeout(idleMs, onIdle);
}
