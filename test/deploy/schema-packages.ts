/**
 * Where the schema validators live: scripts/schema-validators, a package of its own that the root
 * postinstall installs with npm on the project's Node 24 (they declare engines node >=22, which
 * the machine's Node that runs the root `npm ci` may not meet; scripts/install-schema-validators.sh).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/relocated-config.js';

export const SCHEMA_PACKAGE_DIR = path.join(REPO_ROOT, 'scripts', 'schema-validators');

/** Fails with the remedy when the package was not installed (e.g. `npm ci --ignore-scripts`). */
export function assertSchemaPackageInstalled(): void {
  if (!existsSync(path.join(SCHEMA_PACKAGE_DIR, 'node_modules', 'kubernetes-models', 'package.json'))) {
    throw new Error(`schema validators missing in ${SCHEMA_PACKAGE_DIR}/node_modules: run \`npm ci\` (its postinstall installs them) or \`bash scripts/install-schema-validators.sh\``);
  }
}

let importer: Promise<(spec: string) => Promise<unknown>> | undefined;

/** Imports `spec` (`kubernetes-models/apps/v1/Deployment`) as resolved from the schema package. */
export async function importSchemaModule(spec: string): Promise<unknown> {
  importer ??= import(pathToFileURL(path.join(SCHEMA_PACKAGE_DIR, 'import-model.mjs')).href).then((m: { importModel: (s: string) => Promise<unknown> }) => m.importModel);
  return (await importer)(spec);
}
