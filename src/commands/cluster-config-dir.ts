/**
 * Which files directory a role reads when `--config` is not given. The local mesh's default
 * (`deploy/local/default`, shipped in the image) is a demo mesh with its own `default/waypoint`
 * Gateway on 127.2.x addresses: merged into a cluster's config it would shadow the real Gateway
 * and add pods that do not exist. So a role fed by a control plane (`--kube`, xDS, an Envoy
 * bootstrap) and given no `--config` reads an empty directory under its state directory instead.
 */
const { mkdirSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');
import { DEFAULT_CONFIG_DIR } from './defaults.js';

export function configDirFor(explicit: string | undefined, controlPlane: boolean, stateDir: string): string {
  if (explicit !== undefined) return explicit;
  if (!controlPlane) return DEFAULT_CONFIG_DIR;
  const empty = path.join(stateDir, 'no-files');
  mkdirSync(empty, { recursive: true });
  return empty;
}
