/**
 * Typed, validating access to one Kubernetes object parsed from YAML. Translators read fields
 * through this so every problem becomes a Diagnostic naming the file, the line of the field, the
 * object and the field path, and so no translator handles `unknown` by hand.
 *
 * Getters never throw: a bad field records an error and returns `undefined` (or an empty value);
 * the translator finishes reading (so one run reports every problem) and then checks `failed`.
 */
import type { Origin } from '../ir.js';
import type { Diagnostic, DiagnosticCode } from '../diagnostics.js';

export type FieldPath = readonly (string | number)[];

/** `['spec', 'ports', 0, 'port']` → `spec.ports[0].port`. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

/** Where the object came from, and how to find the line of one of its fields. */
export interface ObjectSource {
  readonly file: string;
  /** 1-based line of the object's first line. */
  readonly line: number;
  /** 1-based line of the node at `path` (relative to the object root), if it exists. */
  readonly lineOf: (path: FieldPath) => number | undefined;
}

/** Identity of the object, for diagnostics and keys. */
export interface ObjectIdentity {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** `undefined` for cluster-scoped kinds. */
  readonly namespace: string | undefined;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface StringOptions {
  readonly required?: boolean;
  /** Accept the empty string (by default empty counts as missing). */
  readonly allowEmpty?: boolean;
}

export interface IntegerOptions {
  readonly required?: boolean;
  readonly min?: number;
  readonly max?: number;
}

export class ObjectReader {
  readonly diagnostics: Diagnostic[] = [];
  private errors = 0;
  /** Reading a field twice (e.g. to classify, then to translate) must not report it twice. */
  private readonly reported = new Set<string>();

  constructor(
    readonly root: Readonly<Record<string, unknown>>,
    readonly id: ObjectIdentity,
    readonly source: ObjectSource,
  ) {}

  /** True once any error was recorded: the translator must reject the object. */
  get failed(): boolean {
    return this.errors > 0;
  }

  get origin(): Origin {
    return { source: this.source.file, line: this.source.line };
  }

  /** Line of the field, else of its nearest existing ancestor, else of the object. */
  lineOf(path: FieldPath): number {
    for (let n = path.length; n > 0; n--) {
      const line = this.source.lineOf(path.slice(0, n));
      if (line !== undefined) return line;
    }
    return this.source.line;
  }

  error(path: FieldPath, code: DiagnosticCode, message: string): void {
    this.errors++;
    this.report('error', path, code, message);
  }

  warn(path: FieldPath, code: DiagnosticCode, message: string): void {
    this.report('warning', path, code, message);
  }

  private report(severity: 'error' | 'warning', path: FieldPath, code: DiagnosticCode, message: string): void {
    const field = formatPath(path);
    const dedupeKey = `${severity}|${code}|${field}|${message}`;
    if (this.reported.has(dedupeKey)) return;
    this.reported.add(dedupeKey);
    this.diagnostics.push({
      severity,
      code,
      file: this.source.file,
      line: this.lineOf(path),
      kind: this.id.kind,
      ...(this.id.namespace !== undefined ? { namespace: this.id.namespace } : {}),
      name: this.id.name,
      ...(path.length > 0 ? { field } : {}),
      message,
    });
  }

  /** The raw value at `path`, or `undefined` when any step is missing or not a container. */
  get(path: FieldPath): unknown {
    let cur: unknown = this.root;
    for (const seg of path) {
      if (typeof seg === 'number') {
        if (!Array.isArray(cur)) return undefined;
        cur = cur[seg];
      } else {
        if (!isRecord(cur)) return undefined;
        cur = cur[seg];
      }
    }
    return cur;
  }

  /** True when the field is present (not `undefined`/`null`). */
  has(path: FieldPath): boolean {
    const v = this.get(path);
    return v !== undefined && v !== null;
  }

  string(path: FieldPath, opts: StringOptions = {}): string | undefined {
    const v = this.get(path);
    if (v === undefined || v === null || (v === '' && !opts.allowEmpty)) {
      if (opts.required) this.error(path, 'FIELD_REQUIRED', 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.error(path, 'FIELD_INVALID', `must be a string, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  integer(path: FieldPath, opts: IntegerOptions = {}): number | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) {
      if (opts.required) this.error(path, 'FIELD_REQUIRED', 'is required');
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.error(path, 'FIELD_INVALID', `must be an integer, got ${describeValue(v)}`);
      return undefined;
    }
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      this.error(path, 'FIELD_INVALID', `${v} is out of range ${opts.min ?? '-∞'}..${opts.max ?? '∞'}`);
      return undefined;
    }
    return v;
  }

  /** A percentage (Istio's `Percent`, a double in 0..100); `undefined` when absent or invalid. */
  percentage(path: FieldPath): number | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
      this.error(path, 'FIELD_INVALID', `must be a number in 0..100, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  /** A TCP/UDP port number, 1..65535. */
  port(path: FieldPath, required = true): number | undefined {
    return this.integer(path, { required, min: 1, max: 65535 });
  }

  boolean(path: FieldPath): boolean | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.error(path, 'FIELD_INVALID', `must be a boolean, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  /** A mapping; `undefined` when absent. */
  record(path: FieldPath, required = false): Readonly<Record<string, unknown>> | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) {
      if (required) this.error(path, 'FIELD_REQUIRED', 'is required');
      return undefined;
    }
    if (!isRecord(v)) {
      this.error(path, 'FIELD_INVALID', `must be a mapping, got ${describeValue(v)}`);
      return undefined;
    }
    return v;
  }

  /** A string→string map (labels, annotations, selectors); empty when absent. */
  stringMap(path: FieldPath): Readonly<Record<string, string>> {
    const rec = this.record(path);
    const out: Record<string, string> = {};
    if (!rec) return out;
    for (const [k, v] of Object.entries(rec)) {
      if (typeof v !== 'string') {
        this.error([...path, k], 'FIELD_INVALID', `must be a string (quote it), got ${describeValue(v)}`);
        continue;
      }
      out[k] = v;
    }
    return out;
  }

  /** A sequence; empty when absent. */
  list(path: FieldPath, required = false): readonly unknown[] {
    const v = this.get(path);
    if (v === undefined || v === null) {
      if (required) this.error(path, 'FIELD_REQUIRED', 'is required');
      return [];
    }
    if (!Array.isArray(v)) {
      this.error(path, 'FIELD_INVALID', `must be a list, got ${describeValue(v)}`);
      return [];
    }
    return v;
  }

  /** A sequence of non-empty strings; bad items are reported and left out. */
  stringList(path: FieldPath): readonly string[] {
    const items = this.list(path);
    const out: string[] = [];
    items.forEach((_, i) => {
      const s = this.string([...path, i], { required: true });
      if (s !== undefined) out.push(s);
    });
    return out;
  }
}

/** Short type description for messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${v}`;
  return typeof v;
}
