/**
 * The decoder reads bytes written by hand from Istio's published field numbers (istio/ztunnel
 * proto/*.proto at 62d826530e5ce85764e309170205b293efcbc80b), not bytes from the project's own
 * encoder: every field of Authorization/Match, the newer Workload and Service fields, and the
 * fail-closed handling of what cannot be read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failClosedAuthorization, translateWdsAuthorization } from '../../src/config/from-xds/wds-authorization.js';
import { translateWdsAddress } from '../../src/config/from-xds/wds-address.js';
import { XdsReader, XdsRejection } from '../../src/config/from-xds/xds-reader.js';
import { codec } from '../../src/sources/xds-protos.js';
import { ACTION, SCOPE, authorization, cidr, exact, len, match, msg, packed, prefix, presence, serviceAccount, suffix, vint } from '../helpers/istio-wire.js';

const AUTHZ_URL = 'type.googleapis.com/istio.security.Authorization';
const decodeAuthz = (b: Buffer) => translateWdsAuthorization(new XdsReader(codec('istio.security.Authorization').deserialize(b)), 'test');
const ip = (s: string): Buffer => Buffer.from(s.split('.').map(Number));

test('every Authorization and Match field is read from its published number', () => {
  const m = match({
    namespaces: [exact('ns1')],
    notNamespaces: [prefix('kube-')],
    principals: [suffix('/sa/sleep')],
    notPrincipals: [presence()],
    sourceIps: [cidr('127.0.0.0', 8)],
    notSourceIps: [cidr('127.1.2.3', 32)],
    destinationIps: [cidr('127.5.0.0', 16)],
    notDestinationIps: [cidr('0.0.0.0', 0)],
    destinationPorts: [80, 9080],
    notDestinationPorts: [22],
    serviceAccounts: [serviceAccount('default', 'sleep')],
    notServiceAccounts: [serviceAccount('other', 'bad')],
  });
  const p = decodeAuthz(authorization({ name: 'p', namespace: 'apps', scope: SCOPE.WORKLOAD_SELECTOR, action: ACTION.DENY, rules: [[[m], []]], dryRun: true }));
  assert.equal(p.name, 'p');
  assert.equal(p.namespace, 'apps');
  assert.equal(p.action, 'DENY');
  assert.equal(p.dryRun, true);
  assert.deepEqual(p.selector, { 'wds.authorization/apps/p': 'true' });
  assert.equal(p.rules.length, 1);
  assert.equal(p.rules[0]?.length, 2, 'two clauses, the second without matches');
  const got = p.rules[0]?.[0]?.[0];
  assert.ok(got);
  assert.deepEqual(got.namespaces, [{ kind: 'exact', value: 'ns1' }]);
  assert.deepEqual(got.notNamespaces, [{ kind: 'prefix', value: 'kube-' }]);
  assert.deepEqual(got.principals, [{ kind: 'suffix', value: '/sa/sleep' }]);
  assert.deepEqual(got.notPrincipals, [{ kind: 'presence' }]);
  assert.deepEqual(got.sourceIps.map((c) => c.text), ['127.0.0.0/8']);
  assert.deepEqual(got.notSourceIps.map((c) => c.text), ['127.1.2.3/32']);
  assert.deepEqual(got.destinationIps.map((c) => c.text), ['127.5.0.0/16']);
  // length 0 is left out on the wire (proto3): it means every address, never a single one.
  assert.deepEqual(got.notDestinationIps.map((c) => c.text), ['0.0.0.0/0']);
  assert.deepEqual(got.destinationPorts, [80, 9080]);
  assert.deepEqual(got.notDestinationPorts, [22]);
  assert.deepEqual(got.serviceAccounts, [{ namespace: 'default', serviceAccount: 'sleep' }]);
  assert.deepEqual(got.notServiceAccounts, [{ namespace: 'other', serviceAccount: 'bad' }]);
});

test('scopes are kept as stated; the zero values (GLOBAL, ALLOW) are left out on the wire', () => {
  const g = decodeAuthz(authorization({ name: 'g', namespace: 'custom-root', scope: SCOPE.GLOBAL, action: ACTION.ALLOW, rules: [] }));
  assert.equal(g.action, 'ALLOW');
  assert.equal(g.selector, undefined);
  assert.equal(g.unselectedScope, 'global');
  const n = decodeAuthz(authorization({ name: 'n', namespace: 'istio-system', scope: SCOPE.NAMESPACE, action: ACTION.ALLOW, rules: [] }));
  assert.equal(n.unselectedScope, 'namespace');
});

test('unknown enum values and matchers without a type reject the policy', () => {
  const rejects = (b: Buffer, re: RegExp) =>
    assert.throws(() => decodeAuthz(b), (e: unknown) => e instanceof XdsRejection && re.test(e.message));
  rejects(authorization({ name: 'p', namespace: 'a', scope: 0, action: 2, rules: [] }), /unknown action 2/);
  rejects(authorization({ name: 'p', namespace: 'a', scope: 9, action: 0, rules: [] }), /unknown scope 9/);
  rejects(authorization({ name: 'p', namespace: 'a', scope: 0, action: 0, rules: [[[match({ principals: [Buffer.alloc(0)] })]]] }), /StringMatch needs/);
  rejects(authorization({ name: 'p', namespace: 'a', scope: 0, action: 0, rules: [[[match({ sourceIps: [msg(len(1, Buffer.from([1, 2, 3])))] })]]] }), /4 or 16 bytes/);
  rejects(authorization({ name: 'p', namespace: 'a', scope: 0, action: 0, rules: [[[match({ sourceIps: [cidr('127.0.0.0', 33)] })]]] }), /not a CIDR/);
  rejects(authorization({ name: 'p', namespace: 'a', scope: 0, action: 0, rules: [[[match({ destinationPorts: [70000] })]]] }), /port/);
});

/** A delta response carrying raw Any bytes, through the same codec the workload xDS client uses. */
function throughDelta(values: Buffer[]): Record<string, unknown>[] {
  const c = codec('envoy.service.discovery.v3.DeltaDiscoveryResponse');
  const wire = c.serialize({ type_url: AUTHZ_URL, nonce: 'n1', resources: values.map((value, i) => ({ name: `ns/p${i}`, version: '1', resource: { type_url: AUTHZ_URL, value } })) });
  const obj = c.deserialize(wire) as { resources: { resource: Record<string, unknown> }[] };
  return obj.resources.map((r) => r.resource);
}

