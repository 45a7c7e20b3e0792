/**
 * `istio.security.Authorization` (L4 policy as istiod serves it to ztunnel) → an L4 policy draft.
 * `WORKLOAD_SELECTOR` policies apply to the workloads that list them in `authorization_policies`;
 * the IR selects by labels, so such workloads carry the label {@link policyLabel} (set by
 * `workload-config.ts`) and the policy selects it.
 */
import { parseCidr } from '../../net/cidr.js';
import type { CidrIR, L4MatchIR, StringMatchIR } from '../ir.js';
import type { PolicyDraft } from '../from-k8s/translator.js';
import { ipFromBytes } from './wds-address.js';
import type { XdsReader } from './xds-reader.js';

/** The label that marks a workload as selected by an Authorization named `namespace/name`. */
export function policyLabel(key: string): string {
  return `wds.authorization/${key}`;
}

export function translateWdsAuthorization(r: XdsReader, source: string): PolicyDraft {
  const name = r.requiredStr('name');
  const namespace = r.requiredStr('namespace');
  const scope = r.str('scope') ?? 'GLOBAL';
  const action = r.str('action') ?? 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') r.fail(`action ${action} is not supported`, ['action']);
  if (scope !== 'GLOBAL' && scope !== 'NAMESPACE' && scope !== 'WORKLOAD_SELECTOR') r.fail(`unknown scope ${scope}`, ['scope']);
  const rules = r.list('rules').map((rule) => rule.list('clauses').map((clause) => clause.list('matches').map(readMatch)));
  return {
    name,
    namespace,
    selector: scope === 'WORKLOAD_SELECTOR' ? { [policyLabel(`${namespace}/${name}`)]: 'true' } : undefined,
    action,
    rules,
    dryRun: r.bool('dry_run') ?? false,
    origin: { source: `${source}#Authorization/${namespace}/${name}` },
  };
}

function readMatch(r: XdsReader): L4MatchIR {
  const strings = (k: string): StringMatchIR[] => r.list(k).map(readStringMatch);
  const cidrs = (k: string): CidrIR[] => r.list(k).map(readCidr);
  const ports = (k: string): number[] => r.list(k).map((p) => (typeof p.value === 'number' ? p.value : p.fail('must be a port')));
  return {
    namespaces: strings('namespaces'),
    notNamespaces: strings('not_namespaces'),
    principals: strings('principals'),
    notPrincipals: strings('not_principals'),
    sourceIps: cidrs('source_ips'),
    notSourceIps: cidrs('not_source_ips'),
    destinationIps: cidrs('destination_ips'),
    notDestinationIps: cidrs('not_destination_ips'),
    destinationPorts: ports('destination_ports'),
    notDestinationPorts: ports('not_destination_ports'),
  };
}

function readStringMatch(r: XdsReader): StringMatchIR {
  const exact = r.str('exact');
  if (exact !== undefined) return { kind: 'exact', value: exact };
  const prefix = r.str('prefix');
  if (prefix !== undefined) return { kind: 'prefix', value: prefix };
  const suffix = r.str('suffix');
  if (suffix !== undefined) return { kind: 'suffix', value: suffix };
  if (r.has('presence')) return { kind: 'presence' };
  return r.fail('a StringMatch needs exact, prefix, suffix or presence');
}

function readCidr(r: XdsReader): CidrIR {
  const ip = ipFromBytes(r.field('address'), r.field('address').value);
  const length = r.num('length') ?? (ip.includes(':') ? 128 : 32);
  return parseCidr(`${ip}/${length}`) ?? r.fail(`${ip}/${length} is not a CIDR`, ['length']);
}
