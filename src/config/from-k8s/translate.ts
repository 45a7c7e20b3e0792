/**
 * The dispatcher: YAML text of one file → translated objects + diagnostics. A registry maps
 * `apiVersion` + `kind` to one translator, so supporting a new kind is one translator file plus
 * one line in {@link TRANSLATORS}. Unknown kinds are skipped with a warning.
 */
import type { Diagnostic } from '../diagnostics.js';
import { authorizationPolicyTranslator } from './authorization-policy.js';
import { configMapTranslator } from './config-map.js';
import { gatewayTranslator } from './gateway.js';
import { httpRouteTranslator } from './http-route.js';
import { grpcRouteTranslator } from './grpc-route.js';
import { tcpRouteTranslator, tlsRouteTranslator } from './tcp-route.js';
import { referenceGrantTranslator } from './reference-grant.js';
import { destinationRuleTranslator } from './destination-rule.js';
import { virtualServiceTranslator } from './virtual-service.js';
import { namespaceTranslator } from './namespace.js';
import { ObjectReader } from './object-reader.js';
import { parseManifests } from './parse-manifests.js';
import type { ManifestDocument } from './parse-manifests.js';
import { peerAuthenticationTranslator } from './peer-authentication.js';
import { podTranslator } from './pod.js';
import { requestAuthenticationTranslator } from './request-authentication.js';
import { serviceAccountTranslator } from './service-account.js';
import { serviceTranslator } from './service.js';
import { telemetryTranslator } from './telemetry.js';
import { trafficExtensionTranslator } from './traffic-extension.js';
import { wasmPluginTranslator } from './wasm-plugin.js';
import type { ObjectRef, TranslateContext, TranslatedObject, Translator } from './translator.js';
import { objectRefKey } from './translator.js';

/** Every supported kind. Order does not matter; keys must be unique. */
export const TRANSLATORS: readonly Translator[] = [
  namespaceTranslator,
  serviceAccountTranslator,
  configMapTranslator,
  podTranslator,
  serviceTranslator,
  gatewayTranslator,
  authorizationPolicyTranslator,
  requestAuthenticationTranslator,
  httpRouteTranslator,
  grpcRouteTranslator,
  tcpRouteTranslator,
  tlsRouteTranslator,
  referenceGrantTranslator,
  virtualServiceTranslator,
  destinationRuleTranslator,
  telemetryTranslator,
  wasmPluginTranslator,
  trafficExtensionTranslator,
  peerAuthenticationTranslator,
];

const REGISTRY: ReadonlyMap<string, Translator> = (() => {
  const m = new Map<string, Translator>();
  for (const t of TRANSLATORS) {
    for (const v of t.apiVersions) {
      const key = `${v}|${t.kind}`;
      if (m.has(key)) throw new Error(`two translators registered for ${v} ${t.kind}`);
      m.set(key, t);
    }
  }
  return m;
})();

/** What happened to one document of a file. */
export type ObjectOutcome =
  /** Translated: apply it. */
  | { readonly status: 'ok'; readonly object: TranslatedObject }
  /**
   * Rejected with errors: a last-good store keeps the previous version of `key`, else serves
   * `standIn` when the kind has one (a security policy whose absence would widen access).
   */
  | { readonly status: 'failed'; readonly key: string; readonly standIn?: TranslatedObject }
  /** Deliberately not for this data plane (other Gateway class, L7 policy, unknown kind...). */
  | { readonly status: 'skipped'; readonly key: string };

export interface FileTranslation {
  readonly file: string;
  /** False when the file is not valid YAML: nothing in it was translated. */
  readonly syntaxOk: boolean;
  readonly outcomes: readonly ObjectOutcome[];
  readonly diagnostics: readonly Diagnostic[];
}

export function translateFile(file: string, text: string, ctx: TranslateContext): FileTranslation {
  const parsed = parseManifests(file, text);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const outcomes: ObjectOutcome[] = [];
  for (const doc of parsed.documents) {
    const { outcome, diagnostics: ds } = translateDocument(doc, ctx);
    outcomes.push(outcome);
    diagnostics.push(...ds);
  }
  return { file, syntaxOk: parsed.syntaxOk, outcomes, diagnostics };
}

export function translateDocument(
  doc: ManifestDocument,
  ctx: TranslateContext,
): { outcome: ObjectOutcome; diagnostics: readonly Diagnostic[] } {
  const translator = REGISTRY.get(`${doc.apiVersion}|${doc.kind}`);
  if (!translator) {
    const key = objectRefKey(doc.kind, doc.metadataNamespace, doc.name);
    const diagnostic: Diagnostic = {
      severity: 'warning',
      code: 'UNKNOWN_KIND',
      file: doc.source.file,
      line: doc.source.line,
      kind: doc.kind,
      ...(doc.metadataNamespace !== undefined ? { namespace: doc.metadataNamespace } : {}),
      name: doc.name,
      message: `${doc.apiVersion} ${doc.kind} is not supported; object skipped`,
    };
    return { outcome: { status: 'skipped', key }, diagnostics: [diagnostic] };
  }
  const namespace = translator.namespaced ? (doc.metadataNamespace ?? 'default') : undefined;
  const id = { apiVersion: doc.apiVersion, kind: doc.kind, name: doc.name, namespace };
  const reader = new ObjectReader(doc.root, id, doc.source);
  const key = objectRefKey(doc.kind, namespace, doc.name);
  const value = translator.translate(reader, ctx);
  if (reader.failed) {
    // A fresh reader: the stand-in's own reading must not add to the object's diagnostics.
    const standIn = translator.standIn?.(new ObjectReader(doc.root, id, doc.source));
    const outcome = standIn ? { status: 'failed' as const, key, standIn: { ...standIn, ref: refOf(doc, key, namespace) } } : { status: 'failed' as const, key };
    return { outcome, diagnostics: reader.diagnostics };
  }
  if (value === undefined) return { outcome: { status: 'skipped', key }, diagnostics: reader.diagnostics };
  return { outcome: { status: 'ok', object: { ...value, ref: refOf(doc, key, namespace) } }, diagnostics: reader.diagnostics };
}

function refOf(doc: ManifestDocument, key: string, namespace: string | undefined): ObjectRef {
  return {
    key,
    kind: doc.kind,
    namespace,
    name: doc.name,
    origin: { source: doc.source.file, line: doc.source.line },
    lineOf: doc.source.lineOf,
  };
}
