/**
 * `security.istio.io/v1 RequestAuthentication` → JWT providers for the waypoint's `jwt_authn`
 * (istio.io reference: security/request_authentication; Envoy jwt_authn's JwtProvider).
 *
 * - Only `targetRefs` attachment is for waypoints; a selector-based (or unattached) object is for
 *   sidecars and gateways, which this data plane does not run: skipped with a warning.
 * - Each `jwtRules[]` needs `issuer` and keys: inline `jwks` (validated JSON with a `keys` list) or
 *   `jwksUri` (https, or http only on loopback). When both are unset, the keys come from OpenID
 *   discovery: `<issuer>/.well-known/openid-configuration` names the `jwks_uri` (istiod's fallback),
 *   resolved by the waypoint's JWKS cache at run time.
 * - `timeout` (jwks fetch) defaults to Istio's 5 s.
 */
import type { JwksSourceIR, JwtClaimToHeaderIR, JwtHeaderLocationIR, JwtRuleIR } from '../ir-security.js';
import type { FieldPath, ObjectReader } from './object-reader.js';
import { isRecord } from './object-reader.js';
import { hasPolicyTargets, readPolicyTargets } from './policy-targets.js';
import type { RequestAuthnDraft, Translator } from './translator.js';

const DEFAULT_JWKS_TIMEOUT_MS = 5_000;
/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

export const requestAuthenticationTranslator: Translator = {
  kind: 'RequestAuthentication',
  apiVersions: ['security.istio.io/v1', 'security.istio.io/v1beta1'],
  namespaced: true,
  translate(r) {
    const namespace = r.id.namespace ?? 'default';
    if (!hasPolicyTargets(r)) {
      r.warn(['spec'], 'UNSUPPORTED', 'only RequestAuthentication attached by targetRefs (waypoint) is enforced; this one is skipped');
      return undefined;
    }
    if (r.record(['spec', 'selector'])) r.error(['spec', 'selector'], 'FIELD_INVALID', 'cannot be set together with targetRefs');
    const targets = readPolicyTargets(r, namespace);
    const jwtRules: JwtRuleIR[] = [];
    const issuers = new Set<string>();
    r.list(['spec', 'jwtRules']).forEach((_, i) => {
      const rule = translateRule(r, ['spec', 'jwtRules', i]);
      if (!rule) return;
      if (issuers.has(rule.issuer)) r.error(['spec', 'jwtRules', i, 'issuer'], 'FIELD_INVALID', `issuer ${JSON.stringify(rule.issuer)} appears twice`);
      issuers.add(rule.issuer);
      jwtRules.push(rule);
    });
    if (r.failed) return undefined;
    const value: RequestAuthnDraft = { name: r.id.name, namespace, targets, jwtRules, origin: r.origin };
    return { type: 'RequestAuthn', value };
  },
};

/** Claims Istio always treats as space-delimited lists (OAuth 2.0 `scope`, and `permission`). */
const DEFAULT_SPACE_DELIMITED_CLAIMS = ['permission', 'scope'];

function translateRule(r: ObjectReader, path: FieldPath): JwtRuleIR | undefined {
  if (r.record(path, true) === undefined) return undefined;
  const issuer = r.string([...path, 'issuer'], { required: true });
  const audiences = r.stringList([...path, 'audiences']);
  const jwks = readJwksSource(r, path, issuer);
  const fromHeaders: JwtHeaderLocationIR[] = [];
  r.list([...path, 'fromHeaders']).forEach((_, j) => {
    const h = [...path, 'fromHeaders', j];
    if (r.record(h, true) === undefined) return;
    const name = headerName(r, [...h, 'name']);
    const prefix = r.string([...h, 'prefix'], { allowEmpty: true }) ?? '';
    if (name !== undefined) fromHeaders.push({ name, prefix });
  });
  const fromParams = r.stringList([...path, 'fromParams']);
  const fromCookies = r.stringList([...path, 'fromCookies']);
  const payloadHeader = r.has([...path, 'outputPayloadToHeader']) ? headerName(r, [...path, 'outputPayloadToHeader']) : undefined;
  const outputClaimToHeaders: JwtClaimToHeaderIR[] = [];
  r.list([...path, 'outputClaimToHeaders']).forEach((_, j) => {
    const c = [...path, 'outputClaimToHeaders', j];
    if (r.record(c, true) === undefined) return;
    const header = headerName(r, [...c, 'header']);
    const claim = r.string([...c, 'claim'], { required: true });
    if (header !== undefined && claim !== undefined) outputClaimToHeaders.push({ header, claim });
  });
  const forwardOriginalToken = r.boolean([...path, 'forwardOriginalToken']) ?? false;
  const spaceDelimited = r.stringList([...path, 'spaceDelimitedClaims']);
  spaceDelimited.forEach((c, j) => {
    if (c === '') r.error([...path, 'spaceDelimitedClaims', j], 'FIELD_INVALID', 'a claim name must not be empty');
  });
  if (spaceDelimited.length > 64) r.error([...path, 'spaceDelimitedClaims'], 'FIELD_INVALID', 'at most 64 claims');
  if (issuer === undefined || jwks === undefined) return undefined;
  return {
    issuer,
    audiences,
    jwks,
    fromHeaders,
    fromParams,
    fromCookies,
    ...(payloadHeader !== undefined ? { outputPayloadToHeader: payloadHeader } : {}),
    outputClaimToHeaders,
    forwardOriginalToken,
    // istiod's buildSpaceDelimitedClaims: the defaults plus the rule's, sorted, without repeats.
    spaceDelimitedClaims: [...new Set([...DEFAULT_SPACE_DELIMITED_CLAIMS, ...spaceDelimited])].sort(),
  };
}

