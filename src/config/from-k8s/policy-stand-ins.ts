/**
 * What serves in place of a security policy that was rejected and has no previous version to keep.
 *
 * A rejected object is normally just absent (its last good version, if any, keeps serving). For
 * most kinds absence is the conservative outcome; for these two it is not: a new ALLOW
 * AuthorizationPolicy that is absent leaves its workloads open to everyone, a new STRICT
 * PeerAuthentication that is absent leaves plaintext accepted. So a rejected one is replaced by a
 * stand-in read leniently from the same object (its errors already reported), with the narrowest
 * effect that is still closed, as the workload-xDS source does for an undecodable Authorization
 * (`src/config/from-xds/wds-authorization.ts`):
 * - AuthorizationPolicy ALLOW (or no action): the same scope, no rules — it allows nothing, so its
 *   workloads admit only what another ALLOW admits;
 * - DENY, CUSTOM (an authorizer that cannot be asked denies, as ext_authz with
 *   `failure_mode_allow: false`), or an action that cannot be read: deny everything in the scope;
 * - AUDIT, CUSTOM with a selector (ztunnel does not run it), or marked `istio.io/dry-run: "true"`:
 *   nothing (never enforced anyway);
 * - scope: the selector when it reads, else the whole namespace (wider, still closed); for
 *   `targetRefs`, the targets that read — none readable, nothing (an unattachable policy cannot
 *   be enforced anywhere, in Istio either);
 * - PeerAuthentication: `STRICT` over the scope that reads, no port-level exceptions.
 */
import type { Diagnostic } from '../diagnostics.js';
import type { L4RulesIR } from '../ir.js';
import type { L7PolicyAction, RouteTargetIR } from '../ir-security.js';
import { readCreatedAt } from './http-route.js';
import type { ObjectReader } from './object-reader.js';
import { readDryRun } from './policy-fields.js';
import { GATEWAY_GROUP, hasPolicyTargets, readPolicyTargets } from './policy-targets.js';
import type { TranslatedObject, TranslatedValue } from './translator.js';

/** One rule without clauses: matches every connection. */
const MATCH_ALL_L4: L4RulesIR = [[]];
/** One rule without conditions: matches every request. */
const MATCH_ALL_L7 = [{ from: [], to: [], when: [] }];

type Closed = 'ALLOW_NOTHING' | 'DENY_ALL' | undefined;

/** `l7`: attached by targetRefs (a waypoint enforces it); else a ztunnel, which never runs CUSTOM. */
function closedEffect(r: ObjectReader, l7: boolean): Closed {
  if (readDryRun(r)) return undefined;
  const raw = r.has(['spec', 'action']) ? r.string(['spec', 'action']) : 'ALLOW';
  if (raw === 'AUDIT' || (raw === 'CUSTOM' && !l7)) return undefined;
  return raw === 'ALLOW' ? 'ALLOW_NOTHING' : 'DENY_ALL';
}

export function authorizationPolicyStandIn(r: ObjectReader): TranslatedValue | undefined {
  const effect = closedEffect(r, hasPolicyTargets(r));
  if (effect === undefined) return undefined;
  const namespace = r.id.namespace ?? 'default';
  const origin = r.origin;
  if (hasPolicyTargets(r)) {
    const routeTargets: RouteTargetIR[] = [];
    const targets = readPolicyTargets(r, namespace, ({ group, kind, name }) => {
      if (kind !== 'HTTPRoute' || group !== GATEWAY_GROUP) return false;
      routeTargets.push({ namespace, name });
      return true;
    });
    if (targets.length === 0 && routeTargets.length === 0) return undefined;
    const action: L7PolicyAction = effect === 'ALLOW_NOTHING' ? 'ALLOW' : 'DENY';
    const rules = effect === 'ALLOW_NOTHING' ? [] : MATCH_ALL_L7;
    return {
      type: 'L7Policy',
      value: { name: r.id.name, namespace, targets, action, rules, dryRun: false, ...(routeTargets.length > 0 ? { routeTargets } : {}), origin },
    };
  }
  const selector = selectorOrNamespace(r);
  const action = effect === 'ALLOW_NOTHING' ? 'ALLOW' : 'DENY';
  const rules = effect === 'ALLOW_NOTHING' ? [] : MATCH_ALL_L4;
  return { type: 'L4Policy', value: { name: r.id.name, namespace, selector, action, rules, dryRun: false, origin } };
}

export function peerAuthenticationStandIn(r: ObjectReader): TranslatedValue {
  return {
    type: 'PeerAuthn',
    value: {
      name: r.id.name,
      namespace: r.id.namespace ?? 'default',
      selector: selectorOrNamespace(r),
      mode: 'STRICT',
      portLevel: {},
      createdAt: readCreatedAt(r),
      origin: r.origin,
    },
  };
}

/** `spec.selector.matchLabels` when it reads and selects something; else the namespace. */
function selectorOrNamespace(r: ObjectReader): Readonly<Record<string, string>> | undefined {
  if (!r.record(['spec', 'selector'])) return undefined;
  const seen = r.diagnostics.length;
  const labels = r.stringMap(['spec', 'selector', 'matchLabels']);
  if (r.diagnostics.slice(seen).some((d) => d.severity === 'error')) return undefined;
  return Object.keys(labels).length > 0 ? labels : undefined;
}

/** The warning that says a stand-in serves, and what it does, until the object is fixed. */
export function standInDiagnostic(o: TranslatedObject): Diagnostic {
  let effect = '';
  if (o.type === 'PeerAuthn') effect = 'mTLS STRICT';
  else if (o.type === 'L4Policy' || o.type === 'L7Policy') effect = o.value.action === 'ALLOW' ? 'an ALLOW that allows nothing' : 'a DENY of everything';
  return {
    severity: 'warning',
    code: 'FAIL_CLOSED_STAND_IN',
    file: o.ref.origin.source,
    line: o.ref.origin.line,
    kind: o.ref.kind,
    ...(o.ref.namespace !== undefined ? { namespace: o.ref.namespace } : {}),
    name: o.ref.name,
    message: `rejected with no previous version to keep: ${effect} serves in its scope until it is fixed (fail closed)`,
  };
}
