/**
 * What the ext_authz filter asks an authorization service and what it gets back, independent of
 * the wire protocol: the HTTP client (`http-check-client.ts`) and the gRPC client
 * (`grpc-check-client.ts`, envoy.service.auth.v3.Authorization/Check) both answer a
 * {@link CheckDecision}, and the filter applies it the same way.
 */
import type { BufferedRequestBody, RequestContext } from '../../src/filter/api.js';
import type { QueryParameter } from './query-mutation.js';

/** One check: the request as the waypoint received it, and its body when the provider wants it. */
export interface CheckInput {
  readonly ctx: RequestContext;
  readonly body?: BufferedRequestBody;
  /** `host:port` of the authorization service endpoint to ask. */
  readonly address: string;
}

/**
 * A header the authorizer adds (set, or appended when `append`). `only` narrows a set, from
 * `HeaderValueOption.append_action`: `absent` = ADD_IF_ABSENT, `present` = OVERWRITE_IF_EXISTS.
 */
export interface HeaderToAdd {
  readonly name: string;
  readonly value: string;
  readonly append: boolean;
  readonly only?: 'absent' | 'present';
}

export type CheckDecision =
  /** Allowed: headers to add to / remove from the request before it goes upstream. */
  | {
      readonly kind: 'ok';
      readonly headers: readonly HeaderToAdd[];
      readonly remove: readonly string[];
      /** gRPC `response_headers_to_add`: onto the response to the client. */
      readonly responseHeaders?: readonly HeaderToAdd[];
      /** gRPC `query_parameters_to_set` / `query_parameters_to_remove`: on the upstream request's path. */
      readonly queryToSet?: readonly QueryParameter[];
      readonly queryToRemove?: readonly string[];
    }
  /** Denied: the reply the authorizer chose (Envoy's default status 403). */
  | { readonly kind: 'denied'; readonly status: number; readonly headers: readonly (readonly [string, string])[]; readonly body: string }
  /** The service could not be asked, timed out or failed (HTTP 5xx, a gRPC transport error). */
  | { readonly kind: 'error'; readonly reason: string };

export interface CheckClient {
  check(input: CheckInput): Promise<CheckDecision>;
  close(): Promise<void>;
}

/** Envoy marks a request whose check carried a truncated body with this header. */
export const PARTIAL_BODY_HEADER = 'x-envoy-auth-partial-body';
