/**
 * Config diagnostics: what a translator, the snapshot builder or a config source reports about a
 * bad (or suspicious) object. An `error` means the object (or file) was rejected and the rest of
 * the config still applies; a `warning` means the object applied, perhaps partly or not at all by
 * design (an unknown kind, an L7 rule ztunnel cannot enforce).
 *
 * Codes are stable: tests, `ambient validate` output and tooling match on them, never on messages.
 */

export type Severity = 'error' | 'warning';

/** Every diagnostic code, with what it means. Add new codes here; never rename one. */
export const DIAGNOSTIC_CODES = Object.freeze({
  /** The file is not valid YAML; none of its objects (re)apply. */
  YAML_SYNTAX: 'file is not valid YAML',
  /** A YAML document is not a mapping, or lacks `apiVersion`/`kind`/`metadata.name`. */
  NOT_AN_OBJECT: 'document is not a Kubernetes object',
  /** A required field is missing. */
  FIELD_REQUIRED: 'required field missing',
  /** A field has the wrong type or an invalid value. */
  FIELD_INVALID: 'invalid field value',
  /** Two objects with the same kind, namespace and name: the later one (file order) is rejected. */
  DUPLICATE_OBJECT: 'duplicate object',
  /** An address outside the local-mesh range for its role (design §4). */
  ADDRESS_OUT_OF_RANGE: 'address outside the local range',
  /** An address already used by another object (pod IP, VIP, waypoint address). */
  ADDRESS_CONFLICT: 'address already in use',
  /** A kind/apiVersion no translator handles; the object is skipped. */
  UNKNOWN_KIND: 'unknown kind',
  /** A reference to an object that does not exist (e.g. `istio.io/use-waypoint` naming no waypoint). */
  REF_NOT_FOUND: 'reference not found',
  /** A cross-namespace reference no ReferenceGrant allows (Gateway API `RefNotPermitted`). */
  REF_NOT_PERMITTED: 'reference not permitted',
  /** A feature this data plane does not enforce at this layer (AUDIT/CUSTOM at L4, L7 rule parts). */
  UNSUPPORTED: 'unsupported feature',
  /** A file could not be read. */
  FILE_UNREADABLE: 'file could not be read',
  /** An object failed after a reload; its previous good version keeps serving. */
  KEPT_PREVIOUS: 'previous version kept',
  /** A rejected security policy with no previous version: a fail-closed stand-in serves (`policy-stand-ins.ts`). */
  FAIL_CLOSED_STAND_IN: 'fail-closed stand-in serving',
});

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export interface Diagnostic {
  readonly severity: Severity;
  readonly code: DiagnosticCode;
  /** File path (local dir), or a source locator. */
  readonly file: string;
  /** 1-based line of the field (or of the object, or of the syntax error) when known. */
  readonly line?: number;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** Field path like `spec.ports[0].port`. */
  readonly field?: string;
  readonly message: string;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/**
 * One line per diagnostic, compiler style so editors can jump to it:
 * `file:line: error CODE Kind ns/name field: message`.
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line !== undefined ? `${d.file}:${d.line}` : d.file;
  const parts = [`${where}: ${d.severity} ${d.code}`];
  if (d.kind !== undefined) {
    const id = d.name === undefined ? '' : d.namespace !== undefined ? `${d.namespace}/${d.name}` : d.name;
    parts.push(id ? `${d.kind} ${id}` : d.kind);
  }
  if (d.field !== undefined) parts.push(d.field);
  return `${parts.join(' ')}: ${d.message}`;
}

/** Stable order for output and comparisons: by file, line, then code. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  const la = a.line ?? 0;
  const lb = b.line ?? 0;
  if (la !== lb) return la - lb;
  return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
}
