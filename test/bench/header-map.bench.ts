/**
 * Header map edits as the waypoint does them per request: copy a typical request's headers out of
 * the parser's object, apply a route's header modifier (set, add, remove), read some, and walk
 * the result as the upstream request does.
 */
import { HeaderMap } from '../../src/filter/header-map.js';
import { nsPerOp, report } from './micro-runner.js';

const incoming: Record<string, string | string[]> = {
  host: 'reviews.default.svc.cluster.local:9080',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) bench',
  accept: 'application/json',
  'accept-encoding': 'gzip, deflate, br',
  'accept-language': 'en-US,en;q=0.9',
  authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl',
  cookie: 'session=abc123; theme=dark',
  'x-request-id': '6f1c9a52-8d3e-4c1b-9a7e-2b5d4f3c1a09',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  'x-forwarded-for': ['127.1.0.2', '127.1.0.3'],
  'content-type': 'application/json',
  'content-length': '0',
};

report({ bench: 'header-map', metric: 'fromNode, 12 headers', unit: 'ns/op', value: nsPerOp(() => HeaderMap.fromNode(incoming)) });

const edit = (): HeaderMap => {
  const h = HeaderMap.fromNode(incoming);
  h.set('x-envoy-attempt-count', '1');
  h.set('x-route', 'canary');
  h.append('x-forwarded-for', '127.1.0.2');
  h.delete('cookie');
  h.delete('x-not-there');
  return h;
};
report({ bench: 'header-map', metric: 'fromNode + set 2, append 1, remove 2', unit: 'ns/op', value: nsPerOp(edit) });

const edited = edit();
report({ bench: 'header-map', metric: 'get 4 (2 present, 2 absent)', unit: 'ns/op', value: nsPerOp(() => [edited.get('authorization'), edited.get('x-forwarded-for'), edited.get('x-b3-traceid'), edited.get('X-Missing')]) });
// What an upstream request needs: the entries as a flat name/value list (toObject is for admin
// dumps and tests, not the data path).
const flat = (): string[] => {
  const out: string[] = [];
  for (const [k, v] of edited) {
    if (typeof v === 'string') out.push(k, v);
    else for (const x of v) out.push(k, x);
  }
  return out;
};
report({ bench: 'header-map', metric: 'iterate into a flat name/value list, 12 headers', unit: 'ns/op', value: nsPerOp(flat) });
