/**
 * The local mesh in one test process: the embedded default config relocated into this file's
 * address block, every node's ztunnel, every waypoint, and the echo apps, wired exactly as
 * `ambient up` wires them (same classes, same config), but in-process so tests can look inside
 * (pools, access records) and start fast. Traffic enters as an app would: SOCKS5 from a pod IP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EchoServer } from '../../src/apps/echo-server.js';
import type { WaypointRef, WorkloadIR } from '../../src/config/ir.js';
import { HbonePool } from '../../src/hbone/pool.js';
import { LocalCa } from '../../src/identity/local-ca.js';
import { LocalCaCertSource } from '../../src/identity/local-ca-cert-source.js';
import { socks5Connect } from '../../src/net/socks5-client.js';
import type { SecurityChainsOptions } from '../../src/security/security-chains.js';
import type { ObjectSource } from '../../src/state/object-source.js';
import { SnapshotStore } from '../../src/state/snapshot-store.js';
import type { AccessLogSink, AccessRecord } from '../../src/telemetry/access-record.js';
import { followTracingPolicy } from '../../src/telemetry/tracing-policy.js';
import { WaypointTracer, waypointSpanIdentity } from '../../src/telemetry/waypoint-tracer.js';
import { Waypoint } from '../../src/waypoint/waypoint.js';
import type { WaypointOptions } from '../../src/waypoint/waypoint.js';
import type { HttpLimits } from '../../src/waypoint/http-limits.js';
import type { ConnectionRecord, ConnectionRecordSink } from '../../src/ztunnel/connection-record.js';
import { SOCKS5_PORT } from '../../src/ztunnel/ports.js';
import { Ztunnel } from '../../src/ztunnel/ztunnel.js';
import { allocateBlock, type AddressBlock } from './addresses.js';
import { eventually } from './eventually.js';
import { relocatedConfig, type RelocatedConfig } from './relocated-config.js';

export interface LocalMesh {
  readonly block: AddressBlock;
  readonly config: RelocatedConfig;
  /** The mesh CA's state directory, for a role run as its own process (`--state`). */
  readonly stateDir: string;
  readonly store: SnapshotStore;
  readonly certs: LocalCaCertSource;
  readonly ca: LocalCa;
  /** Client pools of each node's ztunnel, to observe pooling. */
  readonly pools: ReadonlyMap<string, HbonePool>;
  readonly waypointPool: HbonePool;
  /** The running components (admin and telemetry tests look inside). */
  readonly waypoints: readonly Waypoint[];
  /**
   * A rolling restart of one waypoint: drains `waypoints[index]` (up to `drainMs`), then starts
   * its replacement with the same options. Resolves with the new one, once it listens.
   */
  restartWaypoint(index: number, drainMs: number): Promise<Waypoint>;
  readonly ztunnels: ReadonlyMap<string, Ztunnel>;
  readonly ztunnelRecords: ConnectionRecord[];
  readonly waypointRecords: AccessRecord[];
  /** The latest waypoint access record for `path`, waited for (records land after the response). */
  waypointRecordFor(path: string): Promise<AccessRecord>;
  pod(namespace: string, name: string): WorkloadIR;
  /** A TCP connection "from" a pod through its ztunnel's SOCKS5 port. */
  connectFrom(pod: WorkloadIR, host: string, port: number): Promise<net.Socket>;
  /** One HTTP/1.1 request from a pod. */
  request(pod: WorkloadIR, url: string, init?: RequestInit): Promise<MeshResponse>;
  close(): Promise<void>;
}

export interface RequestInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer | string;
}

export interface MeshResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

