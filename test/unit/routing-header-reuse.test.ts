/**
 * Header matches read through `RequestView.header`, which reuses the header read last (the
 * bench's table has 49 rules on one header): rules on different headers, interleaved, and rules on
 * the same header still each see the right value, including a header named in upper case and
 * an absent one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routesFrom, targetOf } from '../helpers/route-table-harness.js';

const yaml = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: headers, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - matches: [{headers: [{name: x-a, value: "1"}]}, {headers: [{name: x-b, value: "1"}]}, {headers: [{name: x-a, value: "2"}]}]
      backendRefs: [{name: reviews-v1, port: 9080}]
    - matches: [{headers: [{name: x-b, value: "2"}, {name: x-a, value: "3"}]}, {headers: [{name: X-C, value: "a, b"}]}]
      backendRefs: [{name: reviews-v2, port: 9080}]
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: reviews, port: 9080}]
`;

describe('routing: header matches across rules', () => {
  const table = routesFrom(yaml).table();

  it('alternating header names each see their own value', () => {
    assert.equal(targetOf(table, { path: '/', headers: { 'x-a': '2', 'x-b': '9' } }), 'reviews-v1');
    assert.equal(targetOf(table, { path: '/', headers: { 'x-b': '1' } }), 'reviews-v1');
    assert.equal(targetOf(table, { path: '/', headers: { 'x-a': '3', 'x-b': '2' } }), 'reviews-v2');
    assert.equal(targetOf(table, { path: '/', headers: { 'x-a': '3', 'x-b': '1' } }), 'reviews-v1');
    assert.equal(targetOf(table, { path: '/', headers: { 'x-a': '3' } }), 'reviews', 'x-b absent');
  });

  it('a value with a comma matches whole; rule header names are case-insensitive', () => {
    assert.equal(targetOf(table, { path: '/', headers: { 'x-c': 'a, b' } }), 'reviews-v2');
    assert.equal(targetOf(table, { path: '/', headers: { 'x-c': 'a' } }), 'reviews');
  });
});
