/**
 * `ambient ca`: the local mesh CA for outside tools. `root` prints the root certificate (to trust
 * the mesh); `issue` writes a certificate and key for any SPIFFE identity (to join it, e.g. an
 * independent HBONE client); `token` prints a bearer token for the local istiod (an Istio
 * ztunnel's AUTH_TOKEN).
 */
const { mkdir, writeFile } = process.getBuiltinModule('node:fs/promises');
const path = process.getBuiltinModule('node:path');
const { parseArgs } = process.getBuiltinModule('node:util');
import { TOKEN_KEY_LABEL } from '../control-plane/istiod-defaults.js';
import { mintToken, parseSubject } from '../control-plane/mesh-token.js';
import { LocalCa, issueFromStateDir } from '../identity/local-ca.js';
import { isSpiffeUri } from '../identity/spiffe.js';
import { defaultStateDir } from './defaults.js';
import { UsageError } from './usage-error.js';

export async function runCa(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      state: { type: 'string' },
      identity: { type: 'string' },
      out: { type: 'string' },
      'validity-hours': { type: 'string', default: '24' },
      for: { type: 'string' },
    },
  });
  const stateDir = values.state ?? defaultStateDir();
  switch (sub) {
    case 'root': {
      const ca = await LocalCa.open(stateDir);
      process.stdout.write(ca.rootCertPem);
      return 0;
    }
    case 'issue': {
      const identity = values.identity;
      if (!identity || !isSpiffeUri(identity)) throw new UsageError('ca issue needs --identity spiffe://<td>/ns/<ns>/sa/<sa>');
      if (!values.out) throw new UsageError('ca issue needs --out DIR');
      const hours = Number(values['validity-hours']);
      if (!(hours > 0)) throw new UsageError('--validity-hours must be positive');
      const m = await issueFromStateDir(stateDir, identity, { validityMs: hours * 3600_000 });
      await mkdir(values.out, { recursive: true });
      await writeFile(path.join(values.out, 'cert-chain.pem'), m.certChainPem);
      await writeFile(path.join(values.out, 'key.pem'), m.keyPem, { mode: 0o600 });
      await writeFile(path.join(values.out, 'root-cert.pem'), m.rootCertPem);
      process.stdout.write(`wrote ${values.out}/{cert-chain.pem,key.pem,root-cert.pem} for ${identity}, valid until ${m.notAfter.toISOString()}\n`);
      return 0;
    }
    case 'token': {
      const subject = values.for !== undefined ? parseSubject(values.for) : undefined;
      if (!subject) throw new UsageError('ca token needs --for pod:NS/NAME, node:NAME or waypoint:NS/NAME');
      const ca = await LocalCa.open(stateDir);
      process.stdout.write(mintToken(ca.deriveSecret(TOKEN_KEY_LABEL), subject) + '\n');
      return 0;
    }
    default:
      throw new UsageError(`ca needs 'root', 'issue' or 'token' (got ${sub ?? 'nothing'})`);
  }
}
