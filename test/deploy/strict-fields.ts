/**
 * Unknown-field detection for manifests, the check `kubectl apply --validate=strict` makes. The
 * kubernetes-models validators are generated without `additionalProperties: false`, so a misspelt
 * field (`imagePullPolicyy`) passes them; the same packages also ship the schema as TypeScript
 * interfaces (`IDeployment`, generated from the same OpenAPI definitions and CRDs), and those list
 * every field. This walks each object against its kind's interface with the TypeScript compiler:
 * a key the interface does not declare is an error; a map (index signature) or free-form field
 * (`any` or `{}`, e.g. a WasmPlugin's `pluginConfig`) accepts any key.
 */
import path from 'node:path';
import ts from 'typescript';
import type { K8sObject } from './manifests.js';
import { SCHEMA_PACKAGE_DIR } from './schema-packages.js';

/** One program for every kind asked so far; source files are cached across programs. */
class InterfaceIndex {
  // In the schema package's directory, so that its imports resolve to that package's node_modules.
  private readonly file = path.join(SCHEMA_PACKAGE_DIR, '__strict_fields__.ts');
  private readonly imports = new Map<string, string>();
  private readonly cache = new Map<string, ts.SourceFile | undefined>();
  private program: ts.Program | undefined;
  private readonly options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true, types: [] };

  /** The interface type for a model module (`kubernetes-models/apps/v1/Deployment`). */
  typeOf(spec: string, kind: string): { type: ts.Type; checker: ts.TypeChecker } | undefined {
    const alias = `T${this.imports.size}`;
    if (!this.imports.has(spec)) {
      this.imports.set(spec, `import type { I${kind} as ${alias} } from '${spec}';\nexport type ${alias}_ = ${alias};`);
      this.program = undefined;
    }
    this.program ??= this.build();
    const checker = this.program.getTypeChecker();
    const source = this.program.getSourceFile(this.file);
    if (!source) return undefined;
    const index = [...this.imports.keys()].indexOf(spec);
    const decl = source.statements.filter(ts.isTypeAliasDeclaration)[index];
    if (!decl) return undefined;
    const type = checker.getTypeAtLocation(decl.name);
    return type.flags & ts.TypeFlags.Any ? undefined : { type, checker };
  }

  private build(): ts.Program {
    const text = [...this.imports.values()].join('\n');
    const host = ts.createCompilerHost(this.options);
    const original = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang) => {
      if (name === this.file) return ts.createSourceFile(name, text, lang);
      if (!this.cache.has(name)) this.cache.set(name, original(name, lang));
      return this.cache.get(name);
    };
    return ts.createProgram({ rootNames: [this.file], options: this.options, host, ...(this.program ? { oldProgram: this.program } : {}) });
  }
}

const index = new InterfaceIndex();

/** Field paths of `o` its kind's schema does not declare (empty when none, or when the kind has no interface). */
export function unknownFields(o: K8sObject, spec: string): string[] {
  const found = index.typeOf(spec, o.kind);
  if (!found) return [`no schema interface for ${o.apiVersion} ${o.kind}`];
  const out: string[] = [];
  walk(found.checker, o, found.type, '', out);
  return out.map((p) => `${p}: unknown field`);
}

function walk(checker: ts.TypeChecker, value: unknown, type: ts.Type, at: string, out: string[]): void {
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
  const members = (type.isUnion() ? type.types : [type]).filter((t) => (t.flags & ts.TypeFlags.Object) !== 0 || t.isIntersection());
  if (Array.isArray(value)) {
    const arrays = members.filter((t) => checker.isArrayType(t));
    const element = arrays.length > 0 ? checker.getTypeArguments(arrays[0] as ts.TypeReference)[0] : undefined;
    if (element) value.forEach((v, i) => walk(checker, v, element, `${at}[${i}]`, out));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const objects = members.filter((t) => !checker.isArrayType(t));
  if (objects.length === 0) return;
  // `{}`: a field the CRD keeps free-form (x-kubernetes-preserve-unknown-fields).
  if (objects.some((t) => t.getProperties().length === 0 && !t.isIntersection())) return;
  for (const t of objects) {
    const mapOf = checker.getIndexTypeOfType(t, ts.IndexKind.String);
    if (mapOf) {
      for (const [k, v] of Object.entries(value)) walk(checker, v, mapOf, `${at}.${k}`, out);
      return;
    }
  }
  for (const [k, v] of Object.entries(value)) {
    const prop = objects.map((t) => t.getProperty(k)).find((p) => p !== undefined);
    if (!prop) {
      out.push(`${at}.${k}`.replace(/^\./, ''));
      continue;
    }
    walk(checker, v, checker.getNonNullableType(checker.getTypeOfSymbol(prop)), `${at}.${k}`, out);
  }
}
