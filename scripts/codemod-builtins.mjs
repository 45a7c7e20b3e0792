#!/usr/bin/env node
// Codemod: value imports of Node built-ins in src/ and filters/ become
// `process.getBuiltinModule('node:x')`; type-only uses stay `import type`.
//
// Why: an ESM import of a built-in (`import http from 'node:http'`, anywhere in the process)
// makes Node build its ESM facade, which reads every export including lazy getters, so
// `node:http` alone loads ~98 built-ins (its bundled undici for `http.WebSocket`, perf_hooks,
// worker_threads, ...) where `require`/`getBuiltinModule` loads 13. See docs/performance.md
// (session 6, memory). `eslint.config.js` rejects new value imports of built-ins there.
//
// Idempotent: a second run finds no value import of a built-in and changes nothing. Meant to be
// re-run after merging branches that add such imports: `node scripts/codemod-builtins.mjs`
// (`--check` only lists the files it would change, exit 1 if any).
//
// Per import declaration of a built-in M:
// - a name used only in type positions goes to `import type { … } from 'node:M'`;
// - a name used as a value goes to `const { … } = process.getBuiltinModule('node:M');`;
// - a name used as both (a class): the const, plus `type X = import('node:M').X;` when the
//   class is not generic, else each type use is rewritten to `import('node:M').X<…>`;
// - a default or namespace import `http`: `const http = process.getBuiltinModule('node:http');`
//   and its type uses `http.Foo` become `import('node:http').Foo`.
import { isBuiltin } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '..');
const dirs = ['src', 'filters'].map((d) => path.join(root, d) + path.sep);
const checkOnly = process.argv.includes('--check');

const configPath = path.join(root, 'tsconfig.json');
const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, root);
const files = parsed.fileNames.filter((f) => dirs.some((d) => f.startsWith(d)) && f.endsWith('.ts'));
const program = ts.createProgram(files, parsed.options);
const checker = program.getTypeChecker();

// The identifier (or qualified name it heads) stands in a type position that means a type.
function typeUse(id) {
  let n = id;
  while (ts.isQualifiedName(n.parent) && n.parent.left === n) n = n.parent;
  if (ts.isTypeReferenceNode(n.parent) && n.parent.typeName === n) return n;
  let e = id;
  while (ts.isPropertyAccessExpression(e.parent) && e.parent.expression === e) e = e.parent;
  if (ts.isExpressionWithTypeArguments(e.parent) && e.parent.expression === e) {
    const clause = e.parent.parent;
    if (ts.isHeritageClause(clause)) {
      if (clause.token === ts.SyntaxKind.ImplementsKeyword) return e;
      if (ts.isInterfaceDeclaration(clause.parent)) return e;
    }
  }
  return undefined;
}

function isGenericTarget(symbol) {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  return (target.declarations ?? []).some((d) => (d.typeParameters?.length ?? 0) > 0);
}
const isGeneric = isGenericTarget;

function isMethod(aliasSymbol) {
  const target = checker.getAliasedSymbol(aliasSymbol);
  return (target.declarations ?? []).some((d) => ts.isMethodSignature(d) || ts.isMethodDeclaration(d));
}

function hasDefaultExport(decl) {
  const mod = checker.getSymbolAtLocation(decl.moduleSpecifier);
  return mod !== undefined && checker.getExportsOfModule(mod).some((e) => e.escapedName === 'default');
}

