/**
 * Splits one YAML file into Kubernetes object documents, keeping line information so every
 * diagnostic can point at the object and the field. Syntax errors fail the whole file: a
 * half-parsed file would silently drop objects, and the store keeps the file's previous objects
 * instead (last-good semantics).
 */
import { LineCounter, isMap, isNode, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Diagnostic } from '../diagnostics.js';
import type { FieldPath, ObjectSource } from './object-reader.js';
import { describeValue, isRecord } from './object-reader.js';

/** One document that looks like a Kubernetes object (mapping with apiVersion, kind, metadata.name). */
export interface ManifestDocument {
  readonly root: Readonly<Record<string, unknown>>;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  /** `metadata.namespace` as written (defaulting is the translator registry's job). */
  readonly metadataNamespace: string | undefined;
  readonly source: ObjectSource;
}

export interface ParsedManifests {
  /** False when the file has a YAML syntax error: then `documents` is empty. */
  readonly syntaxOk: boolean;
  readonly documents: readonly ManifestDocument[];
  readonly diagnostics: readonly Diagnostic[];
}

export function parseManifests(file: string, text: string): ParsedManifests {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  const diagnostics: Diagnostic[] = [];

  // `parseAllDocuments` returns an EmptyStream (not an array) for input without documents.
  if (!Array.isArray(docs)) return { syntaxOk: true, documents: [], diagnostics };

  for (const doc of docs) {
    // Only the first error of a document: the parser's follow-on errors are noise.
    for (const err of doc.errors.slice(0, 1)) {
      diagnostics.push({
        severity: 'error',
        code: 'YAML_SYNTAX',
        file,
        line: lineAt(err.pos[0]),
        message: `${err.code}: ${firstLine(err.message)}`,
      });
    }
  }
  if (diagnostics.length > 0) return { syntaxOk: false, documents: [], diagnostics };

  const documents: ManifestDocument[] = [];
  for (const doc of docs) {
    const contents = doc.contents;
    // A `---` with nothing after it (or only comments) is not an object; skip it quietly.
    if (contents === null) continue;
    const docLine = lineAt(contents.range[0]);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      // Alias bombs and similar: reported like syntax errors, since the file cannot be trusted.
      const message = err instanceof Error ? err.message : String(err);
      diagnostics.push({ severity: 'error', code: 'YAML_SYNTAX', file, line: docLine, message });
      return { syntaxOk: false, documents: [], diagnostics };
    }
    if (value === null || value === undefined) continue;
    const notObject = (field: string | undefined, message: string, line = docLine): void => {
      diagnostics.push({
        severity: 'error',
        code: 'NOT_AN_OBJECT',
        file,
        line,
        ...(field !== undefined ? { field } : {}),
        message,
      });
    };
    if (!isRecord(value)) {
      notObject(undefined, `document must be a mapping (a Kubernetes object), got ${describeValue(value)}`);
      continue;
    }
    // The line of a field is the line of its key (for list items: of the item), which is where a
    // reader looks; the value of a block mapping or list starts on the next line.
    const lineOf = (path: FieldPath): number | undefined => {
      let node: unknown = contents;
      let line: number | undefined = docLine;
      for (const seg of path) {
        if (isMap(node)) {
          const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
          if (!pair) return undefined;
          line = isNode(pair.key) && pair.key.range ? lineAt(pair.key.range[0]) : undefined;
          node = pair.value;
        } else if (isSeq(node) && typeof seg === 'number') {
          const item: unknown = node.items[seg];
          if (item === undefined) return undefined;
          line = isNode(item) && item.range ? lineAt(item.range[0]) : undefined;
          node = item;
        } else {
          return undefined;
        }
      }
      return line;
    };
    const apiVersion = value['apiVersion'];
    const kind = value['kind'];
    const metadata = value['metadata'];
    const name = isRecord(metadata) ? metadata['name'] : undefined;
    const namespace = isRecord(metadata) ? metadata['namespace'] : undefined;
    if (typeof apiVersion !== 'string' || apiVersion === '') {
      notObject('apiVersion', 'apiVersion is required and must be a string', lineOf(['apiVersion']) ?? docLine);
      continue;
    }
    if (typeof kind !== 'string' || kind === '') {
      notObject('kind', 'kind is required and must be a string', lineOf(['kind']) ?? docLine);
      continue;
    }
    if (typeof name !== 'string' || name === '') {
      notObject('metadata.name', `${kind}: metadata.name is required and must be a string`, lineOf(['metadata']) ?? docLine);
      continue;
    }
    if (namespace !== undefined && namespace !== null && (typeof namespace !== 'string' || namespace === '')) {
      notObject('metadata.namespace', `${kind} ${name}: metadata.namespace must be a non-empty string`, lineOf(['metadata', 'namespace']) ?? docLine);
      continue;
    }
    documents.push({
      root: value,
      apiVersion,
      kind,
      name,
      metadataNamespace: typeof namespace === 'string' ? namespace : undefined,
      source: { file, line: docLine, lineOf },
    });
  }
  return { syntaxOk: true, documents, diagnostics };
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}
