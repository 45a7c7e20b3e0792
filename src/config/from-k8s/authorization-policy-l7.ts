/**
 * `security.istio.io/v1 AuthorizationPolicy` with `targetRefs` → the L7 policy waypoints enforce
 * (istio.io reference: security/authorization-policy; ambient/usage/l7-features). Called by the
 * AuthorizationPolicy translator, which owns the kind and keeps the selector (L4) form.
 *
 * - Attachment: `targetRefs` (or the deprecated `targetRef`) naming a waypoint `Gateway` or a
 *   `Service` in the policy's namespace, or the `istio-waypoint` `GatewayClass` from the root
 *   namespace (checked by the snapshot builder, which knows the root namespace). Our extension:
 *   an `HTTPRoute` (group gateway.networking.k8s.io) in the policy's namespace scopes the policy
 *   to the requests that route decides (not for CUSTOM). A `selector` next
 *   to `targetRefs` is rejected, as Istio's webhook does.
 * - Every `from.source`, `to.operation` and `when` field is kept; values use Istio's `*` forms
 *   (`*` presence, `x*` prefix, `*x` suffix, else exact). Hosts are lowercased (matched without
 *   case); principals are written without `spiffe://`.
 * - `when` keys are validated against Istio's list; an unknown key rejects the policy.
 * - `rules` absent: the policy matches nothing (ALLOW → deny all). `rules: [{}]` matches all.
 */
import type { PathMatch } from '../../filter/authz-config.js';
import { isPathTemplate, pathTemplateProblem } from '../../filter/path-template.js';
import type { StringMatchIR } from '../ir.js';
import type { L7ConditionIR, L7OperationIR, L7PolicyAction, L7RuleIR, L7SourceIR, RouteTargetIR, StringConditionKeyIR } from '../ir-security.js';
import { OPERATION_FIELDS, SOURCE_FIELDS, dropRuleForUnknownFields } from './authz-rule-fields.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import {
  cidrsOf as cidrs,
  istioStringMatch as starMatch,
  portsOf as ports,
  principalsOf,
  readPrincipals as principals,
  readServiceAccounts as serviceAccounts,
  readStringMatches as strings,
} from './policy-fields.js';
import { GATEWAY_GROUP, readPolicyTargets } from './policy-targets.js';
import type { L7PolicyDraft, TranslatedValue } from './translator.js';

type Path = readonly (string | number)[];

