/**
 * A waypoint between a test HBONE client and fake destination ztunnels, all on loopback with real
 * mTLS + HTTP/2:
 *
 *   test client ══HBONE (client cert)══► Waypoint @ waypointIP:15008 ══HBONE (waypoint cert)══►
 *   fake ztunnel @ podIP:15008 (pod cert) ──TCP──► app @ podIP:<port>
 *
 * The fake ztunnel records what it saw (peer identity and address, `:authority`) and splices to
 * the app named by the authority. Apps: the HTTP echo, a raw TCP echo, or a server-first greeter.
 */
import type { Duplex } from 'node:stream';
import net from 'node:net';
import assert from 'node:assert/strict';
import { Client } from 'undici';
import { EchoServer } from '../../src/apps/echo-server.js';
import type { ServiceIR, WorkloadIR } from '../../src/config/ir.js';
import { HbonePool } from '../../src/hbone/pool.js';
import { HboneServer } from '../../src/hbone/server.js';
import type { HboneDialResult } from '../../src/hbone/types.js';
import type { TlsMaterial } from '../../src/identity/tls-material.js';
import { closeTcpServer, connectTcp, createTcpServer, listenTcp } from '../../src/net/sockets.js';
import { splice } from '../../src/net/splice.js';
import type { AccessRecord } from '../../src/telemetry/access-record.js';
import { Waypoint } from '../../src/waypoint/waypoint.js';
import type { AddressBlock } from '../helpers/addresses.js';
import { allocateBlock } from '../helpers/addresses.js';
import { meshView, mutableViewSource, waypoint, workload } from '../helpers/mesh-builders.js';
import type { MutableViewSource } from '../helpers/mesh-builders.js';
import { createTestCa } from '../helpers/test-ca.js';
import type { TestCa } from '../helpers/test-ca.js';

export type AppKind = 'http' | 'tcp' | 'greeter';

export interface PodSpec {
  readonly name: string;
  /** Host number in the pod block. */
  readonly n: number;
  readonly app: AppKind;
  readonly labels: Readonly<Record<string, string>>;
}

/** What the fake destination ztunnel saw for one CONNECT. */
export interface SeenConnect {
  readonly peerIdentity: string;
  readonly peerAddress: string;
  readonly authority: string;
  readonly localAddress: string;
}

export const WAYPOINT_SA = 'waypoint';

export class WaypointHarness {
  readonly seen: SeenConnect[] = [];
  private clientMaterial: TlsMaterial | undefined;

  private constructor(
    readonly ca: TestCa,
    readonly block: AddressBlock,
    readonly view: MutableViewSource,
    readonly waypoint: Waypoint,
    private readonly ztunnel: HboneServer,
    readonly clientPool: HbonePool,
    /** Access records the waypoint emitted, in order. */
    readonly records: AccessRecord[],
    private readonly workloads: readonly WorkloadIR[],
    private readonly apps: { close(deadlineMs: number): Promise<void> }[],
  ) {}

  /**
   * Starts apps for `pods`, builds the view with `services(block)`, starts the waypoint. With
   * `bind`, the Gateway's only address is a hostname (as in a cluster) and the waypoint listens on
   * `bind(block)` instead (its pod IP, `--bind instance-ip`, or a wildcard), on `hbonePort`.
   */
  static async start(
    pods: readonly PodSpec[],
    services: (block: AddressBlock) => readonly ServiceIR[],
    opts: { readonly bind?: (block: AddressBlock) => readonly string[]; readonly hbonePort?: number } = {},
  ): Promise<WaypointHarness> {
    const block = allocateBlock();
    const ca = await createTestCa();
    const apps: { close(deadlineMs: number): Promise<void> }[] = [];
    const workloads: WorkloadIR[] = [];
    for (const p of pods) {
      const ip = block.pod(p.n);
      const app = await startApp(p, ip);
      apps.push(app);
      workloads.push(
        workload({ name: p.name, ip, labels: p.labels, serviceAccount: p.name, containerPorts: [{ name: 'app', port: app.port, protocol: 'TCP' }] }),
      );
    }
    const port = opts.hbonePort !== undefined ? { hbonePort: opts.hbonePort } : {};
    const wp = opts.bind
      ? waypoint({ name: 'waypoint', addresses: [], hostnames: ['waypoint.default.svc.cluster.local'], serviceAccount: WAYPOINT_SA, ...port })
      : waypoint({ name: 'waypoint', addresses: [block.waypoint(1)], serviceAccount: WAYPOINT_SA, ...port });
    const view = mutableViewSource(meshView({ workloads, services: services(block), waypoints: [wp] }));
    const ztunnel = new HboneServer({
      certSource: ca.certSource,
      identityFor: (addr) => view.current().workloadByIp(addr)?.identity,
      handler: (c) => {
        harness.seen.push({
          peerIdentity: c.connection.peerIdentity,
          peerAddress: c.connection.peerAddress,
          authority: c.authority.text,
          localAddress: c.connection.localAddress,
        });
        void connectTcp({ host: c.authority.host, port: c.authority.port, timeoutMs: 2000 }).then((r) => {
          if (!r.ok) {
            c.reject('APP_CONNECT_FAILED');
            return;
          }
          void splice(c.accept(), r.value);
        });
      },
    });
    for (const w of workloads) await ztunnel.addListener(w.ip, 15008);
    const records: AccessRecord[] = [];
    const wpt = new Waypoint({
      waypoint: { namespace: 'default', name: 'waypoint' },
      view,
      certs: ca.certSource,
      accessLog: (r) => records.push(r),
      sniffTimeoutMs: 150,
      ...(opts.bind ? { bindAddresses: opts.bind(block) } : {}),
      onError: (err, context) => console.error(`waypoint error (${context}):`, err),
    });
    await wpt.start();
    const clientPool = new HbonePool({ trust: ca.certSource });
    const harness = new WaypointHarness(ca, block, view, wpt, ztunnel, clientPool, records, workloads, apps);
    return harness;
  }

