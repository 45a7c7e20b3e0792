import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutboundPlan } from '../../src/ztunnel/outbound.js';
import { planOutbound, replyForDialFailure } from '../../src/ztunnel/outbound.js';
import { SOCKS5_REPLY } from '../../src/ztunnel/socks5.js';
import { meshView, service, waypoint, workload } from '../helpers/mesh-builders.js';

const sleep = workload({ name: 'sleep', ip: '127.1.0.1' });
const r1 = workload({ name: 'reviews-1', ip: '127.1.0.11', labels: { app: 'reviews' }, serviceAccount: 'reviews', containerPorts: [{ name: 'http', port: 9080, protocol: 'TCP' }] });
const r2 = workload({ name: 'reviews-2', ip: '127.1.0.12', labels: { app: 'reviews' }, serviceAccount: 'reviews', node: 'node-b', containerPorts: [{ name: 'http', port: 9080, protocol: 'TCP' }] });
const legacy = workload({ name: 'legacy', ip: '127.1.0.20', protocol: 'TCP' });
const other = workload({ name: 'x', ip: '127.1.0.30', namespace: 'prod' });
const view = meshView({
  workloads: [sleep, r1, r2, legacy, other],
  services: [
    service({ name: 'reviews', vips: ['127.100.0.1'], ports: [{ port: 80, targetPort: 'http' }] }),
    service({ name: 'legacy', vips: ['127.100.0.2'], ports: [{ port: 8080, targetPort: 7070 }] }),
    service({ name: 'ratings', vips: ['127.100.0.3'], ports: [9080], waypoint: 'wp' }),
    service({ name: 'empty', vips: ['127.100.0.4'], ports: [80], selector: { app: 'nothing' } }),
    service({ name: 'reviews', namespace: 'prod', vips: ['127.100.0.5'], ports: [80] }),
  ],
  waypoints: [waypoint({ name: 'wp', addresses: ['127.2.0.1'] })],
});

function kind(p: OutboundPlan): string {
  return p.kind === 'reject' ? `reject:${p.reply}` : p.kind;
}

test('a service VIP without waypoint goes to the chosen endpoint over HBONE with podIP:targetPort', () => {
  const p = planOutbound(view, sleep, { host: '127.100.0.1', port: 80, isIp: true }, () => 1);
  assert.ok(p.kind === 'hbone');
  assert.equal(p.workload.name, 'reviews-2');
  assert.equal(p.address, '127.1.0.12');
  assert.equal(p.port, 15008);
  assert.equal(p.authority, '127.1.0.12:9080', 'named targetPort resolved on the pod');
  assert.equal(p.service?.hostname, 'reviews.default.svc.cluster.local');
});

test('host names resolve in the source namespace: short, ns-qualified and full', () => {
  for (const host of ['reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local']) {
    const p = planOutbound(view, sleep, { host, port: 80, isIp: false }, () => 0);
    assert.ok(p.kind === 'hbone', host);
    assert.equal(p.workload.name, 'reviews-1', host);
  }
  const fromProd = planOutbound(view, other, { host: 'reviews', port: 80, isIp: false });
  assert.equal(kind(fromProd), `reject:${SOCKS5_REPLY.HOST_UNREACHABLE}`, 'prod/reviews has no endpoints');
});

test('a waypoint-bound service goes to the waypoint with the VIP as authority', () => {
  for (const host of ['ratings', '127.100.0.3']) {
    const p = planOutbound(view, sleep, { host, port: 9080, isIp: host.startsWith('127') });
    assert.ok(p.kind === 'waypoint', host);
    assert.equal(p.address, '127.2.0.1');
    assert.equal(p.port, 15008);
    assert.equal(p.authority, '127.100.0.3:9080');
    assert.equal(p.waypoint.identity, 'spiffe://cluster.local/ns/default/sa/wp');
  }
});

test('TCP workloads and unknown IPs are plain TCP; a pod IP is that pod', () => {
  const l = planOutbound(view, sleep, { host: 'legacy', port: 8080, isIp: false });
  assert.ok(l.kind === 'tcp');
  assert.deepEqual([l.host, l.port], ['127.1.0.20', 7070]);
  const u = planOutbound(view, sleep, { host: '127.9.9.9', port: 1234, isIp: true });
  assert.deepEqual(u, { kind: 'tcp', host: '127.9.9.9', port: 1234 });
  const pod = planOutbound(view, sleep, { host: '127.1.0.11', port: 9080, isIp: true });
  assert.ok(pod.kind === 'hbone');
  assert.equal(pod.authority, '127.1.0.11:9080');
  assert.equal(pod.service, undefined);
});

test('failures map to SOCKS5 reply codes', () => {
  assert.equal(kind(planOutbound(view, sleep, { host: 'nope', port: 80, isIp: false })), `reject:${SOCKS5_REPLY.HOST_UNREACHABLE}`);
  assert.equal(kind(planOutbound(view, sleep, { host: 'empty', port: 80, isIp: false })), `reject:${SOCKS5_REPLY.HOST_UNREACHABLE}`);
  assert.equal(kind(planOutbound(view, sleep, { host: 'reviews', port: 81, isIp: false })), `reject:${SOCKS5_REPLY.CONNECTION_REFUSED}`);
  assert.equal(replyForDialFailure('L4_POLICY_DENIED', 401), SOCKS5_REPLY.NOT_ALLOWED);
  assert.equal(replyForDialFailure('UPSTREAM_CONNECT_FAILED', 503), SOCKS5_REPLY.CONNECTION_REFUSED);
  assert.equal(replyForDialFailure('UPSTREAM_CONNECT_FAILED', undefined), SOCKS5_REPLY.HOST_UNREACHABLE);
  assert.equal(replyForDialFailure('UPSTREAM_IDENTITY_MISMATCH', undefined), SOCKS5_REPLY.GENERAL_FAILURE);
  assert.equal(replyForDialFailure('HBONE_BAD_AUTHORITY', 400), SOCKS5_REPLY.GENERAL_FAILURE);
});
