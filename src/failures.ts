/**
 * The table of every failure the data plane can report: one stable code each, with the HTTP status
 * a client sees, the Envoy-style response flag recorded in access logs and metrics, Envoy's
 * `%RESPONSE_CODE_DETAILS%` string, and the local-reply body Envoy would send.
 *
 * Data-path code never throws for these: it returns `{ code }` and the edge that talks to the peer
 * turns the code into a status (HTTP reply, CONNECT answer) exactly once.
 */
export interface FailureInfo {
  /** HTTP status of the local reply, or of the CONNECT answer for HBONE-level failures. */
  readonly status: number;
  /** Envoy (waypoint) or ztunnel response flag. */
  readonly flag: string;
  /** Envoy-style `RESPONSE_CODE_DETAILS`. */
  readonly details: string;
  /** Body of the local reply, as Envoy words it. */
  readonly body: string;
}

function failure(status: number, flag: string, details: string, body: string): FailureInfo {
  return Object.freeze({ status, flag, details, body });
}

export const FAILURES = Object.freeze({
  // --- HBONE CONNECT level (ztunnel and waypoint) ---
  /** A stream on the HBONE port whose method is not CONNECT. */
  HBONE_METHOD_NOT_CONNECT: failure(400, 'DPE', 'hbone_method_not_connect', 'HBONE accepts only CONNECT'),
  /** `:authority` missing or not `ip:port`, `[v6]:port` or `host:port`. */
  HBONE_BAD_AUTHORITY: failure(400, 'DPE', 'hbone_bad_authority', 'invalid CONNECT authority'),
  /** The waypoint does not serve the Service named by `:authority`. */
  HBONE_SERVICE_NOT_BOUND: failure(400, 'NR', 'hbone_service_not_bound', 'destination is not served by this waypoint'),
  /** The ztunnel has no local workload or port for `:authority`. */
  HBONE_UNKNOWN_DESTINATION: failure(503, 'CONNECT', 'hbone_unknown_destination', 'unknown destination'),
  /** The `:authority` IP is not the address the connection arrived at. */
  HBONE_IP_MISMATCH: failure(400, 'DPE', 'hbone_ip_mismatch', 'CONNECT target does not match the connection destination'),
  /** L4 AuthorizationPolicy denied the connection. */
  L4_POLICY_DENIED: failure(401, 'DENY', 'rbac_access_denied', 'RBAC: access denied'),
  /** The destination application refused or did not answer the TCP connect. */
  APP_CONNECT_FAILED: failure(503, 'CONNECT', 'upstream_connect_failed', 'upstream connect failed'),

  // --- Upstream (waypoint router and ztunnel outbound) ---
  /** The Service has no endpoint that can take the request. */
  NO_HEALTHY_UPSTREAM: failure(503, 'UH', 'no_healthy_upstream', 'no healthy upstream'),
  /** TCP/TLS/HTTP2 connect to the upstream HBONE endpoint failed, or its CONNECT was refused. */
  UPSTREAM_CONNECT_FAILED: failure(
    503,
    'UF',
    'upstream_reset_before_response_started{connection_failure}',
    'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  ),
  /** The upstream's certificate did not carry an expected identity. */
  UPSTREAM_IDENTITY_MISMATCH: failure(
    503,
    'UF',
    'upstream_reset_before_response_started{connection_failure,TLS_error:_identity_mismatch}',
    'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: identity mismatch',
  ),
  /** The upstream reset or closed before a response started. */
  UPSTREAM_RESET: failure(
    503,
    'UC',
    'upstream_reset_before_response_started{connection_termination}',
    'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
  ),
  /**
   * A DestinationRule `connectionPool` limit (circuit breaker) refused the request; the reply
   * carries `x-envoy-overloaded: true`.
   */
  UPSTREAM_OVERFLOW: failure(
    503,
    'UO',
    'upstream_reset_before_response_started{overflow}',
    'upstream connect error or disconnect/reset before headers. reset reason: overflow',
  ),
  /** The upstream sent something that is not valid HTTP. */
  UPSTREAM_PROTOCOL_ERROR: failure(502, 'UPE', 'upstream_reset_before_response_started{protocol_error}', 'upstream protocol error'),
  /** The route timeout expired. */
  UPSTREAM_TIMEOUT: failure(504, 'UT', 'response_timeout', 'upstream request timeout'),
  /** One attempt's timeout (HTTPRoute `timeouts.backendRequest`, `perTryTimeout`) expired with no retry left. */
  UPSTREAM_PER_TRY_TIMEOUT: failure(504, 'UT', 'upstream_per_try_timeout', 'upstream request timeout'),
  /** No route matched the request. */
  NO_ROUTE: failure(404, 'NR', 'route_not_found', ''),

  // --- Downstream ---
  /** The downstream request could not be parsed. */
  DOWNSTREAM_PROTOCOL_ERROR: failure(400, 'DPE', 'http1.codec_error', 'Bad Request'),
  /** A filter threw: a bug, answered with 500, counted and logged once. */
  FILTER_FAILED: failure(500, '-', 'filter_chain_exception', 'internal error'),

  // --- Security (waypoint L7: filters/authz, filters/jwt-authn) ---
  /**
   * An AuthorizationPolicy denied the request (Envoy RBAC; no response flag). The filter's details
   * name the matched rule: `rbac_access_denied_matched_policy[ns[..]-policy[..]-rule[..]]`.
   */
  RBAC_ACCESS_DENIED: failure(403, '-', 'rbac_access_denied_matched_policy[none]', 'RBAC: access denied'),
  /**
   * RequestAuthentication rejected a token (Envoy jwt_authn). Details and body carry the reason:
   * `jwt_authn_access_denied{Jwt_is_expired}` / `Jwt is expired`; with `www-authenticate`.
   */
  JWT_AUTHN_FAILED: failure(401, '-', 'jwt_authn_access_denied{Jwt_verification_fails}', 'Jwt verification fails'),
  /** The request path cannot be normalized (not absolute, bad `%` escape): refused before filters. */
  PATH_NORMALIZATION_FAILED: failure(400, 'DPE', 'path_normalization_failed', 'Bad Request'),
  /** A method with lower-case letters (`get`): Istio refuses it so `methods` cannot be sidestepped. */
  METHOD_NOT_UPPERCASE: failure(400, 'DPE', 'invalid_method', 'Bad Request'),
  /**
   * A request header going upstream cannot be written (CR/LF, NUL or another byte HTTP forbids,
   * put there by a filter from data no config check saw: an ext_authz server's headers, a JWT
   * claim). Never sent, never retried (Envoy answers an invalid mutation with 500).
   */
  INVALID_UPSTREAM_REQUEST_HEADERS: failure(500, '-', 'invalid_upstream_request_headers', 'invalid header value'),
  /** Envoy `stream_idle_timeout` with the request still arriving: 408 `SI`. */
  STREAM_IDLE_TIMEOUT_REQUEST: failure(408, 'SI', 'stream_idle_timeout', 'stream timeout'),
  /** Envoy `stream_idle_timeout` with the request complete (waiting on the upstream): 504 `SI`. */
  STREAM_IDLE_TIMEOUT: failure(504, 'SI', 'stream_idle_timeout', 'stream timeout'),
  /** A local reply's headers cannot be written (same bytes, e.g. from an ext_authz denial): a plain 500 instead. */
  INVALID_LOCAL_REPLY_HEADERS: failure(500, '-', 'invalid_local_reply_headers', 'invalid header value'),

  // --- Security (ztunnel plaintext inbound: PeerAuthentication, PROXY protocol; policy re-check) ---
  /** PeerAuthentication `STRICT` applies to the port: plaintext inbound is closed (ztunnel: RBAC deny). */
  MTLS_REQUIRED: failure(401, 'DENY', 'mtls_required', 'connection closed: PeerAuthentication STRICT requires mTLS'),
  /** The plaintext inbound listener got no valid PROXY protocol v2 header (the reason names the defect). */
  PROXY_PROTOCOL_INVALID: failure(400, 'DPE', 'proxy_protocol_invalid', 'invalid PROXY protocol v2 header'),
  /** The PROXY header's original destination is not the pod (and port owner) of this listener. */
  PROXY_DESTINATION_MISMATCH: failure(400, 'DPE', 'proxy_destination_mismatch', 'original destination does not match the listener pod'),
  /** An open inbound connection that a changed L4 policy (or PeerAuthentication) now denies. */
  L4_POLICY_LATE_REJECTION: failure(401, 'DENY', 'connection_closed_due_to_policy_change', 'connection closed due to policy change'),
});

export type FailureCode = keyof typeof FAILURES;

export function failureInfo(code: FailureCode): FailureInfo {
  return FAILURES[code];
}

/** The result type for expected failures on the data path: no exceptions for these. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: FailureCode; readonly message: string };

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: FailureCode, message: string): Outcome<T> {
  return { ok: false, code, message };
}
