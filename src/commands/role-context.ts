/**
 * What every mesh role (ztunnel, waypoint) needs before it can serve: the config (watched), and
 * certificates from the mesh CA in the state directory. Written once so the roles start the same way.
 */
import { formatDiagnostic } from '../config/diagnostics.js';
import { LocalCa } from '../identity/local-ca.js';
import { LocalCaCertSource } from '../identity/local-ca-cert-source.js';
import { FileCertSource } from '../identity/file-cert-source.js';
import type { CertSource } from '../identity/tls-material.js';
import { SnapshotStore } from '../state/snapshot-store.js';
import type { CertLifetime } from './cert-lifetime-options.js';
import type { ControlPlaneChoice } from './control-plane-options.js';
import { UsageError } from './usage-error.js';

export interface RoleContext {
  readonly store: SnapshotStore;
  readonly certs: CertSource;
  close(): Promise<void>;
}

/** Loads the mesh CA from the state directory, creating it when absent. */
export async function ensureMeshCa(stateDir: string, _trustDomain: string): Promise<LocalCa> {
  return LocalCa.open(stateDir);
}

/** How often PEM files given with `--certs` are re-read (mounted secrets are swapped, not edited). */
const CERT_FILE_POLL_MS = 30_000;

export interface RoleContextOptions {
  readonly configDir: string;
  readonly stateDir: string;
  readonly name: string;
  /** PEM files instead of the local CA (layout in src/identity/file-cert-source.ts). */
  readonly certsDir?: string;
  /** Control-plane sources (xDS, bootstrap) and CA, from `control-plane-options.ts`. */
  readonly controlPlane?: ControlPlaneChoice;
  /** `--cert-lifetime` / `--cert-refresh-fraction` (`cert-lifetime-options.ts`). */
  readonly certLifetime?: CertLifetime;
}

export async function openRoleContext(opts: RoleContextOptions): Promise<RoleContext> {
  const store = await SnapshotStore.open({
    dir: opts.configDir,
    watch: true,
    localRanges: true,
    sources: opts.controlPlane?.sources ?? [],
    // The runner prints diagnostics once; each role only notes that a reload was partly rejected.
    onDiagnostics: (diags) => {
      const errors = diags.filter((d) => d.severity === 'error');
      if (errors.length > 0) process.stderr.write(`${opts.name}: config has ${errors.length} error(s); first: ${formatDiagnostic(errors[0]!)}\n`);
    },
  });
  const trustDomain = store.current().snapshot.mesh.trustDomain;
  const istioCa = opts.controlPlane?.ca;
  const certs = opts.certsDir
    ? openFileCerts(opts.certsDir, trustDomain, opts.name, store)
    : istioCa
      ? // istio-agent renews at half life.
        new LocalCaCertSource(istioCa, { trustDomain, refreshFraction: 0.5, ...opts.certLifetime, onError: (err, identity) => process.stderr.write(`${opts.name}: certificate for ${identity} from the Istio CA failed: ${String(err)}\n`) })
      : new LocalCaCertSource(await ensureMeshCa(opts.stateDir, trustDomain), {
        trustDomain,
        ...opts.certLifetime,
        onError: (err, identity) => process.stderr.write(`${opts.name}: certificate re-issue for ${identity} failed: ${String(err)}\n`),
      });
  return {
    store,
    certs,
    close: async () => {
      certs.close();
      istioCa?.close();
      await store.close();
    },
  };
}

/** PEM files given with `--certs`; an unreadable directory is the user's mistake, said in one line. */
function openFileCerts(dir: string, trustDomain: string, name: string, store: SnapshotStore): FileCertSource {
  try {
    return new FileCertSource({
      dir,
      trustDomain,
      pollIntervalMs: CERT_FILE_POLL_MS,
      onError: (err) => process.stderr.write(`${name}: reading certificates from ${dir}: ${String(err)}\n`),
    });
  } catch (err) {
    void store.close();
    throw new UsageError(`--certs ${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
