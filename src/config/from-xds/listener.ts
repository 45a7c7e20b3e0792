/**
 * `envoy.config.listener.v3.Listener` → the HTTP connection managers it holds: which route
 * configuration each serves (RDS name or inline) and which HTTP filters run. The waypoint's own
 * listener (HBONE on 15008) stays as it is; a Listener only says how HTTP inside it is handled.
 *
 * HTTP filters: `router` (required, last), `fault` (its config is the default for every route),
 * `cors` (per-route policies apply only with it), `rbac` (see `rbac-filter.ts`). `jwt_authn` with
 * providers and `wasm` are rejected clearly: this source does not translate them yet. An unknown
 * filter is rejected unless marked `is_optional`, as Envoy does.
 */
import type { L7RuleIR, L7PolicyAction } from '../ir-security.js';
import type { RouteFaultIR } from '../ir-routes.js';
import { readRbac } from './rbac-filter.js';
import { CORS_FILTER, FAULT_FILTER, readFault, translateRouteConfiguration } from './route-configuration.js';
import type { RouteConfigurationDraft } from './route-configuration.js';
import type { XdsReader } from './xds-reader.js';
import { typeNameOf } from './xds-reader.js';

const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export interface RbacDraft {
  readonly action: L7PolicyAction;
  readonly rules: readonly L7RuleIR[];
}

export interface HttpFiltersDraft {
  /** The fault filter is in the chain; `defaults` applies to routes without their own config. */
  readonly fault?: { readonly defaults?: RouteFaultIR };
  readonly cors: boolean;
  readonly rbac?: RbacDraft;
}

export interface ConnectionManagerDraft {
  /** RDS: the RouteConfiguration to follow. */
  readonly rdsName?: string;
  readonly inlineRoutes?: RouteConfigurationDraft;
  readonly filters: HttpFiltersDraft;
}

export interface ListenerDraft {
  readonly name: string;
  readonly connectionManagers: readonly ConnectionManagerDraft[];
}

export function translateListener(r: XdsReader): ListenerDraft {
  const name = r.requiredStr('name');
  const chains = [...r.list('filter_chains'), ...(r.has('default_filter_chain') ? [r.field('default_filter_chain')] : [])];
  const connectionManagers: ConnectionManagerDraft[] = [];
  for (const chain of chains) {
    for (const f of chain.list('filters')) {
      const cfg = f.field('typed_config');
      const type = typeNameOf(cfg.typeUrl());
      if (type !== HCM_TYPE) f.fail(`network filter ${f.str('name') ?? type} is not supported (only http_connection_manager)`, ['typed_config']);
      connectionManagers.push(readConnectionManager(cfg));
    }
  }
  if (connectionManagers.length === 0) r.fail('no http_connection_manager in any filter chain', ['filter_chains']);
  return { name, connectionManagers };
}

function readConnectionManager(r: XdsReader): ConnectionManagerDraft {
  const rds = r.optional('rds');
  const inline = r.optional('route_config');
  if ((rds ? 1 : 0) + (inline ? 1 : 0) !== 1) r.fail('needs exactly one of rds, route_config (scoped routes are not supported)');
  const filters = readHttpFilters(r);
  if (rds) return { rdsName: rds.requiredStr('route_config_name'), filters };
  return { inlineRoutes: translateRouteConfiguration(inline!), filters };
}

function readHttpFilters(hcm: XdsReader): HttpFiltersDraft {
  const list = hcm.list('http_filters');
  let fault: HttpFiltersDraft['fault'];
  let cors = false;
  let rbac: RbacDraft | undefined;
  let router = false;
  list.forEach((f, i) => {
    const name = f.requiredStr('name');
    if (router) f.fail('the router filter must be the last HTTP filter');
    const cfg = f.optional('typed_config');
    const type = cfg ? typeNameOf(cfg.typeUrl()) : name;
    switch (type) {
      case 'envoy.extensions.filters.http.router.v3.Router':
      case 'envoy.filters.http.router':
        router = true;
        break;
      case 'envoy.extensions.filters.http.fault.v3.HTTPFault':
      case FAULT_FILTER: {
        const defaults = cfg ? readFault(cfg) : undefined;
        fault = defaults && (defaults.abort || defaults.delay) ? { defaults } : {};
        break;
      }
      case 'envoy.extensions.filters.http.cors.v3.Cors':
      case CORS_FILTER:
        cors = true;
        break;
      case 'envoy.extensions.filters.http.rbac.v3.RBAC':
        if (cfg) rbac = readRbac(cfg);
        break;
      case 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication':
        if (cfg && cfg.entries('providers').length > 0) {
          cfg.fail('jwt_authn providers are not translated from xDS yet; use a RequestAuthentication', ['providers']);
        }
        break;
      case 'envoy.extensions.filters.http.wasm.v3.Wasm':
        f.fail('the wasm filter is not translated from xDS yet; use a WasmPlugin', ['typed_config']);
        break;
      default:
        if (f.bool('is_optional') !== true) f.fail(`HTTP filter ${name} (${type}) is not supported`);
    }
    void i;
  });
  if (!router) hcm.fail('the HTTP filter chain must end with envoy.filters.http.router', ['http_filters']);
  return { ...(fault ? { fault } : {}), cors, ...(rbac ? { rbac } : {}) };
}
