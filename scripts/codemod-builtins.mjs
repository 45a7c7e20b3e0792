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
// Idempotent: a second run changes nothing. Meant to be re-run after merging branches that add
// such imports or new type uses to converted files: `node scripts/codemod-builtins.mjs`
// (`--check` only lists the files it would change, exit 1 if any). Uses the type checker.
//
// Pass 1, per import declaration of a built-in M:
// - a name used only in type positions goes to `import type { … } from 'node:M'`;
// - a name used as a value goes to `const { … } = process.getBuiltinModule('node:M');`
//   (node:cluster's default import gets a cast: @types/node types it apart from the namespace);
// - a default or namespace import `http`: `const http = process.getBuiltinModule('node:http');`.
// Pass 2, per such const, from the file as it is (so a merge adding `http.Agent` is fixed too):
// - type uses `http.Foo` get `declare namespace http { export type Foo = import('node:http').Foo; }`
//   right after the const (type-only, emits no code), and a class used as a type gets
//   `type Socket = import('node:net').Socket;`; a generic type (`http.Server<…>`) is written
//   inline as `import('node:http').Server<…>` instead, since an alias would drop its parameters.
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
const overlay = new Map(); // file -> text after the previous pass
function makeProgram() {
  const host = ts.createCompilerHost(parsed.options);
  const readFile = host.readFile.bind(host);
  host.readFile = (f) => overlay.get(path.resolve(f)) ?? readFile(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, onError, create) => {
    const text = overlay.get(path.resolve(f));
    return text === undefined ? getSourceFile(f, lang, onError, create) : ts.createSourceFile(f, text, lang, true);
  };
  return ts.createProgram(files, parsed.options, host);
}
let program = makeProgram();
let checker = program.getTypeChecker();

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

/** Whether built-in module `spec`'s export `name` is a generic type (an alias could not carry its parameters). */
function isGenericExport(spec, name) {
  const mod = checker.getAmbientModules().find((m) => m.name === `"${spec}"`);
  const sym = mod && checker.getExportsOfModule(mod).find((e) => e.name === name);
  if (!sym) return false;
  const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
  return (target.declarations ?? []).some((d) => (d.typeParameters?.length ?? 0) > 0);
}

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
    const typeNames = []; const valueNames = []; const out = [];
    let methodNames = false;
    const whole = (id) => {
      const sym = checker.getSymbolAtLocation(id);
      const u = uses.get(sym) ?? { values: [], types: [] };
      if (u.values.length > 0) {
        // @types/node types node:cluster's default export (the cluster object, which is also
        // what require returns) apart from its namespace; the others' default is the namespace.
        const cast = ts.isImportClause(id.parent) && hasDefaultExport(d) ? ` as unknown as typeof import(${q}).default` : '';
        out.push(`const ${id.text} = process.getBuiltinModule(${q})${cast};`);
        // its type uses (`http.Server`) are declared by syncTypes (pass 2)
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
        // its type uses (a class: `s: Socket`) are declared by syncTypes (pass 2)
      }
    }
    if (typeNames.length > 0) out.push(`import type { ${typeNames.join(', ')} } from ${q};`);
    // node:path is typed as an interface whose functions are methods; they do not use `this`
    // (the ESM named import took them off the object just the same).
    if (methodNames) out.push('// eslint-disable-next-line @typescript-eslint/unbound-method -- built-in functions do not use `this`');
    if (valueNames.length > 0) out.push(`const { ${valueNames.join(', ')} } = process.getBuiltinModule(${q});`);
    edits.push({ start: d.getStart(sf), end: d.getEnd(), text: out.join('\n') });
  }
  edits.sort((a, b) => b.start - a.start);
  let result = text;
  for (const e of edits) result = result.slice(0, e.start) + e.text + result.slice(e.end);
  return result;
}

/** `process.getBuiltinModule('node:x')`, possibly under `as` casts: its specifier, else undefined. */
function builtinCall(init) {
  let e = init;
  while (e && (ts.isAsExpression(e) || ts.isParenthesizedExpression(e))) e = e.expression;
  if (!e || !ts.isCallExpression(e) || e.arguments.length !== 1 || !ts.isStringLiteral(e.arguments[0])) return undefined;
  const callee = e.expression;
  if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== 'getBuiltinModule') return undefined;
  if (!ts.isIdentifier(callee.expression) || callee.expression.text !== 'process') return undefined;
  return e.arguments[0].text;
}

const isImportType = (t) => ts.isImportTypeNode(t) && ts.isLiteralTypeNode(t.argument) && isBuiltin(t.argument.literal.text);

/**
 * Pass 2, also for files converted earlier: the type uses of each `const x = getBuiltinModule(…)`
 * (`x.Foo`) and `const { Foo } = getBuiltinModule(…)` (`Foo`) get their declarations, derived from
 * the file as it is now, so a merge that adds `http.Agent` to a converted file is fixed by a re-run:
 * `declare namespace x { export type Foo = import('node:x').Foo; … }` and `type Foo =
 * import('node:x').Foo;` right after the const; a generic type is written inline instead.
 */
