/**
 * `security.istio.io/v1 AuthorizationPolicy` → the L4 policy the destination ztunnel enforces.
 *
 * Follows istiod's conversion for ztunnel (istio/istio pilot/pkg/serviceregistry/kube/controller/
 * ambient/authorization.go `convertAuthorizationPolicy`, `handleRule`) and istio.io
 * docs/ambient/usage/l4-policy:
 * - Policies with `targetRef(s)` are for waypoints (L7), not ztunnel: handed to
 *   `authorization-policy-l7.ts`.
 * - Scope: `spec.selector` → workload selector; none → namespace, or global in the root namespace
 *   (decided by the snapshot builder, which knows the root namespace).
 * - Only ALLOW and DENY exist at L4; AUDIT and CUSTOM are not enforced by ztunnel (warning, skipped).
 * - Each rule becomes clauses ANDed together: one of the `to` operations (ports/notPorts), one of the
 *   `from` sources (principals, namespaces, ipBlocks, serviceAccounts and their negations), and one
 *   clause per `when` condition on an L4 key (`source.ip`, `source.namespace`, `source.principal`,
 *   `destination.ip`, `destination.port`).
 * - HTTP attributes (hosts, methods, paths, requestPrincipals, remoteIpBlocks — these depend on
 *   request headers —, and any other `when` key) cannot be seen at L4. In an ALLOW policy such a rule
 *   can never match and is dropped entirely ("more restrictive than requested": with no rule left,
 *   the policy allows nothing). In a DENY policy only the HTTP parts are dropped, so the rule matches
 *   more connections ("more restrictive" again). Either way a warning says so, as istiod's status does.
 * - `rules` absent or empty: never matches (ALLOW → allows nothing; DENY → denies nothing). A rule
 *   `{}` has no clauses and matches everything.
 * - Principals and `*` wildcards: `*` = presence, `*x` = suffix, `x*` = prefix, else exact; matched
 *   against the identity without `spiffe://`, as ztunnel does.
 * - `serviceAccounts: [ns/sa | sa]` become ServiceAccountMatch values (namespace defaults to the
 *   policy's), as istiod sends them: identity `<any td>/ns/<ns>/sa/<sa>` exactly.
 * - A match with no field set matches nothing at ztunnel (istiod `isMatchEmpty`). In a DENY rule the
 *   HTTP-only parts leave such matches; a clause holding one is dropped instead, so the rule denies
 *   more rather than nothing (this project's fail-closed reading; Istio 1.31 makes such a DENY a
 *   no-op at ztunnel and says so in its status).
 * - Validation mirrors Istio's webhook: bad CIDRs or ports, empty `from.source`/`to.operation`,
 *   empty values and serviceAccounts mixed with principals/namespaces reject the whole policy.
 */
import type { L4MatchIR } from '../ir.js';
import { isEmptyMatch } from '../l4-match.js';
import { SOURCE_FIELDS, dropRuleForUnknownFields } from './authz-rule-fields.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import { translateL7AuthorizationPolicy } from './authorization-policy-l7.js';
import { authorizationPolicyStandIn } from './policy-stand-ins.js';
import type { PolicyDraft, Translator } from './translator.js';
import {
  cidrsOf,
  istioStringMatch as toStringMatch,
  portsOf,
  principalsOf,
  readCidrs,
  readDryRun,
  readPorts,
  readPrincipals,
  readServiceAccountMatches,
  readStringMatches,
} from './policy-fields.js';

type Path = readonly (string | number)[];

const L4_WHEN_KEYS: ReadonlySet<string> = new Set(['source.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port']);
const HTTP_OPERATION_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;
/**
 * Source fields ztunnel cannot enforce. `trustDomains` is not an HTTP attribute, but the L4 model
 * has no field for it: treated like one (ALLOW rule dropped, DENY matches), never silently ignored.
 */
const HTTP_SOURCE_FIELDS = ['remoteIpBlocks', 'notRemoteIpBlocks', 'requestPrincipals', 'notRequestPrincipals', 'trustDomains', 'notTrustDomains'] as const;

