/**
 * The local istiod (Istio's CA API and workload xDS on one TLS gRPC port) over real sockets:
 * - CA: a ztunnel-style CSR (ECDSA P-256, SPIFFE URI SAN) with a pod's token gets `[leaf, root]`
 *   with exactly that URI SAN, signed by the mesh root, for the CSR's own key; an identity the
 *   token is not entitled to, a missing or foreign token, a forged CSR, an ImpersonatedIdentity
 *   that differs from the CSR, and the wrong ClusterID are refused with istiod's codes; the
 *   project's own CA client (RSA CSR) is served too;
 * - xDS: the project's own workload xDS client subscribes over TLS with a token and receives the
 *   Address and Authorization resources translated from the mesh view (round trip back to the
 *   same workloads, services, waypoint binding and L4 policy), then a push when the view changes;
 *   a stream without a token is refused.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { buildSnapshot } from '../../src/config/snapshot-builder.js';
import { TOKEN_KEY_LABEL } from '../../src/control-plane/istiod-defaults.js';
import { LocalIstiod } from '../../src/control-plane/local-istiod.js';
import { mintToken, type TokenSubject } from '../../src/control-plane/mesh-token.js';
import { IstioCaClient } from '../../src/identity/ca-client.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { codec } from '../../src/sources/xds-protos.js';
import { testWorkloadXdsSource } from '../helpers/test-workload-xds-source.js';
import { allocateBlock } from '../helpers/addresses.js';
import { ecCsr } from '../helpers/ec-csr.js';
import { eventually } from '../helpers/eventually.js';
import { l4Policy, meshView, mutableViewSource, service, spiffeId, waypoint, workload, type MutableViewSource } from '../helpers/mesh-builders.js';

const block = allocateBlock();
const productpage = workload({ name: 'productpage', ip: block.pod(1), node: 'node-a', serviceAccount: 'bookinfo-productpage', containerPorts: [9080] });
const reviews = workload({ name: 'reviews-v1', ip: block.pod(2), node: 'node-b', serviceAccount: 'bookinfo-reviews', labels: { app: 'reviews', version: 'v1' }, containerPorts: [9080] });
const reviewsSvc = service({ name: 'reviews', vips: [block.vip(1)], ports: [{ port: 9080, name: 'http' }], waypoint: 'waypoint' });
const wp = waypoint({ name: 'waypoint', addresses: [block.waypoint(1)] });
const onlyWaypoint = l4Policy({ name: 'reviews-from-waypoint', action: 'ALLOW', selector: { app: 'reviews' }, matches: [{ principals: ['cluster.local/ns/default/sa/waypoint'] }] });
const baseSpec = { workloads: [productpage, reviews], services: [reviewsSvc], waypoints: [wp], policies: [onlyWaypoint] };

interface CaAnswer {
  readonly chain?: string[];
  readonly code?: number;
  readonly details?: string;
}

describe('local istiod: Istio CA API and workload xDS', () => {
  let stateDir: string;
  let ca: LocalCa;
  let view: MutableViewSource;
  let istiod: LocalIstiod;
  let client: grpc.Client;
  const token = (s: TokenSubject): string => mintToken(ca.deriveSecret(TOKEN_KEY_LABEL), s);
  const podToken = (name: string): string => token({ kind: 'pod', namespace: 'default', name });

  const createCertificate = (csr: string, md: Record<string, string>, extra: object = {}): Promise<CaAnswer> => {
    const req = codec('istio.v1.auth.IstioCertificateRequest');
    const res = codec('istio.v1.auth.IstioCertificateResponse');
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(md)) metadata.set(k, v);
    return new Promise((resolve) => {
      client.makeUnaryRequest('/istio.v1.auth.IstioCertificateService/CreateCertificate', req.serialize, res.deserialize, { csr, validity_duration: '3600', ...extra }, metadata, (err, value) =>
        resolve(err ? { code: err.code, details: err.details } : { chain: (value?.['cert_chain'] as string[] | undefined) ?? [] }),
      );
    });
  };

  before(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'local-istiod-'));
    ca = await LocalCa.open(stateDir);
    view = mutableViewSource(meshView(baseSpec));
    istiod = await LocalIstiod.start({ ca, view, host: '127.0.0.1', port: 0 });
    client = new grpc.Client(istiod.address, grpc.credentials.createSsl(Buffer.from(ca.rootCertPem)));
  });
  after(async () => {
    client?.close();
    await istiod?.close(200);
    await rm(stateDir, { recursive: true, force: true });
  });

  it('issues a pod its own identity for the CSR key: [leaf, root], URI SAN, signed by the mesh root', async () => {
    const id = spiffeId('default', 'bookinfo-reviews');
    const csr = ecCsr([id]);
    const answer = await createCertificate(csr.pem, { authorization: `Bearer ${podToken('reviews-v1')}`, ClusterID: 'Kubernetes' });
    assert.equal(answer.code, undefined, answer.details);
    const [leafPem, rootPem] = answer.chain ?? [];
    assert.equal(answer.chain?.length, 2);
    assert.equal(rootPem, ca.rootCertPem);
    const leaf = new X509Certificate(leafPem!);
    assert.equal(leaf.subjectAltName, `URI:${id}`);
    assert.ok(leaf.verify(new X509Certificate(ca.rootCertPem).publicKey), 'signed by the mesh root');
    assert.ok(leaf.publicKey.equals(csr.publicKey), 'for the key in the CSR');
    const hours = (Date.parse(leaf.validTo) - Date.now()) / 3600_000;
    assert.ok(hours > 0.9 && hours <= 1.01, `the asked lifetime (1 h), got ${hours.toFixed(2)} h`);
  });

  it('lets a node token have the identity of a pod on its node, and nothing else', async () => {
    const nodeB = token({ kind: 'node', node: 'node-b' });
    const ok = await createCertificate(ecCsr([spiffeId('default', 'bookinfo-reviews')]).pem, { authorization: `Bearer ${nodeB}` });
    assert.equal(ok.chain?.length, 2, ok.details);
    const other = await createCertificate(ecCsr([spiffeId('default', 'bookinfo-productpage')]).pem, { authorization: `Bearer ${nodeB}` });
    assert.equal(other.code, grpc.status.PERMISSION_DENIED);
    assert.match(other.details ?? '', /no pod on node node-b runs as spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-productpage/);
  });

  it('refuses an identity the pod is not entitled to, and unknown pods', async () => {
    const wrong = await createCertificate(ecCsr([spiffeId('default', 'bookinfo-productpage')]).pem, { authorization: `Bearer ${podToken('reviews-v1')}` });
    assert.equal(wrong.code, grpc.status.PERMISSION_DENIED);
    assert.match(wrong.details ?? '', /runs as spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-reviews, not/);
    const gone = await createCertificate(ecCsr([spiffeId('default', 'x')]).pem, { authorization: `Bearer ${podToken('x')}` });
    assert.equal(gone.code, grpc.status.PERMISSION_DENIED);
    assert.match(gone.details ?? '', /pod default\/x is not in the mesh config/);
  });

  it('refuses no token, a token of another mesh, the wrong cluster, a forged CSR and a mismatched ImpersonatedIdentity', async () => {
    const id = spiffeId('default', 'bookinfo-reviews');
    assert.equal((await createCertificate(ecCsr([id]).pem, {})).code, grpc.status.UNAUTHENTICATED);
    const foreign = mintToken(Buffer.alloc(32, 7), { kind: 'pod', namespace: 'default', name: 'reviews-v1' });
    assert.equal((await createCertificate(ecCsr([id]).pem, { authorization: `Bearer ${foreign}` })).code, grpc.status.UNAUTHENTICATED);
    const auth = { authorization: `Bearer ${podToken('reviews-v1')}` };
    assert.equal((await createCertificate(ecCsr([id]).pem, { ...auth, ClusterID: 'other' })).code, grpc.status.UNAUTHENTICATED);
    const forged = ecCsr([id], ecCsr([id]).privateKey);
    const bad = await createCertificate(forged.pem, auth);
    assert.equal(bad.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details ?? '', /signature does not verify/);
    assert.equal((await createCertificate('not a csr', auth)).code, grpc.status.INVALID_ARGUMENT);
    assert.equal((await createCertificate(ecCsr([id, spiffeId('default', 'other')]).pem, auth)).code, grpc.status.INVALID_ARGUMENT);
    const impersonated = await createCertificate(ecCsr([id]).pem, auth, { metadata: { fields: { ImpersonatedIdentity: { stringValue: spiffeId('default', 'other') } } } });
    assert.equal(impersonated.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(
      istiod.caDecisions.filter((d) => d.code === grpc.status.OK).map((d) => d.identity),
      [id, id],
      'only the two entitled requests of the tests above were issued',
    );
  });

  it("serves the project's own CA client (RSA CSR, ClusterID metadata)", async () => {
    const c = new IstioCaClient({ address: istiod.address, rootCertPem: ca.rootCertPem, token: () => token({ kind: 'waypoint', namespace: 'default', name: 'waypoint' }), clusterId: 'Kubernetes' });
    try {
      const m = await c.issue(wp.identity, { validityMs: 600_000 });
      assert.equal(new X509Certificate(m.certChainPem.split(/(?<=-----END CERTIFICATE-----)/)[0]!).subjectAltName, `URI:${wp.identity}`);
    } finally {
      c.close();
    }
  });

  it('delivers the mesh as workload xDS to our own client, and pushes a change', async () => {
    const source = testWorkloadXdsSource(istiod.address, {
      credentials: grpc.credentials.createSsl(Buffer.from(ca.rootCertPem)),
      metadata: () => ({ authorization: `Bearer ${token({ kind: 'node', node: 'node-a' })}` }),
    });
    try {
      await eventually(() => assert.ok(source.status().synced, source.status().detail));
      const got = buildSnapshot([...source.objects()], 1).snapshot;
      const byName = new Map([...got.workloads.values()].map((w) => [w.name, w]));
      assert.equal(byName.get('reviews-v1')?.ip, reviews.ip);
      assert.equal(byName.get('reviews-v1')?.identity, reviews.identity);
      assert.equal(byName.get('reviews-v1')?.node, 'node-b');
      assert.equal(byName.get('productpage')?.ip, productpage.ip);
      const svc = [...got.services.values()].find((s) => s.name === 'reviews');
      assert.deepEqual(svc?.vips, [block.vip(1)]);
      assert.deepEqual(svc?.ports.map((p) => [p.port, p.targetPort]), [[9080, 9080]]);
      // The waypoint binding travels as the Service's GatewayAddress (the waypoint's own Workload).
      assert.equal(svc?.labels['istio.io/use-waypoint'], 'waypoint');
      assert.ok([...got.workloads.values()].some((w) => w.ip === block.waypoint(1) && w.identity === wp.identity), 'the waypoint is published as a workload with its identity');
      const policy = got.l4Policies.find((p) => p.name === 'reviews-from-waypoint');
      assert.equal(policy?.action, 'ALLOW');
      assert.deepEqual(policy?.rules[0]?.[0]?.[0]?.principals, [{ kind: 'exact', value: 'cluster.local/ns/default/sa/waypoint' }]);
      const pushesBefore = istiod.xdsStats().pushes;

      // A new pod and the policy removed: one push with the difference.
      const ratings = workload({ name: 'ratings-v1', ip: block.pod(3), node: 'node-b', serviceAccount: 'bookinfo-ratings' });
      view.set(meshView({ ...baseSpec, workloads: [productpage, reviews, ratings], policies: [] }));
      await eventually(() => {
        const s = buildSnapshot([...source.objects()], 1).snapshot;
        assert.ok([...s.workloads.values()].some((w) => w.name === 'ratings-v1' && w.ip === block.pod(3)), 'new pod pushed');
        assert.equal(s.l4Policies.length, 0, 'removed policy pushed as a removal');
      });
      assert.ok(istiod.xdsStats().pushes > pushesBefore);
      assert.deepEqual(istiod.xdsStats().nacks, []);
    } finally {
      await source.close();
      view.set(meshView(baseSpec));
    }
  });

  it('refuses an xDS stream without a bearer token', async () => {
    const source = testWorkloadXdsSource(istiod.address, {
      credentials: grpc.credentials.createSsl(Buffer.from(ca.rootCertPem)),
      node: { id: 'ztunnel~127.0.0.1~x.istio-system~istio-system.svc.cluster.local', cluster: 'ztunnel' },
    });
    try {
      await eventually(() => assert.match(source.status().detail, /UNAUTHENTICATED|bearer token/));
      assert.equal(source.status().synced, false);
    } finally {
      await source.close();
    }
  });
});
