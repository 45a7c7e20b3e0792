/** Header values from configuration cannot carry CR/LF (issue 11 §3): the object is rejected. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import { isHeaderValue } from '../../src/config/from-k8s/header-field.js';

function httpRoute(value: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
    - filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: x-a, value: ${JSON.stringify(value)}}]
      backendRefs: [{name: reviews, port: 9080}]
`;
}

function virtualService(value: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v, namespace: default}
spec:
  hosts: [reviews]
  http:
    - headers:
        response:
          set: {x-a: ${JSON.stringify(value)}}
      route: [{destination: {host: reviews}}]
`;
}

describe('config: header values', () => {
  it('isHeaderValue refuses CR, LF, NUL and DEL, accepts tab and obs-text', () => {
    for (const bad of ['a\r\nb', 'a\nb', 'a\rb', 'a\0b', 'a\x7fb']) assert.equal(isHeaderValue(bad), false, JSON.stringify(bad));
    for (const ok of ['', 'a b', 'a\tb', 'caf\u00e9', '"quoted", list;x=1']) assert.equal(isHeaderValue(ok), true, JSON.stringify(ok));
  });

  for (const [kind, build] of [
    ['HTTPRoute', httpRoute],
    ['VirtualService', virtualService],
  ] as const) {
    it(`${kind}: a value with CR/LF is a FIELD_INVALID error and the object is not applied`, () => {
      const t = translateFile('x.yaml', build('ok\r\nx-injected: 1'), { localRanges: false });
      assert.ok(t.diagnostics.some((d) => d.severity === 'error' && d.code === 'FIELD_INVALID' && /header value/.test(d.message)), JSON.stringify(t.diagnostics));
      assert.ok(t.outcomes.every((o) => o.status !== 'ok'));
    });

    it(`${kind}: an ordinary value is accepted`, () => {
      const t = translateFile('x.yaml', build('fine value'), { localRanges: false });
      assert.ok(t.outcomes.some((o) => o.status === 'ok'), JSON.stringify(t.diagnostics));
    });
  }
});
