/**
 * What Istio normalizes or refuses before authorization and routing see a request (istio.io
 * "Authorization Policy Normalization"): the path (see `path-normalization.ts`, `%00` always
 * refused) and the method, which must not be written in lower case (Istio answers 400, so
 * `methods: [DELETE]` cannot be sidestepped by `delete` over HTTP/2, where any token is a valid
 * method). Header names with white space never get this far: both codecs refuse them.
 */
import type { FailureCode } from '../failures.js';
import type { PathNormalization } from './path-normalization.js';
import { normalizePath } from './path-normalization.js';

/** The parts of a request this step reads and rewrites. */
export interface NormalizableRequest {
  readonly method: string;
  path: string;
}

/** Normalizes `req.path` in place; returns the failure to answer with when the request is refused. */
export function normalizeRequest(req: NormalizableRequest, mode: PathNormalization | undefined): FailureCode | undefined {
  if (hasLowerCase(req.method)) return 'METHOD_NOT_UPPERCASE';
  const normalized = normalizePath(req.path, mode);
  if (normalized === undefined) return 'PATH_NORMALIZATION_FAILED';
  req.path = normalized;
  return undefined;
}

function hasLowerCase(method: string): boolean {
  for (let i = 0; i < method.length; i++) {
    const c = method.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) return true;
  }
  return false;
}