const ACTIONS: ReadonlySet<string> = new Set(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']);
/** `request.auth.claims[a][b]...` */
const CLAIMS_KEY = /^request\.auth\.claims((?:\[[^\][]+\])+)$/;
const HEADER_KEY = /^request\.headers\[([^\][]+)\]$/;

export function translateL7AuthorizationPolicy(r: ObjectReader, dryRun: boolean): TranslatedValue | undefined {
  const namespace = r.id.namespace ?? 'default';
  if (r.record(['spec', 'selector'])) r.error(['spec', 'selector'], 'FIELD_INVALID', 'cannot be set together with targetRefs');
  const routeTargets: RouteTargetIR[] = [];
  const routePaths: FieldPath[] = [];
  const targets = readPolicyTargets(r, namespace, ({ path, group, kind, name }) => {
    if (kind !== 'HTTPRoute' || group !== GATEWAY_GROUP) return false;
    routeTargets.push({ namespace, name });
    routePaths.push(path);
    return true;
  });
  const actionText = r.string(['spec', 'action']) ?? 'ALLOW';
  if (!ACTIONS.has(actionText)) {
    r.error(['spec', 'action'], 'FIELD_INVALID', `must be ALLOW, DENY, AUDIT or CUSTOM, got ${JSON.stringify(actionText)}`);
    return undefined;
  }
  const action = actionText as L7PolicyAction;
  // The ext_authz filter is per service port; refused rather than applied wider or not at all.
  if (action === 'CUSTOM') for (const p of routePaths) r.error(p, 'FIELD_INVALID', 'a CUSTOM policy cannot target an HTTPRoute');
  const provider = r.string(['spec', 'provider', 'name']);
  if (action === 'CUSTOM' && provider === undefined) r.error(['spec', 'provider', 'name'], 'FIELD_REQUIRED', 'a CUSTOM policy names its extension provider');
  if (action !== 'CUSTOM' && r.has(['spec', 'provider'])) r.error(['spec', 'provider'], 'FIELD_INVALID', 'only a CUSTOM policy has a provider');
  const rules: L7RuleIR[] = [];
  r.list(['spec', 'rules']).forEach((_, i) => {
    const rulePath = ['spec', 'rules', i];
    if (dropRuleForUnknownFields(r, rulePath, action)) return;
    const rule = translateRule(r, rulePath, namespace);
    if (rule) rules.push(rule);
  });
  if (r.failed) return undefined;
  const value: L7PolicyDraft = {
    name: r.id.name,
    namespace,
    targets,
    action,
    ...(provider !== undefined ? { provider } : {}),
    rules,
    dryRun,
    ...(routeTargets.length > 0 ? { routeTargets } : {}),
    origin: r.origin,
  };
  return { type: 'L7Policy', value };
}

function translateRule(r: ObjectReader, path: Path, policyNs: string): L7RuleIR | undefined {
  if (r.record(path, true) === undefined) return undefined;
  const from: L7SourceIR[] = [];
  if (r.has([...path, 'from']) && r.list([...path, 'from']).length === 0) r.error([...path, 'from'], 'FIELD_INVALID', 'must not be empty');
  r.list([...path, 'from']).forEach((_, j) => {
    const src = [...path, 'from', j, 'source'];
    if (r.record(src, true) === undefined) return;
    from.push(translateSource(r, src, policyNs));
  });
  const to: L7OperationIR[] = [];
  if (r.has([...path, 'to']) && r.list([...path, 'to']).length === 0) r.error([...path, 'to'], 'FIELD_INVALID', 'must not be empty');
  r.list([...path, 'to']).forEach((_, j) => {
    const op = [...path, 'to', j, 'operation'];
    if (r.record(op, true) === undefined) return;
    to.push(translateOperation(r, op));
  });
  const when: L7ConditionIR[] = [];
  r.list([...path, 'when']).forEach((_, j) => {
    const c = translateCondition(r, [...path, 'when', j], policyNs);
    if (c) when.push(c);
  });
  return { from, to, when };
}

function translateSource(r: ObjectReader, src: Path, policyNs: string): L7SourceIR {
  if (!SOURCE_FIELDS.some((f) => r.has([...src, f]))) r.error(src, 'FIELD_INVALID', 'must not be empty');
  const hasSa = r.has([...src, 'serviceAccounts']) || r.has([...src, 'notServiceAccounts']);
  if (hasSa && ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].some((f) => r.has([...src, f]))) {
    r.error(src, 'FIELD_INVALID', 'cannot set serviceAccounts with namespaces or principals');
  }
  return {
    principals: [...principals(r, [...src, 'principals']), ...serviceAccounts(r, [...src, 'serviceAccounts'], policyNs)],
    notPrincipals: [...principals(r, [...src, 'notPrincipals']), ...serviceAccounts(r, [...src, 'notServiceAccounts'], policyNs)],
    requestPrincipals: strings(r, [...src, 'requestPrincipals']),
    notRequestPrincipals: strings(r, [...src, 'notRequestPrincipals']),
    namespaces: strings(r, [...src, 'namespaces']),
    notNamespaces: strings(r, [...src, 'notNamespaces']),
    ipBlocks: cidrs(r, [...src, 'ipBlocks'], r.stringList([...src, 'ipBlocks'])),
    notIpBlocks: cidrs(r, [...src, 'notIpBlocks'], r.stringList([...src, 'notIpBlocks'])),
    remoteIpBlocks: cidrs(r, [...src, 'remoteIpBlocks'], r.stringList([...src, 'remoteIpBlocks'])),
    notRemoteIpBlocks: cidrs(r, [...src, 'notRemoteIpBlocks'], r.stringList([...src, 'notRemoteIpBlocks'])),
    // Kept only when set: a field the waypoint ignored would widen an ALLOW.
    ...(r.has([...src, 'trustDomains']) ? { trustDomains: strings(r, [...src, 'trustDomains']) } : {}),
    ...(r.has([...src, 'notTrustDomains']) ? { notTrustDomains: strings(r, [...src, 'notTrustDomains']) } : {}),
  };
}