  /** Swaps the view: same pods, the given waypoint addresses and services. */
  reconfigure(waypointAddresses: readonly string[], services: readonly ServiceIR[], generation: number): void {
    const wp = waypoint({ name: 'waypoint', addresses: waypointAddresses, serviceAccount: WAYPOINT_SA });
    this.view.set(meshView({ workloads: this.workloads, services, waypoints: [wp], generation }));
  }

  /** Opens a tunnel to the waypoint as a client pod would (client cert `default/client`). */
  async dial(authority: string, waypointAddress = this.block.waypoint(1), port = 15008): Promise<HboneDialResult> {
    this.clientMaterial ??= await this.ca.issue(this.ca.id('default', 'client'));
    return this.clientPool.dial({
      source: this.clientMaterial,
      expectedIdentities: [this.ca.id('default', WAYPOINT_SA)],
      address: waypointAddress,
      port,
      authority,
    });
  }

  async tunnel(authority: string): Promise<Duplex> {
    const r = await this.dial(authority);
    if (!r.ok) assert.fail(`dial ${authority} failed: ${r.code} ${r.status ?? ''} ${r.message}`);
    return r.stream;
  }

  /** An undici client whose one connection is a fresh tunnel to `authority`. */
  async httpClient(authority: string): Promise<Client> {
    const stream = await this.tunnel(authority);
    let used = false;
    return new Client('http://tunnel', {
      connect: (_opts, cb) => {
        if (used) {
          cb(new Error('this test client has a single tunnel'), null);
          return;
        }
        used = true;
        // undici ignores a connector that answers synchronously (its resume loop is re-entrant-safe only async).
        queueMicrotask(() => cb(null, stream as net.Socket));
      },
    });
  }

  async close(): Promise<void> {
    await this.clientPool.close(200);
    await this.waypoint.close(500);
    await this.ztunnel.close(200);
    for (const a of this.apps) await a.close(200);
    this.ca.close();
  }
}

async function startApp(p: PodSpec, ip: string): Promise<{ port: number; close(deadlineMs: number): Promise<void> }> {
  switch (p.app) {
    case 'http':
    case 'tcp': {
      const e = new EchoServer({ pod: `default/${p.name}`, host: ip, port: 0, tcp: p.app === 'tcp' });
      const a = await e.start();
      return { port: a.port, close: (d) => e.close(d) };
    }
    case 'greeter': {
      // Server-first (like SMTP): greets on connect, then echoes.
      const server = createTcpServer((s) => {
        s.on('error', () => s.destroy());
        s.write(`220 ${p.name} ready\r\n`);
        s.pipe(s);
      });
      const a = await listenTcp(server, ip, 0);
      return { port: a.port, close: (d) => closeTcpServer(server, d) };
    }
  }
}

/** Reads from `s` until `until` holds for the text so far (or the stream ends). */
export function readUntil(s: Duplex, until: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (c: Buffer): void => {
      text += c.toString('latin1');
      if (until(text)) done();
    };
    const done = (): void => {
      s.off('data', onData);
      s.off('end', done);
      s.off('error', reject);
      resolve(text);
    };
    s.on('data', onData);
    s.once('end', done);
    s.once('error', reject);
  });
}
