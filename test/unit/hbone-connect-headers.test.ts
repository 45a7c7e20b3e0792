import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baggageHeader, forwardedHeader, forwardedHost, newTraceparent } from '../../src/hbone/connect-headers.js';

describe('CONNECT headers', () => {
  it('forwarded: for= quoted ip:port, IPv6 bracketed, optional host', () => {
    assert.equal(forwardedHeader('127.1.0.5', 41234), 'for="127.1.0.5:41234"');
    assert.equal(forwardedHeader('127.1.0.5', 41234, 'reviews.default.svc.cluster.local'), 'for="127.1.0.5:41234";host=reviews.default.svc.cluster.local');
    assert.equal(forwardedHeader('fd00::5', 1), 'for="[fd00::5]:1"');
  });

  it('forwardedHost reads host= back', () => {
    assert.equal(forwardedHost(forwardedHeader('1.2.3.4', 5, 'svc.ns.svc.cluster.local')), 'svc.ns.svc.cluster.local');
    assert.equal(forwardedHost('for="1.2.3.4:5"'), undefined);
    assert.equal(forwardedHost('for=x;Host="quoted.example", for=y'), 'quoted.example');
    assert.equal(forwardedHost(undefined), undefined);
  });

  it('traceparent: W3C version 00, random non-zero ids, sampled', () => {
    const a = newTraceparent();
    const b = newTraceparent();
    assert.match(a, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.notEqual(a, b);
    const [, trace, parent] = a.split('-');
    assert.notEqual(trace, '0'.repeat(32));
    assert.notEqual(parent, '0'.repeat(16));
  });

  it('baggage: ztunnel keys in order, empty ones omitted, values escaped', () => {
    assert.equal(
      baggageHeader({ cluster: 'Kubernetes', namespace: 'default', workloadType: 'deployment', workloadName: 'sleep', service: 'sleep', version: 'v1' }),
      'k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.deployment.name=sleep,service.name=sleep,service.version=v1',
    );
    assert.equal(baggageHeader({ namespace: 'ns', service: '', workloadName: 'no-type' }), 'k8s.namespace.name=ns');
    assert.equal(baggageHeader({ workloadType: 'pod', workloadName: 'p' }), 'k8s.pod.name=p');
    assert.equal(baggageHeader({}), '');
    assert.equal(baggageHeader({ service: 'a,b c;d' }), 'service.name=a%2Cb%20c%3Bd');
  });
});