function translateOperation(r: ObjectReader, op: Path): L7OperationIR {
  if (!OPERATION_FIELDS.some((f) => r.has([...op, f]))) r.error(op, 'FIELD_INVALID', 'must not be empty');
  const lower = (m: StringMatchIR): StringMatchIR => (m.kind === 'presence' ? m : { kind: m.kind, value: m.value.toLowerCase() });
  return {
    hosts: strings(r, [...op, 'hosts']).map(lower),
    notHosts: strings(r, [...op, 'notHosts']).map(lower),
    ports: ports(r, [...op, 'ports'], r.list([...op, 'ports'])),
    notPorts: ports(r, [...op, 'notPorts'], r.list([...op, 'notPorts'])),
    methods: strings(r, [...op, 'methods']),
    notMethods: strings(r, [...op, 'notMethods']),
    paths: paths(r, [...op, 'paths']),
    notPaths: paths(r, [...op, 'notPaths']),
  };
}

function translateCondition(r: ObjectReader, cond: Path, policyNs: string): L7ConditionIR | undefined {
  if (r.record(cond, true) === undefined) return undefined;
  const keyText = r.string([...cond, 'key'], { required: true });
  const values = r.stringList([...cond, 'values']);
  const notValues = r.stringList([...cond, 'notValues']);
  if (keyText === undefined) return undefined;
  if (values.length === 0 && notValues.length === 0) {
    r.error(cond, 'FIELD_REQUIRED', `at least one of values or notValues must be set for key ${keyText}`);
    return undefined;
  }
  const vPath = [...cond, 'values'];
  const nPath = [...cond, 'notValues'];
  switch (keyText) {
    case 'source.ip':
    case 'remote.ip':
    case 'destination.ip':
      return { type: 'ip', keyText, key: keyText, values: cidrs(r, vPath, values), notValues: cidrs(r, nPath, notValues) };
    case 'destination.port':
      return { type: 'port', keyText, key: keyText, values: ports(r, vPath, values), notValues: ports(r, nPath, notValues) };
    case 'source.serviceAccount':
      // Istio matches `<ns>/<sa>` (or `<sa>` in the policy's namespace) inside the peer identity.
      return {
        type: 'string',
        keyText,
        key: { kind: 'source.principal' },
        values: serviceAccounts(r, vPath, policyNs),
        notValues: serviceAccounts(r, nPath, policyNs),
      };
    default:
      break;
  }
  const key = stringKey(keyText);
  if (!key) {
    r.error([...cond, 'key'], 'FIELD_INVALID', `unknown attribute ${JSON.stringify(keyText)} (see Istio's authorization-policy conditions)`);
    return undefined;
  }
  if (key.kind === 'source.principal') {
    return { type: 'string', keyText, key, values: principalsOf(r, vPath, values), notValues: principalsOf(r, nPath, notValues) };
  }
  return { type: 'string', keyText, key, values: values.map(starMatch), notValues: notValues.map(starMatch) };
}

function stringKey(keyText: string): StringConditionKeyIR | undefined {
  switch (keyText) {
    case 'source.namespace':
    case 'source.principal':
    case 'source.trustDomain':
    case 'request.auth.principal':
    case 'request.auth.audiences':
    case 'request.auth.presenter':
    case 'connection.sni':
      return { kind: keyText };
    default:
      break;
  }
  const h = HEADER_KEY.exec(keyText);
  if (h?.[1] !== undefined) return { kind: 'request.headers', header: h[1].toLowerCase() };
  const c = CLAIMS_KEY.exec(keyText);
  if (c?.[1] !== undefined) return { kind: 'request.auth.claims', path: c[1].slice(1, -1).split('][') };
  return undefined;
}



function paths(r: ObjectReader, path: FieldPath): PathMatch[] {
  const values = r.stringList(path);
  return values.map((v, i): PathMatch => {
    if (isPathTemplate(v)) {
      const problem = pathTemplateProblem(v);
      if (problem) r.error([...path, i], 'FIELD_INVALID', problem);
      return { kind: 'template', value: v };
    }
    if (v !== '*' && !v.startsWith('/') && !v.startsWith('*')) r.warn([...path, i], 'FIELD_INVALID', 'a path starts with "/"; this one never matches');
    return starMatch(v);
  });
}





