/**
 * Istio's own ztunnel in the local mesh, fed by our istiod (CA + workload xDS), around our
 * waypoint: runs when `ISTIO_ZTUNNEL_BIN` names a built istio/ztunnel binary (and the test runs
 * as root with `ip`, `unshare`, `nsenter`: each Istio ztunnel gets a network namespace); skips
 * otherwise. docs/istio-ztunnel.md has the build and the walkthrough.
 *
 * Asserted over the real binaries: Istio ztunnel → our waypoint → Istio ztunnel → app for
 * HTTP/1.1, HTTP/2, gRPC and TCP pass-through; L4 AuthorizationPolicy from our xDS enforced by
 * Istio's ztunnel (one admitting only the waypoint's identity, one by namespace); our ztunnel ↔
 * Istio's ztunnel directly, both ways; a waypoint drain with a request in flight; certificate
 * rotation (short SECRET_TTL) with traffic still flowing; gRPC over h2c to the app (grpc-status 0
 * and 7); 64 MiB both ways over HTTP/1.1 and HTTP/2 (sha256); our waypoint's L7 policy on the
 * principal Istio's ztunnel presented; an L4 DENY by principal and port at Istio's ztunnel; our
 * inbound reading Istio's `forwarded` host. HTTP/2 trailers with a body are `todo` (a known
 * defect: docs/istio-ztunnel.md, "Session 6 re-run").
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { allocateBlock } from '../helpers/addresses.js';
import { eventually } from '../helpers/eventually.js';
import { IstioZtunnelMesh } from './istio-ztunnel-mesh.js';

const BIN = process.env['ISTIO_ZTUNNEL_BIN'];

function skipReason(): string | undefined {
  if (!BIN) return 'set ISTIO_ZTUNNEL_BIN to an istio/ztunnel binary to run the Istio ztunnel interop tests';
  if (!existsSync(BIN)) return `ISTIO_ZTUNNEL_BIN=${BIN} does not exist`;
  if (process.getuid?.() !== 0) return 'the Istio ztunnel interop tests need root (network namespaces)';
  try {
    execFileSync('sh', ['-c', 'command -v ip && command -v unshare && command -v nsenter && command -v ss'], { stdio: 'ignore' });
  } catch {
    return 'the Istio ztunnel interop tests need ip, unshare, nsenter and ss';
  }
  return undefined;
}

const skip = skipReason();

describe('Istio ztunnel interop (ISTIO_ZTUNNEL_BIN)', { skip: skip ?? false }, () => {
  const b = allocateBlock();
  const subnet = b.node(1).split('.').slice(0, 3).join('.');
  let mesh: IstioZtunnelMesh;
  const reviews = `${b.vip(1)}`;
  const tcpEcho = `${b.vip(2)}`;
  const ratings = `${b.vip(3)}`;
  const reviewsH2 = `${b.vip(4)}`;
  const podOf = (body: string | undefined): string => (JSON.parse(body ?? '{}') as { pod?: string }).pod ?? '';

  before(async () => {
    // Short certificates: Istio's ztunnel renews at half life, so rotation happens during the run.
    mesh = await IstioZtunnelMesh.start(BIN ?? '', b, subnet, { SECRET_TTL: '20s' });
  });
  after(async () => {
    // ISTIO_ZTUNNEL_LOG=FILE keeps everything the mesh printed (Istio's ztunnels' logs included).
    const logFile = process.env['ISTIO_ZTUNNEL_LOG'];
    if (logFile && mesh) writeFileSync(logFile, mesh.log);
    await mesh?.close();
  });

  it('Istio ztunnel → our waypoint → Istio ztunnel → app: HTTP/1.1, HTTP/2, gRPC, TCP', async () => {
    const h1 = await mesh.fromIstioPod('default', 'sleep', ['h1', reviews, '9080', '/h1']);
    assert.equal(h1.status, 200, JSON.stringify(h1));
    assert.equal(podOf(h1.body), 'default/reviews-v1');
    const h2 = await mesh.fromIstioPod('default', 'sleep', ['h2', reviews, '9080', '/h2']);
    assert.equal(h2.status, 200, JSON.stringify(h2));
    assert.equal(podOf(h2.body), 'default/reviews-v1');
    const grpc = await mesh.fromIstioPod('default', 'sleep', ['grpc', reviews, '9080']);
    assert.deepEqual([grpc.status, grpc.grpcStatus, grpc.body], [200, '0', 'hello grpc'], JSON.stringify(grpc));
    const tcp = await mesh.fromIstioPod('default', 'sleep', ['tcp', tcpEcho, '9000']);
    assert.deepEqual([tcp.ok, tcp.body], [true, 'ping\n'], JSON.stringify(tcp));
    // The waypoint logged the requests it routed to Istio's ztunnel's pod.
    assert.match(mesh.log, new RegExp(`\\[waypoint/default/waypoint\\].*"GET /h1 HTTP/1.1" 200 .*"${b.pod(3).replaceAll('.', '\\.')}:9080"`));
  });

  it("Istio's ztunnel enforces L4 policy from our xDS: only the waypoint reaches reviews; tcp-echo admits namespace default only", async () => {
    const direct = await mesh.fromIstioPod('default', 'sleep', ['h1', b.pod(3), '9080', '/direct']);
    assert.equal(direct.ok, false, `a direct connection to reviews-v1 must be refused: ${JSON.stringify(direct)}`);
    await eventually(() => assert.match(mesh.log, /\[istio-ztunnel\/default\/reviews-v1\].*src\.identity="spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep".*connection closed due to policy rejection/), 10_000);
    const other = await mesh.fromIstioPod('other', 'notsleep', ['tcp', b.pod(4), '9000']);
    assert.equal(other.ok, false, JSON.stringify(other));
    const same = await mesh.fromIstioPod('default', 'sleep', ['tcp', b.pod(4), '9000']);
    assert.deepEqual([same.ok, same.body], [true, 'ping\n'], JSON.stringify(same));
  });

  it('inner gRPC over h2c prior knowledge through Istio ztunnel → our waypoint → Istio ztunnel: grpc-status 0 and 7', async () => {
    // reviews-h2's port is HTTP/2: the waypoint speaks h2c prior knowledge to the app, through Istio's ztunnel.
    // The message itself is checked in the todo test below (the same defect can drop it).
    const ok = await mesh.fromIstioPod('default', 'sleep', ['grpc', reviewsH2, '9080']);
    assert.deepEqual([ok.status, ok.grpcStatus], [200, '0'], JSON.stringify(ok));
    const failed = await mesh.fromIstioPod('default', 'sleep', ['grpc', reviewsH2, '9080', '', 'x-echo-grpc-status:7']);
    assert.deepEqual([failed.status, failed.grpcStatus], [200, '7'], JSON.stringify(failed));
  });

  // Known defect (docs/istio-ztunnel.md, "What differed"): undici's HTTP/2 client (the waypoint's
  // upstream) stops reading DATA when the trailers HEADERS frame arrives; when Istio's ztunnel
  // delivers the app's HEADERS, DATA and trailers in one read, the buffered body is dropped and the
  // client gets the trailers with an empty body (most runs; a gRPC answer then has grpc-status 0 and
  // no message). Our ztunnel's relay never coalesced them.
  it('inner HTTP/2 and gRPC: the body with the trailers, request trailers too, through both Istio ztunnels', async () => {
    const grpc = await mesh.fromIstioPod('default', 'sleep', ['grpc', reviewsH2, '9080']);
    assert.deepEqual([grpc.status, grpc.grpcStatus, grpc.body], [200, '0', 'hello grpc'], `the gRPC message with its status: ${JSON.stringify(grpc)}`);
    const t = await mesh.fromIstioPod('default', 'sleep', ['h2trailers', reviewsH2, '9080']);
    assert.equal(t.status, 200, JSON.stringify(t));
    assert.equal(t.trailers?.['x-resp-trailer'], 'from-app', `response trailers reached the client: ${JSON.stringify(t)}`);
    assert.equal((t.report as { protocol?: string } | undefined)?.protocol, 'HTTP/2', `the app answered over h2c with its report as the body: ${JSON.stringify(t)}`);
    assert.equal(t.report?.trailers?.['x-req-trailer'], 'from-client', `request trailers reached the app: ${JSON.stringify(t.report)}`);
  });

  it('a 64 MiB body both ways arrives intact over HTTP/1.1 and HTTP/2 (sha256 on each side)', async () => {
    const size = String(64 * 1024 * 1024);
    for (const mode of ['h1bulk', 'h2bulk']) {
      const r = await mesh.fromIstioPod('default', 'sleep', [mode, reviews, '9080', size], 120_000);
      assert.equal(r.status, 200, `${mode}: ${JSON.stringify(r)}`);
      assert.equal(r.sent?.bytes, 64 * 1024 * 1024, mode);
      assert.deepEqual(r.got, r.sent, `${mode}: the echo's answer is the bytes sent`);
    }
  });

  it("our waypoint's L7 AuthorizationPolicy matches the principal Istio's ztunnel presented", async () => {
    const allowed = await mesh.fromIstioPod('default', 'sleep', ['h1', reviews, '9080', '/l7-allowed']);
    assert.equal(allowed.status, 200, JSON.stringify(allowed));
    const notAllowed = await mesh.fromIstioPod('other', 'notsleep', ['h1', reviews, '9080', '/l7-allowed']);
    assert.equal(notAllowed.status, 403, `notsleep is not in the ALLOW policy: ${JSON.stringify(notAllowed)}`);
    assert.match(notAllowed.body ?? '', /RBAC: access denied/);
    const denied = await mesh.fromIstioPod('default', 'sleep', ['h2', reviews, '9080', '/l7-denied']);
    assert.equal(denied.status, 403, `the DENY on sleep and /l7-denied: ${JSON.stringify(denied)}`);
  });

  it("Istio's ztunnel enforces a DENY by principal and port from our xDS", async () => {
    const alt = await mesh.fromIstioPod('default', 'sleep', ['tcp', b.pod(4), '9001']);
    assert.equal(alt.ok, false, `sleep → tcp-echo:9001 must be refused: ${JSON.stringify(alt)}`);
    await eventually(() => assert.match(mesh.log, new RegExp(`\\[istio-ztunnel/default/tcp-echo\\].*src\\.identity="spiffe://cluster\\.local/ns/default/sa/sleep".*dst\\.hbone_addr=${b.pod(4).replaceAll('.', '\\.')}:9001.*policy rejection: explicitly denied by: default/tcp-echo-deny-sleep-alt-port`)), 10_000);
    const main = await mesh.fromIstioPod('default', 'sleep', ['tcp', b.pod(4), '9000']);
    assert.deepEqual([main.ok, main.body], [true, 'ping\n'], JSON.stringify(main));
  });

  it("our ztunnel ↔ Istio's ztunnel directly, both ways", async () => {
    // Istio (sleep, node-a) → ours (ratings-v1, node-c): no waypoint on ratings.
    const toOurs = await mesh.fromIstioPod('default', 'sleep', ['h1', ratings, '9080', '/to-ours']);
    assert.equal(toOurs.status, 200, JSON.stringify(toOurs));
    const seen = JSON.parse(toOurs.body ?? '{}') as { pod?: string; peer?: { identity?: string } };
    assert.equal(seen.pod, 'default/ratings-v1');
    // Our inbound read the real peer's CONNECT: its certificate's identity, and the Service from its
    // `forwarded: for="…";host=ratings.default.svc.cluster.local` header.
    await eventually(() => assert.match(mesh.log, /\[ztunnel\/node-c\].*src\.identity="spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep".*dst\.service=ratings\.default\.svc\.cluster\.local .*direction="inbound"/), 10_000);
    // Ours (local-client, node-c) → Istio (tcp-echo's pod IP, node-b), HBONE between the two ztunnels.
    const toIstio = await mesh.curlFromOurPod('local-client', `http://${b.pod(3)}:9080/`);
    // reviews admits only the waypoint: Istio's ztunnel refuses our ztunnel's client identity.
    assert.notEqual(toIstio.status, 200);
    await eventually(() => assert.match(mesh.log, /\[istio-ztunnel\/default\/reviews-v1\].*src\.identity="spiffe:\/\/cluster\.local\/ns\/default\/sa\/local-client".*policy rejection/), 10_000);
    // Through the waypoint it is admitted.
    const viaWaypoint = await mesh.curlFromOurPod('local-client', `http://${reviews}:9080/from-ours`);
    assert.equal(viaWaypoint.status, 200, viaWaypoint.body);
    assert.equal(podOf(viaWaypoint.body), 'default/reviews-v1');
  });

  it('a waypoint drain under load lets the request in flight finish, and the restarted waypoint serves again', async (t) => {
    const pid = await mesh.pidListeningOn(b.waypoint(1), 15008);
    assert.ok(pid, 'the waypoint listens');
    // Three loops of requests for 6 s, plus one slow request open at the waypoint when it drains.
    const loadRun = mesh.fromIstioPod('default', 'sleep', ['load', reviews, '9080', '6000', '3']);
    const slow = mesh.fromIstioPod('default', 'sleep', ['h1', reviews, '9080', '/slow', 'x-echo-delay-ms:1500']);
    // In flight: the waypoint has it open upstream (only then is it the drain's to finish).
    await eventually(async () => assert.ok((await mesh.waypointActiveRequests(b.waypoint(1))) > 0), 5000, 50);
    process.kill(pid, 'SIGTERM');
    const done = await slow;
    assert.equal(done.status, 200, `in flight during the drain: ${JSON.stringify(done)}`);
    const loadResult = (await loadRun) as unknown as { sent: number; succeeded: number; failures: string[] };
    // With one waypoint, requests sent while it restarts fail; the ones before and during the drain succeed.
    t.diagnostic(`load through the drain: sent ${loadResult.sent}, succeeded ${loadResult.succeeded}, failed ${loadResult.failures.length} (${[...new Set(loadResult.failures)].slice(0, 3).join('; ')})`);
    assert.ok(loadResult.succeeded > 0, JSON.stringify(loadResult).slice(0, 500));
    await eventually(async () => {
      const again = await mesh.fromIstioPod('default', 'sleep', ['h1', reviews, '9080', '/after-drain']);
      assert.equal(again.status, 200, JSON.stringify(again));
    }, 30_000, 500);
  });

  it('rotates certificates (SECRET_TTL=20s) and keeps serving', async () => {
    const issued = (): number => (mesh.log.match(/istiod: ca: issued spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep to pod:default\/sleep/g) ?? []).length;
    const before = issued();
    assert.ok(before >= 1, 'sleep got a certificate from our CA');
    await eventually(() => assert.ok(issued() > before, `renewed (${issued()} issued)`), 30_000, 500);
    const after = await mesh.fromIstioPod('default', 'sleep', ['h1', reviews, '9080', '/after-rotation']);
    assert.equal(after.status, 200, JSON.stringify(after));
  });
});
