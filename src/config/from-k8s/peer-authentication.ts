/**
 * `security.istio.io/v1 PeerAuthentication` → {@link PeerAuthnDraft}: the mTLS mode the destination
 * ztunnel enforces on plaintext inbound (istio.io reference/config/security/peer_authentication).
 *
 * - Scope: a selector → those workloads of the namespace; none → the namespace, or the whole mesh
 *   in the root namespace (decided by the snapshot builder, which knows the root namespace). A
 *   selector policy in the root namespace is ignored by Istio; the builder warns about it.
 * - `mtls.mode` is `UNSET` (also when `mtls` is absent: inherit), `STRICT`, `PERMISSIVE` or
 *   `DISABLE`. In ambient, `DISABLE` accepts plaintext like `PERMISSIVE`: HBONE is always mTLS.
 * - `portLevelMtls` keys are workload ports (the app's target port), and need a selector, as
 *   Istio's validation requires; a port-level `UNSET` inherits the policy's effective mode.
 * - `metadata.creationTimestamp` orders equals: the oldest policy of a level wins.
 */
import type { MtlsModeIR } from '../ir-security.js';
import { readCreatedAt } from './http-route.js';
import type { ObjectReader } from './object-reader.js';
import { peerAuthenticationStandIn } from './policy-stand-ins.js';
import type { PeerAuthnDraft, Translator } from './translator.js';

const MODES: ReadonlySet<string> = new Set<MtlsModeIR>(['UNSET', 'STRICT', 'PERMISSIVE', 'DISABLE']);

export const peerAuthenticationTranslator: Translator = {
  kind: 'PeerAuthentication',
  apiVersions: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  namespaced: true,
  standIn: peerAuthenticationStandIn,
  translate(r) {
    const namespace = r.id.namespace ?? 'default';
    const labels = r.record(['spec', 'selector']) ? r.stringMap(['spec', 'selector', 'matchLabels']) : undefined;
    // An empty selector selects nothing more specific than the namespace.
    const selector = labels && Object.keys(labels).length > 0 ? labels : undefined;
    const mode = readMode(r, ['spec', 'mtls']);
    const portLevel: Record<number, MtlsModeIR> = {};
    const ports = r.record(['spec', 'portLevelMtls']);
    if (ports && Object.keys(ports).length > 0) {
      if (!selector) {
        r.error(['spec', 'portLevelMtls'], 'FIELD_INVALID', 'mesh/namespace-wide PeerAuthentication cannot have portLevelMtls (it needs a selector)');
      }
      for (const key of Object.keys(ports)) {
        const port = /^\d{1,5}$/.test(key) ? Number(key) : NaN;
        if (!(port >= 1 && port <= 65535)) {
          r.error(['spec', 'portLevelMtls', key], 'FIELD_INVALID', `port must be 1..65535, got ${JSON.stringify(key)}`);
          continue;
        }
        portLevel[port] = readMode(r, ['spec', 'portLevelMtls', key]);
      }
    }
    const createdAt = readCreatedAt(r);
    if (r.failed) return undefined;
    const value: PeerAuthnDraft = { name: r.id.name, namespace, selector, mode, portLevel, createdAt, origin: r.origin };
    return { type: 'PeerAuthn', value };
  },
};

/** `<path>.mode` of a MutualTLS message; an absent message or mode is `UNSET`. */
function readMode(r: ObjectReader, path: readonly string[]): MtlsModeIR {
  if (!r.has(path)) return 'UNSET';
  if (r.record(path) === undefined) return 'UNSET';
  const text = r.string([...path, 'mode']);
  if (text === undefined) return 'UNSET';
  if (!MODES.has(text)) {
    r.error([...path, 'mode'], 'FIELD_INVALID', `must be UNSET, STRICT, PERMISSIVE or DISABLE, got ${JSON.stringify(text)}`);
    return 'UNSET';
  }
  return text as MtlsModeIR;
}