function readJwksSource(r: ObjectReader, path: FieldPath, issuer: string | undefined): JwksSourceIR | undefined {
  const inline = r.string([...path, 'jwks']);
  const uri = r.string([...path, 'jwksUri']);
  if (inline !== undefined && uri !== undefined) {
    r.error([...path, 'jwks'], 'FIELD_INVALID', 'set only one of jwks and jwksUri');
    return undefined;
  }
  if (inline !== undefined) {
    let doc: unknown;
    try {
      doc = JSON.parse(inline);
    } catch {
      r.error([...path, 'jwks'], 'FIELD_INVALID', 'is not valid JSON');
      return undefined;
    }
    if (!isRecord(doc) || !Array.isArray(doc['keys'])) {
      r.error([...path, 'jwks'], 'FIELD_INVALID', 'must be a JSON Web Key Set ({"keys": [...]})');
      return undefined;
    }
    return { kind: 'inline', jwks: inline };
  }
  if (uri !== undefined) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      r.error([...path, 'jwksUri'], 'FIELD_INVALID', `${JSON.stringify(uri)} is not a URL`);
      return undefined;
    }
    if (!fetchable(url)) {
      r.error([...path, 'jwksUri'], 'FIELD_INVALID', 'must be an https URL (http is accepted only on loopback)');
      return undefined;
    }
    const timeoutMs = readDuration(r, [...path, 'timeout']) ?? DEFAULT_JWKS_TIMEOUT_MS;
    return { kind: 'remote', uri: url.href, timeoutMs };
  }
  // Neither: OpenID Connect Discovery 1.0 §4 from the issuer, as istiod does.
  if (issuer === undefined) return undefined;
  let issuerUrl: URL | undefined;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    issuerUrl = undefined;
  }
  if (!issuerUrl || !fetchable(issuerUrl) || issuerUrl.search !== '' || issuerUrl.hash !== '') {
    r.error(path, 'FIELD_REQUIRED', 'set jwks or jwksUri (OpenID discovery needs an https issuer URL without query or fragment)');
    return undefined;
  }
  const timeoutMs = readDuration(r, [...path, 'timeout']) ?? DEFAULT_JWKS_TIMEOUT_MS;
  return { kind: 'remote', uri: `${issuerUrl.href.replace(/\/+$/, '')}/.well-known/openid-configuration`, timeoutMs, discovery: true };
}

/** https anywhere; http only on loopback (local test issuers). */
function fetchable(url: URL): boolean {
  const loopback = url.hostname === 'localhost' || url.hostname.startsWith('127.') || url.hostname === '[::1]';
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopback);
}

function headerName(r: ObjectReader, path: FieldPath): string | undefined {
  const v = r.string(path, { required: true });
  if (v === undefined) return undefined;
  if (!HEADER_NAME.test(v)) {
    r.error(path, 'FIELD_INVALID', `${JSON.stringify(v)} is not a valid header name`);
    return undefined;
  }
  return v.toLowerCase();
}

/** A protobuf Duration as written in YAML (`5s`, `500ms`, `1m`). */
function readDuration(r: ObjectReader, path: FieldPath): number | undefined {
  const v = r.string(path);
  if (v === undefined) return undefined;
  const m = DURATION.exec(v);
  if (!m?.[1] || !m[2]) {
    r.error(path, 'FIELD_INVALID', `must be a duration like "5s" or "500ms", got ${JSON.stringify(v)}`);
    return undefined;
  }
  const unit = m[2] === 'ms' ? 1 : m[2] === 's' ? 1_000 : m[2] === 'm' ? 60_000 : 3_600_000;
  const ms = Number(m[1]) * unit;
  if (ms <= 0) {
    r.error(path, 'FIELD_INVALID', 'must be positive');
    return undefined;
  }
  return ms;
}
