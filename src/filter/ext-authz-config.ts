/**
 * The external authorization filter's configuration contract: one MeshConfig extension provider
 * (`envoyExtAuthzHttp` or `envoyExtAuthzGrpc`) as plain data. Defined here, next to the filter
 * API, so the filter (`filters/ext-authz/`) and the engine's IR (`MeshIR.extAuthzProviders`) share
 * one definition, as `authz-config.ts` does for AuthorizationPolicy.
 *
 * Defaults follow Istio's MeshConfig reference (ExtensionProvider.EnvoyExternalAuthorization*):
 * timeout 600s, `failOpen` false, `statusOnError` 403; header lists use the AuthorizationPolicy
 * string forms (exact, `x*`, `*x`, `*`) and match header names case-insensitively.
 */
import type { StringMatch } from './authz-config.js';

/** `includeRequestBodyInCheck`: buffer the request body and send it in the check. */
export interface ExtAuthzBodySettings {
  /** Bytes buffered at most (Istio requires a value; 0 here means "no limit given": 64 KiB). */
  readonly maxRequestBytes: number;
  /**
   * When the body is larger: false (default) answers 413; true sends the first
   * `maxRequestBytes` bytes with `x-envoy-auth-partial-body: true`.
   */
  readonly allowPartialMessage: boolean;
  /** gRPC only: send the body as `raw_body` bytes instead of the UTF-8 `body` string. */
  readonly packAsBytes: boolean;
}

interface ExtAuthzProviderBase {
  /** The provider's name, as `AuthorizationPolicy.spec.provider.name` refers to it. */
  readonly name: string;
  /** Host name of the authorization service (`[namespace/]hostname` with the namespace dropped). */
  readonly service: string;
  readonly port: number;
  readonly timeoutMs: number;
  /** Allow the request when the service cannot be reached, times out or answers 5xx. */
  readonly failOpen: boolean;
  /** Status sent downstream on such errors when not failing open. */
  readonly statusOnError: number;
  readonly body?: ExtAuthzBodySettings;
}

export interface ExtAuthzHttpProvider extends ExtAuthzProviderBase {
  readonly kind: 'http';
  /** Prepended to the request path in the check request (`/check` + `/orig/path`). */
  readonly pathPrefix: string;
  /** Client request headers copied into the check (besides host, method, path, content-length). */
  readonly includeRequestHeaders: readonly StringMatch[];
  /** Headers added to (overwriting in) the check request, lowercase names. */
  readonly additionalHeaders: Readonly<Record<string, string>>;
  /** Check-response headers copied to the upstream request on allow. None when empty. */
  readonly headersToUpstreamOnAllow: readonly StringMatch[];
  /** Check-response headers sent downstream on deny; `undefined` = all (Envoy's default). */
  readonly headersToDownstreamOnDeny?: readonly StringMatch[];
}

export interface ExtAuthzGrpcProvider extends ExtAuthzProviderBase {
  readonly kind: 'grpc';
}

export type ExtAuthzProvider = ExtAuthzHttpProvider | ExtAuthzGrpcProvider;

/** Istio's default provider timeout. */
export const EXT_AUTHZ_DEFAULT_TIMEOUT_MS = 600_000;
/** Used when `includeRequestBodyInCheck` gives no `maxRequestBytes`. */
export const EXT_AUTHZ_DEFAULT_MAX_BODY = 64 * 1024;