function syncTypes(sf) {
  const text = sf.text;
  const wholes = new Map(); // local -> { spec, stmt }
  const named = new Map(); // local -> { spec, imported, stmt }
  for (const st of sf.statements) {
    if (!ts.isVariableStatement(st) || !(st.declarationList.flags & ts.NodeFlags.Const)) continue;
    for (const d of st.declarationList.declarations) {
      const spec = builtinCall(d.initializer);
      if (!spec) continue;
      if (ts.isIdentifier(d.name)) wholes.set(d.name.text, { spec, stmt: st });
      else if (ts.isObjectBindingPattern(d.name)) {
        for (const el of d.name.elements) {
          if (!ts.isIdentifier(el.name) || el.dotDotDotToken) continue;
          const imported = el.propertyName && ts.isIdentifier(el.propertyName) ? el.propertyName.text : el.name.text;
          named.set(el.name.text, { spec, imported, stmt: st });
        }
      }
    }
  }
  if (wholes.size === 0 && named.size === 0) return undefined;

  // The declarations an earlier run generated: removed here and written again from the uses.
  const old = [];
  for (const st of sf.statements) {
    if (ts.isModuleDeclaration(st) && ts.isIdentifier(st.name) && wholes.has(st.name.text)
      && st.modifiers?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword) && st.body && ts.isModuleBlock(st.body)
      && st.body.statements.every((m) => ts.isTypeAliasDeclaration(m) && isImportType(m.type))) old.push(st);
    if (ts.isTypeAliasDeclaration(st) && named.has(st.name.text) && !st.typeParameters && isImportType(st.type)) old.push(st);
  }
  const inOld = (n) => old.some((o) => n.pos >= o.pos && n.end <= o.end);

  const members = new Map(); // local of a whole -> Set of names
  const aliased = new Set(); // named locals used as types
  const edits = [];
  const visit = (n) => {
    if (inOld(n)) return;
    let head;
    if (ts.isTypeReferenceNode(n)) head = n.typeName;
    else if (ts.isExpressionWithTypeArguments(n) && ts.isHeritageClause(n.parent)
      && (n.parent.token === ts.SyntaxKind.ImplementsKeyword || ts.isInterfaceDeclaration(n.parent.parent))) head = n.expression;
    if (head) {
      let left = head; let right;
      while (ts.isQualifiedName(left) || ts.isPropertyAccessExpression(left)) {
        right = ts.isQualifiedName(left) ? left.right : left.name;
        left = ts.isQualifiedName(left) ? left.left : left.expression;
      }
      if (ts.isIdentifier(left)) {
        const q = (spec) => `import('${spec}')`;
        if (right && right === (ts.isQualifiedName(head) ? head.right : head.name) && wholes.has(left.text)) {
          const { spec } = wholes.get(left.text);
          if (isGenericExport(spec, right.text)) edits.push({ start: left.getStart(sf), end: left.getEnd(), text: q(spec) });
          else {
            if (!members.has(left.text)) members.set(left.text, new Set());
            members.get(left.text).add(right.text);
          }
        } else if (!right && named.has(left.text)) {
          const { spec, imported } = named.get(left.text);
          if (isGenericExport(spec, imported)) edits.push({ start: left.getStart(sf), end: left.getEnd(), text: `${q(spec)}.${imported}` });
          else aliased.add(left.text);
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(sf, visit);

  for (const o of old) {
    let end = o.getEnd();
    if (text[end] === '\n') end += 1;
    edits.push({ start: o.getStart(sf), end, text: '' });
  }
  const after = new Map(); // stmt -> lines
  const add = (stmt, line) => { if (!after.has(stmt)) after.set(stmt, []); after.get(stmt).push(line); };
  for (const [local, { spec, stmt }] of wholes) {
    const names = members.get(local);
    if (!names) continue;
    add(stmt, `declare namespace ${local} { ${[...names].sort().map((n) => `export type ${n} = import('${spec}').${n};`).join(' ')} }`);
  }
  for (const [local, { spec, imported, stmt }] of named) {
    if (aliased.has(local)) add(stmt, `type ${local} = import('${spec}').${imported};`);
  }
  for (const [stmt, lines] of after) edits.push({ start: stmt.getEnd(), end: stmt.getEnd(), text: `\n${lines.join('\n')}`, after: true });
  // Deletions and insertions at one place: the insertion (after the const) goes first in the text.
  edits.sort((a, b) => b.start - a.start || (a.after ? 1 : -1));
  let result = text;
  for (const e of edits) result = result.slice(0, e.start) + e.text + result.slice(e.end);
  return result;
}

const changed = new Set();
for (const pass of [transform, syncTypes]) {
  if (pass === syncTypes) { program = makeProgram(); checker = program.getTypeChecker(); }
  for (const f of files) {
    const sf = program.getSourceFile(f);
    const next = sf && pass(sf);
    if (next === undefined || next === sf.text) continue;
    overlay.set(path.resolve(f), next);
  }
}
for (const [f, text] of overlay) {
  if (text === fs.readFileSync(f, 'utf8')) continue;
  changed.add(f);
  console.log(path.relative(root, f));
  if (!checkOnly) fs.writeFileSync(f, text);
}
console.log(`${changed.size} file(s) ${checkOnly ? 'would change' : 'changed'}`);
if (checkOnly && changed.size > 0) process.exitCode = 1;
