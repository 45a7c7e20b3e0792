/**
 * The waypoint's authorization and authentication decision counters under Envoy's names, for the
 * admin `/stats` and `/stats/prometheus` endpoints. Envoy emits them per HTTP connection manager
 * as `http.<stat_prefix>.<filter>.<counter>`; its tag extraction moves the prefix into the label
 * `envoy_http_conn_manager_prefix`, giving the Prometheus names used here:
 *
 * - `envoy_http_rbac_allowed`, `envoy_http_rbac_denied`, `envoy_http_rbac_shadow_allowed`,
 *   `envoy_http_rbac_shadow_denied` (rbac filter: AuthorizationPolicy ALLOW/DENY, dry-run);
 * - `envoy_http_jwt_authn_allowed`, `envoy_http_jwt_authn_denied`, `envoy_http_jwt_authn_jwks_fetch_success`,
 *   `envoy_http_jwt_authn_jwks_fetch_failed`, `envoy_http_jwt_authn_jwt_cache_hit` (jwt_authn filter: RequestAuthentication);
 * - `envoy_http_ext_authz_ok`, `envoy_http_ext_authz_denied`, `envoy_http_ext_authz_error`,
 *   `envoy_http_ext_authz_failure_mode_allowed` (ext_authz filter: AuthorizationPolicy CUSTOM).
 *
 * The values are read from the filters' counters when scraped (no work on the request path). One
 * label value stands for the waypoint's single connection manager.
 */
import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';
import type { SecurityChains } from '../security/security-chains.js';

/** The `envoy_http_conn_manager_prefix` label value of the waypoint's connection manager. */
export const WAYPOINT_HCM_PREFIX = 'waypoint';

/**
 * A counter whose value is read from a filter's running total. `reset()` (the admin's
 * `POST /reset_counters`, through `registry.resetMetrics()`) moves the baseline to the current
 * total, so the counter restarts from zero as Envoy's do, without touching the filters.
 */
class FilterTotalCounter extends Counter<'envoy_http_conn_manager_prefix'> {
  private baseline = 0;

  constructor(name: string, help: string, registry: Registry, private readonly read: () => number) {
    super({
      name,
      help,
      labelNames: ['envoy_http_conn_manager_prefix'],
      registers: [registry],
      collect(this: Counter<'envoy_http_conn_manager_prefix'>) {
        (this as FilterTotalCounter).refresh();
      },
    });
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before `read` is assigned.
    if (typeof this.read === 'function') this.baseline = this.read();
  }

  private refresh(): void {
    // Counters only go up: the total since the last reset is set as the value on each scrape.
    super.reset();
    this.inc({ envoy_http_conn_manager_prefix: WAYPOINT_HCM_PREFIX }, Math.max(0, this.read() - this.baseline));
  }
}

export function registerSecurityStats(registry: Registry, chains: SecurityChains): void {
  const counter = (name: string, help: string, read: () => number): void => {
    new FilterTotalCounter(name, help, registry, read);
  };
  const rbac = chains.authzStats;
  counter('envoy_http_rbac_allowed', 'Requests AuthorizationPolicy (rbac) allowed.', () => rbac.allowed);
  counter('envoy_http_rbac_denied', 'Requests AuthorizationPolicy (rbac) denied.', () => rbac.denied);
  counter('envoy_http_rbac_shadow_allowed', 'Requests dry-run policies would have allowed.', () => rbac.shadowAllowed);
  counter('envoy_http_rbac_shadow_denied', 'Requests dry-run policies would have denied.', () => rbac.shadowDenied);
  const jwt = chains.jwtStats;
  counter('envoy_http_jwt_authn_allowed', 'Requests RequestAuthentication (jwt_authn) let through: a valid token, or none.', () => jwt.verified + jwt.missing);
  counter('envoy_http_jwt_authn_denied', 'Requests RequestAuthentication (jwt_authn) rejected (invalid token).', () => jwt.rejected);
  counter('envoy_http_jwt_authn_jwt_cache_hit', 'Tokens accepted from the verified-token cache, without a signature check.', () => jwt.cacheHits);
  const jwks = chains.jwks.stats;
  counter('envoy_http_jwt_authn_jwks_fetch_success', 'Remote JWKS fetches that succeeded.', () => jwks.fetches - jwks.fetchFailures);
  counter('envoy_http_jwt_authn_jwks_fetch_failed', 'Remote JWKS fetches that failed.', () => jwks.fetchFailures);
  const ext = chains.extAuthz.stats;
  counter('envoy_http_ext_authz_ok', 'Requests the external authorizer (CUSTOM) allowed.', () => ext.ok);
  counter('envoy_http_ext_authz_denied', 'Requests the external authorizer (CUSTOM) denied.', () => ext.denied);
  counter('envoy_http_ext_authz_error', 'Checks that failed (unreachable, timeout, 5xx).', () => ext.error);
  counter('envoy_http_ext_authz_failure_mode_allowed', 'Failed checks let through by failOpen.', () => ext.failureModeAllowed);
}