export interface LocalMeshOptions {
  /** The config directory to relocate and run (default: deploy/local/default). */
  readonly configDir?: string;
  /** Nodes whose ztunnel is not started (something else stands in for it). */
  readonly skipNodes?: readonly string[];
  /** Start no waypoint (the test runs it as its own process). */
  readonly skipWaypoints?: boolean;
  /** Extra files (name → YAML using the default's 127.x.0.n addresses) added before start. */
  readonly extraFiles?: Readonly<Record<string, string>>;
  /** Random source of the waypoints (weighted backends, load balancing): a seeded one makes splits reproducible. */
  readonly random?: () => number;
  /** An extra record sink per waypoint (telemetry tests), besides `waypointRecords`. */
  readonly waypointAccessLog?: (waypoint: WaypointRef) => AccessLogSink | undefined;
  /** A tracer per waypoint (tracing tests); none by default. */
  readonly waypointTracer?: (waypoint: WaypointRef) => WaypointTracer | undefined;
  /** An extra record sink per node's ztunnel, besides `ztunnelRecords`. */
  readonly ztunnelAccessLog?: (node: string) => ConnectionRecordSink | undefined;
  /** Options of every waypoint's security filters (e.g. a JWKS trust bundle from a test CA). */
  readonly waypointSecurity?: SecurityChainsOptions;
  /** Config sources besides the directory (xDS, an Envoy bootstrap file), made once addresses are known. */
  readonly sources?: (config: RelocatedConfig) => Promise<readonly ObjectSource[]>;
  /** HTTP limits of every waypoint (tests of timeouts use small ones). */
  readonly waypointHttpLimits?: Partial<HttpLimits>;
  /** One waypoint per Gateway address (replicas, as in a Deployment) instead of one for all. */
  readonly waypointReplicas?: boolean;
  /** Waypoints put `baggage` on their CONNECTs to destination ztunnels (istiod's AMBIENT_ENABLE_BAGGAGE). */
  readonly waypointConnectBaggage?: boolean;
  /**
   * Return before the waypoints' Wasm plugins are ready (default: wait for their loads to
   * settle, since until then each plugin's fail strategy answers).
   */
  readonly dontWaitForPlugins?: boolean;
  /** How the ztunnels draw a Service's waypoint from a weighted (canary) set: a seeded draw keeps splits reproducible. */
  readonly ztunnelPickWaypoint?: (n: number) => number;
}

