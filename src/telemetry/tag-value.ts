/**
 * Evaluates a Telemetry tag value ({@link TagValueIR}, parsed at config time) against one access
 * record. Attribute names follow Envoy's attributes; a value the record does not have is
 * `unknown`, the placeholder Istio's stats use for a missing value.
 */
import type { TagValueIR } from '../config/ir-telemetry.js';
import type { AccessRecord } from './access-record.js';

export const UNKNOWN_TAG_VALUE = 'unknown';

function attribute(path: string, key: string | undefined, r: AccessRecord): string | undefined {
  switch (path) {
    case 'request.host':
      return r.authority;
    case 'request.method':
      return r.method;
    case 'request.path':
      return r.path;
    case 'request.url_path': {
      const p = r.path;
      if (p === undefined) return undefined;
      const q = p.indexOf('?');
      return q < 0 ? p : p.slice(0, q);
    }
    case 'request.protocol':
      return r.protocol;
    case 'request.id':
      return r.requestId;
    case 'request.useragent':
      return r.userAgent;
    case 'request.headers':
      return key === undefined ? undefined : r.requestHeaders?.get(key);
    case 'response.code':
      return r.responseCode === undefined ? undefined : String(r.responseCode);
    case 'response.code_details':
      return r.responseCodeDetails;
    case 'source.address':
      return r.downstreamRemoteAddress;
    case 'source.principal':
      return r.sourcePrincipal;
    case 'destination.address':
      return r.downstreamLocalAddress;
    case 'upstream.address':
      return r.upstreamHost;
    case 'xds.route_name':
      return r.routeName;
    case 'xds.cluster_name':
      return r.upstreamCluster;
    default:
      return undefined;
  }
}

function evaluate(v: TagValueIR, r: AccessRecord): string | undefined {
  switch (v.kind) {
    case 'literal':
      return v.value;
    case 'attribute':
      return attribute(v.path, v.key, r);
    case 'conditional':
      return evaluate(v.test, r) !== undefined ? evaluate(v.then, r) : evaluate(v.else, r);
  }
}

/** The tag's value for this record; `unknown` when the attribute is absent. */
export function tagValue(v: TagValueIR, r: AccessRecord): string {
  return evaluate(v, r) ?? UNKNOWN_TAG_VALUE;
}
