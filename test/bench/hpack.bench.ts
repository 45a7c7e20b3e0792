/**
 * HPACK (src/http2/hpack/) per header block, for an h2load-like request (:method GET, :path /,
 * :scheme http, :authority, user-agent, accept) and a typical response: the first block of a
 * connection (literals, Huffman, table insertions, on a fresh codec) and the steady state (the
 * same fields again: indexed from the tables, what every later request on a connection costs).
 */
import { HpackDecoder } from '../../src/http2/hpack/hpack-decoder.js';
import { HpackEncoder } from '../../src/http2/hpack/hpack-encoder.js';
import { nsPerOp, report } from './micro-runner.js';

const request = [':method', 'GET', ':path', '/', ':scheme', 'http', ':authority', 'reviews.default.svc.cluster.local:9080', 'user-agent', 'h2load nghttp2/1.64.0', 'accept', '*/*'];
const response = [':status', '200', 'content-type', 'application/json', 'content-length', '1234', 'date', 'Mon, 07 Dec 2026 20:00:00 GMT', 'server', 'istio-envoy', 'x-envoy-upstream-service-time', '3'];

const firstRequest = new HpackEncoder().encode(request);
const warm = new HpackEncoder();
warm.encode(request);
const steadyRequest = warm.encode(request);
const steadyDecoder = new HpackDecoder();
steadyDecoder.decode(firstRequest);

report({ bench: 'hpack', metric: `decode request, first block (${firstRequest.length} B, fresh decoder)`, unit: 'ns/op', value: nsPerOp(() => new HpackDecoder().decode(firstRequest)) });
report({ bench: 'hpack', metric: `decode request, steady state (${steadyRequest.length} B, all indexed)`, unit: 'ns/op', value: nsPerOp(() => steadyDecoder.decode(steadyRequest)) });
report({ bench: 'hpack', metric: 'encode request, first block (fresh encoder)', unit: 'ns/op', value: nsPerOp(() => new HpackEncoder().encode(request)) });
report({ bench: 'hpack', metric: 'encode request, steady state', unit: 'ns/op', value: nsPerOp(() => warm.encode(request)) });

// Responses: content-length is not indexed (it changes), the rest is after the first block.
const respEncoder = new HpackEncoder();
const respDecoder = new HpackDecoder();
respDecoder.decode(respEncoder.encode(response));
const steadyResponse = respEncoder.encode(response);
report({ bench: 'hpack', metric: `encode response, steady state (${steadyResponse.length} B)`, unit: 'ns/op', value: nsPerOp(() => respEncoder.encode(response)) });
report({ bench: 'hpack', metric: 'decode response, steady state', unit: 'ns/op', value: nsPerOp(() => respDecoder.decode(steadyResponse)) });

// Per-request values (a new x-request-id and traceparent each time, as a mesh adds): two Huffman
// literals per block that go into the table and evict older ones, on both sides.
const ids = Array.from({ length: 1024 }, (_, i) => {
  const h = (i * 2654435761).toString(16).padStart(8, '0').slice(-8);
  return [`${h}-8d3e-4c1b-9a7e-2b5d4f3c1a09`, `00-4bf92f3577b34da6a3ce929d${h}-00f067aa0ba902b7-01`] as const;
});
const withIds = (i: number): string[] => {
  const [id, tp] = ids[i & 1023] as readonly [string, string];
  return [...request, 'x-request-id', id, 'traceparent', tp];
};
const idLists = ids.map((_, i) => withIds(i));
const idEncoder = new HpackEncoder();
let next = 0;
report({ bench: 'hpack', metric: 'encode request with a new x-request-id and traceparent', unit: 'ns/op', value: nsPerOp(() => idEncoder.encode(idLists[next++ & 1023] as string[])) });
// Decoding needs the blocks in the order they were encoded: a fresh decoder every 1024 blocks.
const sequence = new HpackEncoder();
const idBlocks = idLists.map((f) => sequence.encode(f));
let idDecoder = new HpackDecoder();
let k = 0;
const decodeNext = (): unknown => {
  if (k === 0) idDecoder = new HpackDecoder();
  const r = idDecoder.decode(idBlocks[k] as Buffer);
  k = (k + 1) & 1023;
  return r;
};
report({ bench: 'hpack', metric: `decode request with a new x-request-id and traceparent (${(idBlocks[5] as Buffer).length} B)`, unit: 'ns/op', value: nsPerOp(decodeNext) });
