/**
 * Istio `hosts`/`host` fields (VirtualService, DestinationRule) → the Service they name, the way
 * Istio resolves them: a short name in the object's namespace, `name.ns`, `name.ns.svc` or
 * `name.ns.svc.<cluster domain>`. Anything else (external hosts, wildcards) is not a mesh Service.
 */
export interface ServiceName {
  readonly namespace: string;
  readonly name: string;
}

export function serviceOfHost(host: string, namespace: string): ServiceName | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === '' || h.includes('*')) return undefined;
  const parts = h.split('.');
  const [name, ns] = parts;
  if (name === undefined) return undefined;
  if (parts.length === 1) return { namespace, name };
  if (ns === undefined) return undefined;
  if (parts.length === 2) return { namespace: ns, name };
  if (parts[2] !== 'svc') return undefined;
  return { namespace: ns, name };
}
