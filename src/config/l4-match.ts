/**
 * Facts about an L4 match shared by the translators and the ztunnel's evaluator: ztunnel skips a
 * match with no field set (src/rbac.rs `RbacMatch::is_empty`), so such a match matches nothing.
 */
import type { L4MatchIR } from './ir.js';

export function isEmptyMatch(m: L4MatchIR): boolean {
  return (
    m.namespaces.length === 0 &&
    m.notNamespaces.length === 0 &&
    m.serviceAccounts.length === 0 &&
    m.notServiceAccounts.length === 0 &&
    m.principals.length === 0 &&
    m.notPrincipals.length === 0 &&
    m.sourceIps.length === 0 &&
    m.notSourceIps.length === 0 &&
    m.destinationIps.length === 0 &&
    m.notDestinationIps.length === 0 &&
    m.destinationPorts.length === 0 &&
    m.notDestinationPorts.length === 0
  );
}