export const authorizationPolicyTranslator: Translator = {
  kind: 'AuthorizationPolicy',
  apiVersions: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  namespaced: true,
  standIn: authorizationPolicyStandIn,
  translate(r) {
    // targetRefs attach the policy to waypoints (L7): translated in authorization-policy-l7.ts.
    if (r.list(['spec', 'targetRefs']).length > 0 || r.has(['spec', 'targetRef'])) return translateL7AuthorizationPolicy(r, readDryRun(r));
    const namespace = r.id.namespace ?? 'default';
    const actionText = r.string(['spec', 'action']) ?? 'ALLOW';
    let action: 'ALLOW' | 'DENY';
    if (actionText === 'ALLOW' || actionText === 'DENY') action = actionText;
    else if (actionText === 'AUDIT' || actionText === 'CUSTOM') {
      r.warn(['spec', 'action'], 'UNSUPPORTED', `ztunnel does not support the ${actionText} action; policy not enforced at L4`);
      return undefined;
    } else {
      r.error(['spec', 'action'], 'FIELD_INVALID', `must be ALLOW, DENY, AUDIT or CUSTOM, got ${JSON.stringify(actionText)}`);
      return undefined;
    }
    const selector = r.record(['spec', 'selector']) ? r.stringMap(['spec', 'selector', 'matchLabels']) : undefined;
    const dryRun = readDryRun(r);

    const rules: (readonly L4MatchIR[])[][] = [];
    const httpFields = new Set<string>();
    r.list(['spec', 'rules']).forEach((_, i) => {
      const rulePath = ['spec', 'rules', i];
      if (dropRuleForUnknownFields(r, rulePath, action)) return;
      const rule = translateRule(r, rulePath, namespace, httpFields);
      if (rule === undefined) return;
      // An ALLOW rule that needs HTTP attributes can never match at L4: drop it (fail closed).
      if (action === 'ALLOW' && rule.needsHttp) return;
      // A DENY clause with an empty (HTTP-only) match would be skipped, never matching: drop the
      // clause instead so the rule denies more (see the header).
      rules.push(action === 'DENY' ? rule.clauses.filter((c) => !c.some(isEmptyMatch)) : rule.clauses);
    });
    if (r.failed) return undefined;
    if (httpFields.size > 0) {
      const consequence =
        action === 'ALLOW'
          ? 'Within an ALLOW policy, rules matching HTTP attributes are omitted.'
          : 'DENY policy with HTTP attributes is enforced without the HTTP rules.';
      r.warn(['spec', 'rules'], 'UNSUPPORTED',
        `ztunnel does not support HTTP attributes (found: ${[...httpFields].sort().join(', ')}). ` +
        `Use a waypoint (targetRefs) to enforce HTTP rules. ${consequence} This is more restrictive than requested.`);
    }
    const value: PolicyDraft = { name: r.id.name, namespace, selector, action, rules, dryRun, origin: r.origin };
    return { type: 'L4Policy', value };
  },
};

interface RuleResult {
  readonly clauses: (readonly L4MatchIR[])[];
  readonly needsHttp: boolean;
}

function translateRule(r: ObjectReader, path: Path, policyNs: string, httpFields: Set<string>): RuleResult | undefined {
  if (r.record(path, true) === undefined) return undefined;
  let needsHttp = false;
  const clauses: (readonly L4MatchIR[])[] = [];

  const toMatches: L4MatchIR[] = [];
  const toItems = r.list([...path, 'to']);
  if (r.has([...path, 'to']) && toItems.length === 0) r.error([...path, 'to'], 'FIELD_INVALID', 'must not be empty');
  toItems.forEach((_, j) => {
    const op = [...path, 'to', j, 'operation'];
    if (r.record(op, true) === undefined) return;
    const http = HTTP_OPERATION_FIELDS.filter((f) => nonEmptyStrings(r, [...op, f]));
    const ports = readPorts(r, [...op, 'ports']);
    const notPorts = readPorts(r, [...op, 'notPorts']);
    if (http.length === 0 && !r.has([...op, 'ports']) && !r.has([...op, 'notPorts'])) {
      r.error(op, 'FIELD_INVALID', 'must not be empty');
    }
    for (const f of http) httpFields.add(f);
    if (http.length > 0) needsHttp = true;
    toMatches.push(match({ destinationPorts: ports, notDestinationPorts: notPorts }));
  });
  if (toMatches.length > 0) clauses.push(toMatches);

  const fromMatches: L4MatchIR[] = [];
  const fromItems = r.list([...path, 'from']);
  if (r.has([...path, 'from']) && fromItems.length === 0) r.error([...path, 'from'], 'FIELD_INVALID', 'must not be empty');
  fromItems.forEach((_, j) => {
    const src = [...path, 'from', j, 'source'];
    if (r.record(src, true) === undefined) return;
    const m = translateSource(r, src, policyNs);
    for (const f of m.http) httpFields.add(f);
    if (m.http.length > 0) needsHttp = true;
    fromMatches.push(m.match);
  });
  if (fromMatches.length > 0) clauses.push(fromMatches);

  r.list([...path, 'when']).forEach((_, j) => {
    const cond = [...path, 'when', j];
    if (r.record(cond, true) === undefined) return;
    const key = r.string([...cond, 'key'], { required: true });
    const values = r.stringList([...cond, 'values']);
    const notValues = r.stringList([...cond, 'notValues']);
    if (key === undefined) return;
    if (values.length === 0 && notValues.length === 0) {
      r.error(cond, 'FIELD_REQUIRED', `at least one of values or notValues must be set for key ${key}`);
      return;
    }
    if (!L4_WHEN_KEYS.has(key)) {
      httpFields.add(`when ${key}`);
      needsHttp = true;
      // An L7 condition leaves an empty match, which never matches; a DENY drops the clause.
      clauses.push([match({})]);
      return;
    }
    clauses.push([whenMatch(r, cond, key, values, notValues)]);
  });
  return { clauses, needsHttp };
}

