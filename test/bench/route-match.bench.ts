/**
 * Route matching with many rules: an HTTPRoute of 50 rules (path prefix + header matches) on the
 * reviews Service, compiled as the waypoint compiles it; a request matching the first rule, one
 * matching only the last (the whole table scanned), and one matching none of the specific rules;
 * and the bench's features row table (scripts/bench/mesh-config.mjs: 49 rules each matching a path
 * prefix or a header, then `/`), for a request only the last rule matches.
 */
import { requestContext, routesFrom } from '../helpers/route-table-harness.js';
import { nsPerOp, report } from './micro-runner.js';

const rules: string[] = [];
for (let i = 0; i < 49; i++) {
  rules.push(`    - matches: [{path: {type: PathPrefix, value: /api/r${i}}, headers: [{name: x-route, value: r${i}}]}, {path: {type: Exact, value: /exact/r${i}}}]
      backendRefs: [{name: reviews-v1, port: 9080}]`);
}
rules.push(`    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: reviews-v2, port: 9080}]`);
const yaml = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: many, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
${rules.join('\n')}
`;
const routed = routesFrom(yaml);
const errors = routed.diagnostics.filter((d) => d.severity === 'error');
if (errors.length > 0) throw new Error(`route config rejected: ${JSON.stringify(errors)}`);
const table = routed.table();

const first = requestContext({ path: '/api/r0/items', headers: { 'x-route': 'r0' } });
const last = requestContext({ path: '/catalog/items?page=2', headers: { 'x-route': 'none' } });
const exact = requestContext({ path: '/exact/r48' });
for (const [metric, ctx] of [
  ['50 rules, first rule matches', first],
  ['50 rules, only the catch-all matches', last],
  ['50 rules, exact match on rule 49', exact],
] as const) {
  if (!table.routeHttp(ctx)) throw new Error(`no route for ${metric}`);
  report({ bench: 'route-match', metric, unit: 'ns/op', value: nsPerOp(() => table.routeHttp(ctx)) });
}

// The features row of `npm run bench`: each rule is two matches (path OR header), so a request for
// `/` tests 98 of them, 49 reading the same header.
const rowRules: string[] = [];
for (let i = 0; i < 49; i++) {
  rowRules.push(`    - matches: [{path: {type: PathPrefix, value: /r${i}}}, {headers: [{name: x-route, value: r${i}}]}]
      backendRefs: [{name: reviews-v1, port: 9080}]`);
}
rowRules.push(`    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: reviews-v2, port: 9080}]`);
const rowTable = routesFrom(yaml.replace(rules.join('\n'), rowRules.join('\n'))).table();
const rowRequest = requestContext({ path: '/', headers: { 'user-agent': 'wrk' } });
if (!rowTable.routeHttp(rowRequest)) throw new Error('no route for the bench row request');
report({ bench: 'route-match', metric: 'bench features row (49 path-or-header rules, then /), last rule matches', unit: 'ns/op', value: nsPerOp(() => rowTable.routeHttp(rowRequest)) });