function transform(sf) {
  const text = sf.text;
  const decls = sf.statements.filter((s) => ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier)
    && isBuiltin(s.moduleSpecifier.text) && !s.importClause?.isTypeOnly && s.importClause);
  if (decls.length === 0) return undefined;

  // Every identifier in the file that resolves to one of these imports' local symbols.
  const uses = new Map(); // symbol -> { values: Identifier[], types: Node[] }
  const locals = new Map(); // symbol -> true
  for (const d of decls) {
    const c = d.importClause;
    const ids = [];
    if (c.name) ids.push(c.name);
    if (c.namedBindings) {
      if (ts.isNamespaceImport(c.namedBindings)) ids.push(c.namedBindings.name);
      else for (const s of c.namedBindings.elements) if (!s.isTypeOnly) ids.push(s.name);
    }
    for (const id of ids) {
      const sym = checker.getSymbolAtLocation(id);
      if (sym) { locals.set(sym, true); uses.set(sym, { values: [], types: [] }); }
    }
  }
  const visit = (n) => {
    if (ts.isImportDeclaration(n)) return;
    if (ts.isIdentifier(n)) {
      let sym = checker.getSymbolAtLocation(n);
      if (sym && ts.isShorthandPropertyAssignment(n.parent) && n.parent.name === n) {
        sym = checker.getShorthandAssignmentValueSymbol(n.parent);
      }
      if (sym && locals.has(sym)) {
        const t = typeUse(n);
        if (t) uses.get(sym).types.push(n);
        else uses.get(sym).values.push(n);
      }
    }
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(sf, visit);

  const edits = []; // { start, end, text }
  for (const d of decls) {
    const spec = d.moduleSpecifier.text.startsWith('node:') ? d.moduleSpecifier.text : `node:${d.moduleSpecifier.text}`;
    const q = `'${spec}'`;
    const c = d.importClause;
    const typeNames = []; const valueNames = []; const aliases = []; const out = [];
    let methodNames = false;
    const whole = (id) => {
      const sym = checker.getSymbolAtLocation(id);
      const u = uses.get(sym) ?? { values: [], types: [] };
      if (u.values.length > 0) {
        // @types/node types node:cluster's default export (the cluster object, which is also
        // what require returns) apart from its namespace; the others' default is the namespace.
        const cast = ts.isImportClause(id.parent) && hasDefaultExport(d) ? ` as unknown as typeof import(${q}).default` : '';
        out.push(`const ${id.text} = process.getBuiltinModule(${q})${cast};`);
        // Type uses `http.Foo` keep their text: a type-only namespace merged with the const
        // names each non-generic type; a generic one (`http.Server<…>`) is written inline.
        const names = new Set();
        for (const t of u.types) {
          const right = ts.isQualifiedName(t.parent) ? t.parent.right : undefined;
          const sym = right && checker.getSymbolAtLocation(right);
          if (right && sym && !isGenericTarget(sym)) names.add(right.text);
          else edits.push({ start: t.getStart(sf), end: t.getEnd(), text: `import(${q})` });
        }
        if (names.size > 0) {
          const members = [...names].sort().map((n) => `export type ${n} = import(${q}).${n};`).join(' ');
          out.push(`declare namespace ${id.text} { ${members} }`);
        }
      } else {
        out.push(ts.isNamespaceImport(id.parent) ? `import type * as ${id.text} from ${q};` : `import type ${id.text} from ${q};`);
      }
    };
    if (c.name) whole(c.name);
    if (c.namedBindings && ts.isNamespaceImport(c.namedBindings)) whole(c.namedBindings.name);
    if (c.namedBindings && ts.isNamedImports(c.namedBindings)) {
      for (const s of c.namedBindings.elements) {
        const imported = (s.propertyName ?? s.name).text;
        const local = s.name.text;
        const named = imported === local ? local : `${imported} as ${local}`;
        if (s.isTypeOnly) { typeNames.push(named); continue; }
        const sym = checker.getSymbolAtLocation(s.name);
        const u = uses.get(sym) ?? { values: [], types: [] };
        if (u.values.length === 0) { typeNames.push(named); continue; }
        valueNames.push(imported === local ? local : `${imported}: ${local}`);
        if (isMethod(sym)) methodNames = true;
        if (u.types.length === 0) continue;
        if (!isGeneric(sym)) { aliases.push(`type ${local} = import(${q}).${imported};`); continue; }
        for (const t of u.types) edits.push({ start: t.getStart(sf), end: t.getEnd(), text: `import(${q}).${imported}` });
      }
    }
    if (typeNames.length > 0) out.push(`import type { ${typeNames.join(', ')} } from ${q};`);
    // node:path is typed as an interface whose functions are methods; they do not use `this`
    // (the ESM named import took them off the object just the same).
    if (methodNames) out.push('// eslint-disable-next-line @typescript-eslint/unbound-method -- built-in functions do not use `this`');
    if (valueNames.length > 0) out.push(`const { ${valueNames.join(', ')} } = process.getBuiltinModule(${q});`);
    out.push(...aliases);
    edits.push({ start: d.getStart(sf), end: d.getEnd(), text: out.join('\n') });
  }
  edits.sort((a, b) => b.start - a.start);
  let result = text;
  for (const e of edits) result = result.slice(0, e.start) + e.text + result.slice(e.end);
  return result;
}

let changed = 0;
for (const f of files) {
  const sf = program.getSourceFile(f);
  const next = sf && transform(sf);
  if (next === undefined || next === sf.text) continue;
  changed += 1;
  console.log(path.relative(root, f));
  if (!checkOnly) fs.writeFileSync(f, next);
}
console.log(`${changed} file(s) ${checkOnly ? 'would change' : 'changed'}`);
if (checkOnly && changed > 0) process.exitCode = 1;