test('fields the schema does not know are found on the wire and reject the policy (never skipped)', () => {
  const principal = match({ principals: [exact('cluster.local/ns/default/sa/sleep')] });
  const [oldLayout, future, fine] = throughDelta([
    // The layout this project used to send and read: matches under Clause field 1.
    authorization({ name: 'old', namespace: 'ns', scope: 0, action: ACTION.DENY, rules: [[[principal]]], matchesField: 1 }),
    // A constraint newer than this schema (Match field 40).
    authorization({ name: 'new', namespace: 'ns', scope: 0, action: ACTION.ALLOW, rules: [[[msg(principal, len(40, 'x'))]]] }),
    authorization({ name: 'ok', namespace: 'ns', scope: 0, action: ACTION.ALLOW, rules: [[[principal]]] }),
  ]);
  assert.throws(() => translateWdsAuthorization(new XdsReader(oldLayout), 't'), /rules\[0\]\.clauses\[0\]#1/);
  assert.throws(() => translateWdsAuthorization(new XdsReader(future), 't'), /rules\[0\]\.clauses\[0\]\.matches\[0\]#40/);
  assert.equal(translateWdsAuthorization(new XdsReader(fine), 't').rules[0]?.[0]?.[0]?.principals.length, 1);
});

test('bytes that do not parse reject only that policy; the rest of the push decodes', () => {
  const good = authorization({ name: 'ok', namespace: 'ns', scope: 0, action: 0, rules: [] });
  const truncated = authorization({ name: 'bad', namespace: 'ns', scope: 0, action: ACTION.DENY, rules: [[[match({ principals: [exact('x')] })]]] }).subarray(0, 12);
  const [bad, ok] = throughDelta([truncated, good]);
  assert.throws(() => translateWdsAuthorization(new XdsReader(bad), 't'), /malformed/);
  assert.equal(translateWdsAuthorization(new XdsReader(ok), 't').name, 'ok');
});

test('the fail-closed stand-in: DENY everything for a DENY or unreadable action, ALLOW nothing for an ALLOW', () => {
  const deny = failClosedAuthorization({ name: 'd', namespace: 'ns', action: 'DENY', scope: 'WORKLOAD_SELECTOR' }, 'ns/d', 't');
  assert.equal(deny.action, 'DENY');
  assert.deepEqual(deny.rules, [[]], 'one rule without clauses: matches every connection');
  assert.deepEqual(deny.selector, { 'wds.authorization/ns/d': 'true' });
  const unknown = failClosedAuthorization({ name: 'u', namespace: 'ns', action: 5 }, 'ns/u', 't');
  assert.equal(unknown.action, 'DENY');
  const allow = failClosedAuthorization({ name: 'a', namespace: 'ns', scope: 'NAMESPACE' }, 'ns/a', 't');
  assert.equal(allow.action, 'ALLOW');
  assert.deepEqual(allow.rules, [], 'no rules: matches nothing, so the ALLOW admits nothing');
  assert.equal(allow.unselectedScope, 'namespace');
  // Nothing readable at all: names from the resource name, the DENY reaches that namespace.
  const blank = failClosedAuthorization({ action: 99, scope: 77 }, 'team/x', 't');
  assert.deepEqual([blank.namespace, blank.name, blank.action, blank.unselectedScope], ['team', 'x', 'DENY', 'namespace']);
});

test('a Workload with the newer fields decodes without loss', () => {
  const gatewayByAddress = msg(len(2, msg(len(1, 'net-2'), len(2, ip('127.9.0.1')))), vint(3, 15009));
  const portList = msg(len(1, msg(vint(1, 9080), vint(2, 8080), vint(3, 3))));
  const workload = msg(
    len(20, 'uid-1'), len(1, 'w'), len(2, 'apps'), len(3, ip('127.1.0.7')), len(21, 'w.example'), len(4, 'net-1'),
    vint(5, 2), len(6, 'td'), len(7, 'sa1'),
    len(8, msg(len(1, msg(len(1, 'apps'), len(2, 'waypoint.apps.svc.cluster.local'))), vint(3, 15008))),
    len(19, gatewayByAddress), len(9, 'node-1'), len(10, 'canon'), len(11, 'v2'), vint(12, 2), len(13, 'w-deploy'), vint(14, 1),
    len(23, msg(vint(1, 1), vint(2, 15088))),
    len(22, msg(len(1, 'apps/svc.apps.svc.cluster.local'), len(2, portList))),
    len(16, 'apps/policy'), vint(17, 1), len(18, 'cluster-9'),
    len(24, msg(len(1, 'eu'), len(2, 'eu-1a'), len(3, 'rack-4'))), vint(25, 1),
    len(26, msg(len(1, 'ext'))), len(27, vint(1, 5)),
  );
  const d = translateWdsAddress(new XdsReader(codec('istio.workload.Address').deserialize(len(1, workload))));
  assert.equal(d.kind, 'workload');
  if (d.kind !== 'workload') return;
  const w = d.workload;
  assert.equal(w.uid, 'uid-1');
  assert.deepEqual(w.addresses, ['127.1.0.7']);
  assert.equal(w.hostname, 'w.example');
  assert.equal(w.network, 'net-1');
  assert.equal(w.tunnelProtocol, 'LEGACY_ISTIO_MTLS');
  assert.equal(w.hbone, false);
  assert.equal(w.trustDomain, 'td');
  assert.equal(w.serviceAccount, 'sa1');
  assert.deepEqual(w.waypoint, { hostname: { namespace: 'apps', hostname: 'waypoint.apps.svc.cluster.local' }, hbonePort: 15008 });
  assert.deepEqual(w.networkGateway, { address: '127.9.0.1', network: 'net-2', hbonePort: 15009 });
  assert.equal(w.node, 'node-1');
  assert.equal(w.workloadType, 'POD');
  assert.equal(w.nativeTunnel, true);
  assert.deepEqual(w.applicationTunnel, { protocol: 'PROXY', port: 15088 });
  assert.deepEqual([...(w.services.get('apps/svc.apps.svc.cluster.local') ?? [])], [[9080, { targetPort: 8080, appProtocol: 'grpc' }]]);
  assert.deepEqual(w.authorizationPolicies, ['apps/policy']);
  assert.equal(w.healthy, false);
  assert.equal(w.clusterId, 'cluster-9');
  assert.deepEqual(w.locality, { region: 'eu', zone: 'eu-1a', subzone: 'rack-4' });
  assert.equal(w.networkMode, 'HOST_NETWORK');
  assert.deepEqual(w.extensions, [{ name: 'ext' }]);
  assert.equal(w.capacity, 5);
});

test('a Service with the newer fields decodes without loss; unknown enum values reject it', () => {
  const gw = (host: string) => msg(len(1, msg(len(1, 'apps'), len(2, host))));
  const service = msg(
    len(1, 'svc'), len(2, 'apps'), len(3, 'svc.apps.svc.cluster.local'),
    len(4, msg(len(1, ''), len(2, ip('127.96.0.10')))), len(4, msg(len(1, 'net'), len(2, ip('240.0.0.0')), vint(3, 24))),
    len(5, msg(vint(1, 80), vint(2, 8080), vint(3, 1))), len(6, 'spiffe://td/ns/apps/sa/svc'), len(7, gw('wp.apps.svc.cluster.local')),
    len(8, msg(packed(1, [2, 1]), vint(2, 2), vint(3, 1))), vint(9, 3), len(10, msg(len(1, 'e'))), vint(11, 1), vint(12, 1),
    len(13, msg(len(1, gw('wp2.apps.svc.cluster.local')), vint(2, 30))), vint(14, 1),
  );
  const d = translateWdsAddress(new XdsReader(codec('istio.workload.Address').deserialize(len(2, service))));
  assert.equal(d.kind, 'service');
  if (d.kind !== 'service') return;
  const s = d.service;
  assert.deepEqual(s.vips, ['127.96.0.10'], 'a prefix (length 24) is an address range, not a VIP');
  assert.deepEqual(s.addresses[1], { network: 'net', ip: '240.0.0.0', length: 24 });
  assert.deepEqual(s.ports, [{ port: 80, targetPort: 8080, appProtocol: 'http' }]);
  assert.deepEqual(s.subjectAltNames, ['spiffe://td/ns/apps/sa/svc']);
  assert.deepEqual(s.loadBalancing, { routingPreference: ['ZONE', 'REGION'], mode: 'FAILOVER', healthPolicy: 'ALLOW_ALL' });
  assert.equal(s.ipFamilies, 'DUAL');
  assert.equal(s.canonical, true);
  assert.equal(s.ingressUseWaypoint, true);
  assert.deepEqual(s.weightedWaypoints, [{ destination: { hostname: { namespace: 'apps', hostname: 'wp2.apps.svc.cluster.local' }, hbonePort: 15008 }, weight: 30 }]);
  assert.equal(s.visibility, 'NAMESPACE');
  const badEnum = msg(len(1, 'svc'), len(2, 'apps'), vint(9, 7));
  assert.throws(() => translateWdsAddress(new XdsReader(codec('istio.workload.Address').deserialize(len(2, badEnum)))), /unknown ip_families 7/);
  const badTunnel = msg(len(20, 'u'), len(2, 'apps'), len(3, ip('127.1.0.1')), vint(5, 3));
  assert.throws(() => translateWdsAddress(new XdsReader(codec('istio.workload.Address').deserialize(len(1, badTunnel)))), /unknown tunnel_protocol 3/);
});