function translateSource(r: ObjectReader, src: Path, policyNs: string): { match: L4MatchIR; http: string[] } {
  const present = SOURCE_FIELDS.filter((f) => r.has([...src, f]));
  if (present.length === 0) r.error(src, 'FIELD_INVALID', 'must not be empty');
  const hasSa = r.has([...src, 'serviceAccounts']) || r.has([...src, 'notServiceAccounts']);
  if (hasSa && ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].some((f) => r.has([...src, f]))) {
    r.error(src, 'FIELD_INVALID', 'cannot set serviceAccounts with namespaces or principals');
  }
  const http = HTTP_SOURCE_FIELDS.filter((f) => nonEmptyStrings(r, [...src, f]));
  // Validated like Istio's webhook even though they are dropped at L4: a typo should not hide.
  readCidrs(r, [...src, 'remoteIpBlocks']);
  readCidrs(r, [...src, 'notRemoteIpBlocks']);
  return {
    match: match({
      principals: readPrincipals(r, [...src, 'principals']),
      notPrincipals: readPrincipals(r, [...src, 'notPrincipals']),
      serviceAccounts: readServiceAccountMatches(r, [...src, 'serviceAccounts'], policyNs),
      notServiceAccounts: readServiceAccountMatches(r, [...src, 'notServiceAccounts'], policyNs),
      namespaces: readStringMatches(r, [...src, 'namespaces']),
      notNamespaces: readStringMatches(r, [...src, 'notNamespaces']),
      sourceIps: readCidrs(r, [...src, 'ipBlocks']),
      notSourceIps: readCidrs(r, [...src, 'notIpBlocks']),
    }),
    http,
  };
}

function whenMatch(r: ObjectReader, cond: Path, key: string, values: readonly string[], notValues: readonly string[]): L4MatchIR {
  const vPath = [...cond, 'values'];
  const nPath = [...cond, 'notValues'];
  switch (key) {
    case 'source.ip':
      return match({ sourceIps: cidrsOf(r, vPath, values), notSourceIps: cidrsOf(r, nPath, notValues) });
    case 'destination.ip':
      return match({ destinationIps: cidrsOf(r, vPath, values), notDestinationIps: cidrsOf(r, nPath, notValues) });
    case 'source.namespace':
      return match({ namespaces: values.map(toStringMatch), notNamespaces: notValues.map(toStringMatch) });
    case 'source.principal':
      return match({ principals: principalsOf(r, vPath, values), notPrincipals: principalsOf(r, nPath, notValues) });
    case 'destination.port':
      return match({ destinationPorts: portsOf(r, vPath, values), notDestinationPorts: portsOf(r, nPath, notValues) });
    default:
      return match({});
  }
}

function match(fields: Partial<{ -readonly [K in keyof L4MatchIR]: L4MatchIR[K] }>): L4MatchIR {
  return {
    namespaces: fields.namespaces ?? [],
    notNamespaces: fields.notNamespaces ?? [],
    serviceAccounts: fields.serviceAccounts ?? [],
    notServiceAccounts: fields.notServiceAccounts ?? [],
    principals: fields.principals ?? [],
    notPrincipals: fields.notPrincipals ?? [],
    sourceIps: fields.sourceIps ?? [],
    notSourceIps: fields.notSourceIps ?? [],
    destinationIps: fields.destinationIps ?? [],
    notDestinationIps: fields.notDestinationIps ?? [],
    destinationPorts: fields.destinationPorts ?? [],
    notDestinationPorts: fields.notDestinationPorts ?? [],
  };
}


/** True when an (HTTP-only) field holds at least one value; its items are not needed at L4. */
function nonEmptyStrings(r: ObjectReader, path: FieldPath): boolean {
  return r.list(path).length > 0;
}