export async function startLocalMesh(opts: LocalMeshOptions = {}): Promise<LocalMesh> {
  const block = allocateBlock();
  const config = relocatedConfig(block, opts.configDir);
  for (const [name, yaml] of Object.entries(opts.extraFiles ?? {})) config.write(name, yaml);
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'ambient-state-'));
  const sources = opts.sources ? await opts.sources(config) : [];
  const store = await SnapshotStore.open({ dir: config.dir, watch: true, debounceMs: 20, pollIntervalMs: 200, sources });
  const ca = await LocalCa.open(stateDir);
  const certs = new LocalCaCertSource(ca, { trustDomain: store.current().snapshot.mesh.trustDomain });
  const ztunnelRecords: ConnectionRecord[] = [];
  const waypointRecords: AccessRecord[] = [];
  const view = store.current();

  const apps: EchoServer[] = [];
  for (const w of view.snapshot.workloads.values()) {
    if (!w.demoApp) continue;
    for (const port of w.demoApp.ports) {
      const tcp = w.containerPorts.some((cp) => cp.port === port && (cp.name ?? '').startsWith('tcp'));
      const app = new EchoServer({ pod: `${w.namespace}/${w.name}`, host: w.ip, port, tcp, view: store });
      await app.start();
      apps.push(app);
    }
  }
  const pools = new Map<string, HbonePool>();
  const ztunnels: Ztunnel[] = [];
  const ztunnelsByNode = new Map<string, Ztunnel>();
  const nodes = new Set([...view.snapshot.workloads.values()].filter((w) => w.protocol === 'HBONE').map((w) => w.node));
  for (const node of nodes) {
    if (opts.skipNodes?.includes(node)) continue;
    const pool = new HbonePool({ trust: certs });
    pools.set(node, pool);
    const extra = opts.ztunnelAccessLog?.(node);
    const z = new Ztunnel({
      node,
      view: store,
      certs,
      pool,
      accessLog: recordingSink(ztunnelRecords, extra),
      ...(opts.ztunnelPickWaypoint ? { pickWaypoint: opts.ztunnelPickWaypoint } : {}),
    });
    await z.start();
    ztunnels.push(z);
    ztunnelsByNode.set(node, z);
  }
  const waypointPool = new HbonePool({ trust: certs });
  const waypoints: Waypoint[] = [];
  const stopTracing: ((deadlineMs: number) => Promise<void>)[] = [];
  const waypointOptions: WaypointOptions[] = [];
  for (const wp of opts.skipWaypoints ? [] : view.snapshot.waypoints.values()) {
    const extra = opts.waypointAccessLog?.({ namespace: wp.namespace, name: wp.name });
    const ref = { namespace: wp.namespace, name: wp.name };
    // As `ambient waypoint` does: the mesh config and Telemetry API decide (no flags here).
    let tracer = opts.waypointTracer?.(ref);
    if (!tracer) {
      tracer = new WaypointTracer({ identity: waypointSpanIdentity(wp.namespace, wp.name, wp.addresses[0] ?? '127.0.0.1') });
      stopTracing.push(followTracingPolicy(store, ref, tracer, undefined, `${wp.name}.${wp.namespace}`));
    }
    const base: WaypointOptions = {
      waypoint: { namespace: wp.namespace, name: wp.name },
      view: store,
      certs,
      pool: waypointPool,
      accessLog: recordingSink(waypointRecords, extra),
      tracer,
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.waypointSecurity ? { security: opts.waypointSecurity } : {}),
      ...(opts.waypointHttpLimits ? { httpLimits: opts.waypointHttpLimits } : {}),
      ...(opts.waypointConnectBaggage ? { connectBaggage: true } : {}),
    };
    const replicas = opts.waypointReplicas ? wp.addresses.map((a) => ({ ...base, onlyAddresses: [a] })) : [base];
    for (const o of replicas) {
      const w = new Waypoint(o);
      await w.start();
      waypoints.push(w);
      waypointOptions.push(o);
    }
  }
  if (!opts.dontWaitForPlugins) await Promise.all(waypoints.map((w) => w.wasm.settled()));

  const pod = (namespace: string, name: string): WorkloadIR => {
    const w = [...store.current().snapshot.workloads.values()].find((x) => x.namespace === namespace && x.name === name);
    if (!w) throw new Error(`no pod ${namespace}/${name}`);
    return w;
  };
  const connectFrom = (from: WorkloadIR, host: string, port: number): Promise<net.Socket> =>
    socks5Connect({ proxyHost: from.ip, proxyPort: SOCKS5_PORT, localAddress: from.ip, host, port, timeoutMs: 10_000 });

  return {
    block,
    config,
    stateDir,
    store,
    certs,
    ca,
    pools,
    waypointPool,
    waypoints,
    restartWaypoint: async (index, drainMs) => {
      const old = waypoints[index];
      const o = waypointOptions[index];
      if (!old || !o) throw new Error(`no waypoint ${index}`);
      await old.close(drainMs);
      const w = new Waypoint(o);
      await w.start();
      waypoints[index] = w;
      return w;
    },
    ztunnels: ztunnelsByNode,
    ztunnelRecords,
    waypointRecords,
    waypointRecordFor: (p) =>
      eventually(() => {
        const r = [...waypointRecords].reverse().find((x) => x.path === p);
        assert.ok(r, `access record for ${p}`);
        return r;
      }),
    pod,
    connectFrom,
    request: async (from, url, init = {}) => {
      const u = new URL(url);
      const port = Number(u.port || 80);
      const socket = await connectFrom(from, u.hostname, port);
      return sendHttp(socket, u, init);
    },
    close: async () => {
      await Promise.all(waypoints.map((w) => w.close(500)));
      await Promise.all(stopTracing.map((stop) => stop(200)));
      await Promise.all(ztunnels.map((z) => z.close(500)));
      await Promise.all([...pools.values(), waypointPool].map((p) => p.close(200)));
      await Promise.all(apps.map((a) => a.close(200)));
      certs.close();
      await store.close();
      config.remove();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * One TCP connection to an echo port: sends `payload`, half-closes, and resolves with everything
 * that came back before the server closed (the caller compares it with what was sent).
 */
export async function echoRoundTrip(mesh: LocalMesh, from: WorkloadIR, host: string, port: number, payload: Buffer): Promise<Buffer> {
  const socket = await mesh.connectFrom(from, host, port);
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    socket.on('end', resolve);
    socket.on('error', reject);
  });
  socket.end(payload);
  try {
    await ended;
  } finally {
    socket.destroy();
  }
  return Buffer.concat(received);
}

/** Sends one request over an established tunnel socket and reads the whole response. */
export function sendHttp(socket: net.Socket, url: URL, init: RequestInit = {}): Promise<MeshResponse> {
  return new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body);
    const req = http.request(
      {
        method: init.method ?? (body ? 'POST' : 'GET'),
        host: url.hostname,
        port: url.port || 80,
        path: `${url.pathname}${url.search}`,
        headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...init.headers },
        createConnection: () => socket,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          socket.destroy();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: buf,
            json: <T>() => JSON.parse(buf.toString('utf8')) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A sink that keeps every record and hands it on to `extra`, keeping `extra`'s `opened` hook
 * (the TCP open-time count) so a test's telemetry sees what a role's would.
 */
function recordingSink<R>(records: R[], extra: (((r: R) => void) & { readonly opened?: (r: R) => void }) | undefined): ((r: R) => void) & { readonly opened?: (r: R) => void } {
  const sink = (r: R): void => void (records.push(r), extra?.(r));
  const opened = extra?.opened;
  return opened ? Object.assign(sink, { opened }) : sink;
}
