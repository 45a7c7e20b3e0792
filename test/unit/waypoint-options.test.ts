/** `ambient waypoint`'s command line: which Gateway, where it listens; a Gateway with a Hostname address. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateFile } from '../../src/config/from-k8s/translate.js';
import type { TranslatedObject } from '../../src/config/from-k8s/translator.js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';
import { gatewayRef, parseWaypointArgs, waypointBind } from '../../src/commands/waypoint-options.js';
import { UsageError } from '../../src/commands/usage-error.js';

describe('waypoint options', () => {
  it('names the Gateway by --gateway NS/NAME, --gateway NAME + POD_NAMESPACE, or Istio\'s --serviceCluster', () => {
    assert.deepEqual(gatewayRef({ gateway: 'bookinfo/waypoint' }, {}), { namespace: 'bookinfo', name: 'waypoint' });
    assert.deepEqual(gatewayRef({ gateway: 'waypoint' }, { POD_NAMESPACE: 'apps' }), { namespace: 'apps', name: 'waypoint' });
    assert.deepEqual(gatewayRef({ serviceCluster: 'waypoint.apps' }, {}), { namespace: 'apps', name: 'waypoint' });
    // --gateway wins over --serviceCluster.
    assert.deepEqual(gatewayRef({ gateway: 'a/b', serviceCluster: 'c.d' }, {}), { namespace: 'a', name: 'b' });
    assert.throws(() => gatewayRef({ gateway: 'waypoint' }, {}), /POD_NAMESPACE/);
    assert.throws(() => gatewayRef({ gateway: '/waypoint' }, {}), UsageError);
    assert.throws(() => gatewayRef({ serviceCluster: 'nodot' }, {}), /NAME\.NAMESPACE/);
    assert.throws(() => gatewayRef({}, {}), /--gateway/);
  });

  it('binds the Gateway addresses by default, INSTANCE_IP, a wildcard of its family, or a literal', () => {
    assert.deepEqual(waypointBind(undefined, undefined, { INSTANCE_IP: '127.2.1.3' }), { kind: 'gateway' });
    assert.deepEqual(waypointBind('instance-ip', undefined, { INSTANCE_IP: '127.2.1.3' }), { kind: 'addresses', addresses: ['127.2.1.3'], adminHost: '127.0.0.1' });
    assert.deepEqual(waypointBind('wildcard', '127.0.0.5', { INSTANCE_IP: '127.2.1.3' }), { kind: 'addresses', addresses: ['0.0.0.0'], adminHost: '127.0.0.5' });
    assert.deepEqual(waypointBind('wildcard', undefined, { INSTANCE_IP: 'fd00::7' }), { kind: 'addresses', addresses: ['::'], adminHost: '127.0.0.1' });
    assert.deepEqual(waypointBind('::', undefined, {}), { kind: 'addresses', addresses: ['::'], adminHost: '127.0.0.1' });
    assert.throws(() => waypointBind('instance-ip', undefined, {}), /INSTANCE_IP/);
    assert.throws(() => waypointBind('instance-ip', undefined, { INSTANCE_IP: 'pod' }), /INSTANCE_IP/);
    assert.throws(() => waypointBind('pod', undefined, {}), /--bind must be one of gateway, instance-ip, wildcard or an IP address/);
    assert.throws(() => waypointBind('wildcard', 'localhost', {}), /--admin-address/);
  });

  it('parses strictly: unknown flags are usage errors', () => {
    const v = parseWaypointArgs(['--gateway', 'default/waypoint', '--kube', '--bind', 'instance-ip', '--serviceCluster', 'waypoint.default']);
    assert.equal(v.kube, true);
    assert.equal(v.bind, 'instance-ip');
    assert.equal(v.config, undefined);
    assert.equal(parseWaypointArgs([]).bind, 'gateway');
    assert.throws(() => parseWaypointArgs(['--gateway', 'a/b', '--no-such-flag']), UsageError);
    assert.throws(() => parseWaypointArgs(['positional']), UsageError);
  });
});

describe('Gateway with a Hostname address (a cluster waypoint)', () => {
  const gateway = (addresses: string): string => `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: default}
spec:
  gatewayClassName: istio-waypoint
  addresses: ${addresses}
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
`;
  const build = (yaml: string) => {
    const t = translateFile('gw.yaml', yaml, { localRanges: false });
    const objects: TranslatedObject[] = [];
    for (const o of t.outcomes) if (o.status === 'ok') objects.push(o.object);
    return { snapshot: buildSnapshot(objects, 1).snapshot, diagnostics: t.diagnostics };
  };

  it('is a waypoint with no IP to bind and its hostname kept', () => {
    const { snapshot, diagnostics } = build(gateway('[{type: Hostname, value: waypoint.default.svc.cluster.local}]'));
    assert.deepEqual(diagnostics, []);
    const wp = snapshot.waypoints.get('default/waypoint');
    assert.deepEqual(wp?.addresses, []);
    assert.deepEqual(wp?.hostnames, ['waypoint.default.svc.cluster.local']);
    assert.equal(wp?.identity, 'spiffe://cluster.local/ns/default/sa/waypoint');
  });

  it('keeps IPs and hostnames apart, and rejects a bad hostname or type with the field named', () => {
    const mixed = build(gateway('[{type: Hostname, value: wp.default.svc}, {type: IPAddress, value: 127.2.0.9}]'));
    assert.deepEqual(mixed.snapshot.waypoints.get('default/waypoint')?.addresses, ['127.2.0.9']);
    const bad = build(gateway('[{type: Hostname, value: "Not_A_Name"}]'));
    assert.equal(bad.snapshot.waypoints.size, 0);
    assert.match(bad.diagnostics.map((d) => `${d.field ?? ''} ${d.message}`).join('\n'), /spec\.addresses\[0\]\.value "Not_A_Name" is not a DNS name/);
    const named = build(gateway('[{type: NamedAddress, value: x}]'));
    assert.match(named.diagnostics.map((d) => d.message).join('\n'), /only IPAddress and Hostname addresses are supported/);
  });
});
