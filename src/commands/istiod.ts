/**
 * `ambient istiod`: the local mesh's control plane for Istio's own data plane. Serves Istio's CA
 * API and workload xDS on one TLS gRPC port (default `127.0.0.1:15012`) from the config directory
 * and the local CA in the state directory (src/control-plane/local-istiod.ts). `ambient up` starts
 * it when a node runs Istio's ztunnel; it can also run alone beside `up`.
 */
const { parseArgs } = process.getBuiltinModule('node:util');
import { DEFAULT_CLUSTER_ID, ISTIOD_PORT } from '../control-plane/istiod-defaults.js';
import type { LocalIstiod } from '../control-plane/local-istiod.js';
import { notifyReady, runUntilSignal } from '../process/lifecycle.js';
import { SnapshotStore } from '../state/snapshot-store.js';
import { DEFAULT_DRAIN_MS, defaultStateDir } from './defaults.js';
import { ensureMeshCa } from './role-context.js';
import { parseDrainMs, ROLE_OPTIONS } from './serve-role.js';
import { UsageError } from './usage-error.js';

export async function runIstiod(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...ROLE_OPTIONS, address: { type: 'string', default: `127.0.0.1:${ISTIOD_PORT}` }, 'cluster-id': { type: 'string', default: DEFAULT_CLUSTER_ID } },
  });
  const m = /^(.+):(\d+)$/.exec(values.address);
  if (!m) throw new UsageError('--address must be IP:PORT');
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
  const port = Number(m[2]);
  const quiet = values.quiet === true;
  const log = (line: string): void => {
    if (!quiet) process.stderr.write(`istiod: ${line}\n`);
  };
  const store = await SnapshotStore.open({ dir: values.config, watch: true, localRanges: true });
  const ca = await ensureMeshCa(values.state ?? defaultStateDir(), store.current().snapshot.mesh.trustDomain);
  // Loaded here, not at CLI start: gRPC is for this role only.
  const { LocalIstiod } = await import('../control-plane/local-istiod.js');
  let istiod: LocalIstiod;
  try {
    istiod = await LocalIstiod.start({ ca, view: store, host, port, clusterId: values['cluster-id'], log });
  } catch (err) {
    await store.close();
    throw new UsageError(`istiod: cannot listen on ${values.address}: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.stderr.write(`istiod: CA and workload xDS on ${istiod.address} (TLS, mesh root ${ca.dir}/root-cert.pem)\n`);
  notifyReady('istiod');
  await runUntilSignal(
    {
      close: async (deadline) => {
        await istiod.close(deadline);
        await store.close();
      },
    },
    { name: 'istiod', drainMs: parseDrainMs(values['drain-ms'], DEFAULT_DRAIN_MS) },
  );
  return 0;
}
