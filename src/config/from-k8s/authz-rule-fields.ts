/**
 * The fields of an Istio AuthorizationPolicy rule (security.istio.io/v1 `Rule`, `Source`,
 * `Operation`, `Condition`), and the check both translators (L4 for ztunnel, L7 for the waypoint)
 * make with them: a rule field neither knows cannot be enforced, so it must never be ignored into
 * a wider ALLOW. Each caller drops an ALLOW rule with such a field (allows less) and keeps any
 * other rule without it (a DENY then matches more), as istiod skips rules it cannot build.
 */
import type { ObjectReader } from './object-reader.js';

type Path = readonly (string | number)[];

export const SOURCE_FIELDS = [
  'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces',
  'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts',
  'trustDomains', 'notTrustDomains',
] as const;
export const OPERATION_FIELDS = ['hosts', 'notHosts', 'ports', 'notPorts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

const RULE_FIELDS: ReadonlySet<string> = new Set(['from', 'to', 'when']);
const SOURCE_FIELD_SET: ReadonlySet<string> = new Set(SOURCE_FIELDS);
const OPERATION_FIELD_SET: ReadonlySet<string> = new Set(OPERATION_FIELDS);
const CONDITION_FIELDS: ReadonlySet<string> = new Set(['key', 'values', 'notValues']);
const SOURCE_WRAPPER: ReadonlySet<string> = new Set(['source']);
const OPERATION_WRAPPER: ReadonlySet<string> = new Set(['operation']);

/** The dotted paths of the fields of a rule that no Istio AuthorizationPolicy version here defines. */
export function unknownRuleFields(r: ObjectReader, rule: Path): string[] {
  const out: string[] = [];
  const check = (path: Path, known: ReadonlySet<string>, label: string): void => {
    const rec = r.record(path);
    if (rec) for (const k of Object.keys(rec)) if (!known.has(k)) out.push(`${label}.${k}`);
  };
  check(rule, RULE_FIELDS, 'rule');
  r.list([...rule, 'from']).forEach((_, j) => {
    check([...rule, 'from', j], SOURCE_WRAPPER, `from[${j}]`);
    check([...rule, 'from', j, 'source'], SOURCE_FIELD_SET, `from[${j}].source`);
  });
  r.list([...rule, 'to']).forEach((_, j) => {
    check([...rule, 'to', j], OPERATION_WRAPPER, `to[${j}]`);
    check([...rule, 'to', j, 'operation'], OPERATION_FIELD_SET, `to[${j}].operation`);
  });
  r.list([...rule, 'when']).forEach((_, j) => check([...rule, 'when', j], CONDITION_FIELDS, `when[${j}]`));
  return out;
}

/**
 * Warns about a rule's unknown fields; true when the rule must be dropped (an ALLOW rule). The
 * warning's code is `UNSUPPORTED`, as for any other field a translator cannot enforce.
 */
export function dropRuleForUnknownFields(r: ObjectReader, rule: Path, action: string): boolean {
  const unknown = unknownRuleFields(r, rule);
  if (unknown.length === 0) return false;
  const dropped = action === 'ALLOW';
  r.warn(rule, 'UNSUPPORTED', `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: ${dropped ? 'the ALLOW rule is omitted' : 'the rule is enforced without it'}. This is more restrictive than requested.`);
  return dropped;
}
