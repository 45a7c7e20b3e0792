/**
 * The `envoy.filters.http.rbac` filter's config → an L7 authorization policy (the same rules an
 * AuthorizationPolicy becomes), attached to the waypoint the listener configures.
 *
 * Envoy's policy matches when any permission and any principal match; an IR rule matches when
 * any `to` and any `from` match, so each policy becomes one rule. Permissions: `any`, `url_path`,
 * `header` on `:method` / `:authority` / `host`, `destination_port`, and `and_rules` of those.
 * Principals: `any`, `authenticated.principal_name`, `direct_remote_ip` / `source_ip` /
 * `remote_ip`. Anything else (conditions, `not_rule`, other headers) is rejected with its path.
 */
import type { AuthzOperation, AuthzSource, Cidr, StringMatch } from '../../filter/authz-config.js';
import { parseCidr } from '../../net/cidr.js';
import type { L7PolicyAction, L7RuleIR } from '../ir-security.js';
import type { RbacDraft } from './listener.js';
import type { XdsReader } from './xds-reader.js';

type MutableOp = { -readonly [K in keyof AuthzOperation]: AuthzOperation[K] extends readonly (infer T)[] ? T[] : never };
type MutableSource = { -readonly [K in keyof AuthzSource]: AuthzSource[K] extends readonly (infer T)[] ? T[] : never };

export function readRbac(r: XdsReader): RbacDraft | undefined {
  const rules = r.optional('rules');
  if (r.has('matcher')) r.fail('the matcher form of RBAC is not supported (use rules)', ['matcher']);
  if (!rules) return undefined;
  const actionName = rules.str('action') ?? 'ALLOW';
  const action: L7PolicyAction = actionName === 'ALLOW' || actionName === 'DENY' ? actionName : rules.fail(`action ${actionName} is not supported`, ['action']);
  const out: L7RuleIR[] = [];
  for (const [, policy] of rules.entries('policies')) {
    policy.onlyKnown(['permissions', 'principals'], 'Policy');
    const perms = policy.list('permissions');
    const principals = policy.list('principals');
    if (perms.length === 0) policy.fail('at least one permission is required', ['permissions']);
    if (principals.length === 0) policy.fail('at least one principal is required', ['principals']);
    const to = perms.some((p) => p.bool('any') === true) ? [] : perms.map(readPermission);
    const from = principals.some((p) => p.bool('any') === true) ? [] : principals.map(readPrincipal);
    out.push({ from, to, when: [] });
  }
  return { action, rules: out };
}

function emptyOp(): MutableOp {
  return { hosts: [], notHosts: [], ports: [], notPorts: [], methods: [], notMethods: [], paths: [], notPaths: [] };
}

function readPermission(r: XdsReader): AuthzOperation {
  const op = emptyOp();
  addPermission(r, op);
  return op;
}

function addPermission(r: XdsReader, op: MutableOp): void {
  r.onlyKnown(['any', 'and_rules', 'url_path', 'header', 'destination_port'], 'Permission');
  const and = r.optional('and_rules');
  if (and) for (const sub of and.list('rules')) addPermission(sub, op);
  const port = r.num('destination_port');
  if (port !== undefined) op.ports.push(port);
  const up = r.optional('url_path');
  if (up) op.paths.push(readStringMatch(up.field('path')));
  const h = r.optional('header');
  if (h) {
    const name = h.requiredStr('name').toLowerCase();
    const sm = h.optional('string_match') ?? h.fail('only string_match header permissions are supported');
    const m = readStringMatch(sm);
    if (name === ':method') op.methods.push(m);
    else if (name === ':authority' || name === 'host') op.hosts.push(m);
    else h.fail(`header permission on ${name} is not supported (only :method, :authority)`, ['name']);
  }
}

function readPrincipal(r: XdsReader): AuthzSource {
  r.onlyKnown(['any', 'authenticated', 'direct_remote_ip', 'source_ip', 'remote_ip'], 'Principal');
  const src: MutableSource = {
    principals: [], notPrincipals: [], requestPrincipals: [], notRequestPrincipals: [], namespaces: [], notNamespaces: [],
    ipBlocks: [], notIpBlocks: [], remoteIpBlocks: [], notRemoteIpBlocks: [],
  };
  const auth = r.optional('authenticated');
  if (auth) {
    const m = readStringMatch(auth.field('principal_name'));
    // The IR compares principals without the scheme, as Istio writes them.
    src.principals.push(m.kind === 'presence' ? m : { ...m, value: m.value.replace(/^spiffe:\/\//, '') });
  }
  for (const key of ['direct_remote_ip', 'source_ip'] as const) {
    const c = r.optional(key);
    if (c) src.ipBlocks.push(readCidr(c));
  }
  const remote = r.optional('remote_ip');
  if (remote) src.remoteIpBlocks.push(readCidr(remote));
  return src;
}

function readCidr(r: XdsReader): Cidr {
  const text = `${r.requiredStr('address_prefix')}/${r.num('prefix_len') ?? (r.requiredStr('address_prefix').includes(':') ? 128 : 32)}`;
  return parseCidr(text) ?? r.fail(`${text} is not a CIDR`);
}

function readStringMatch(r: XdsReader): StringMatch {
  r.onlyKnown(['exact', 'prefix', 'suffix'], 'StringMatcher (RBAC)');
  const exact = r.str('exact');
  if (exact !== undefined) return { kind: 'exact', value: exact };
  const prefix = r.str('prefix');
  if (prefix !== undefined) return prefix === '' ? { kind: 'presence' } : { kind: 'prefix', value: prefix };
  const suffix = r.str('suffix');
  if (suffix !== undefined) return { kind: 'suffix', value: suffix };
  return r.fail('needs exact, prefix or suffix');
}
