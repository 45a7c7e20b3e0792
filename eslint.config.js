// Lint rules: the type checker does most of the work; these catch what it cannot
// (floating promises on the data path, `any` leaking in, unused code).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// An ESM value import of a Node built-in makes Node evaluate its whole ESM facade (lazy getters
// included: `node:http` alone loads ~98 built-ins instead of 13), in every role. The roles'
// code takes built-ins from `process.getBuiltinModule()`; `scripts/codemod-builtins.mjs`
// converts new imports (docs/performance.md, session 6: memory).
const builtinImport = {
  allowTypeImports: true,
  message: "use `const { x } = process.getBuiltinModule('node:…')` (run `node scripts/codemod-builtins.mjs`); `import type` is fine",
};
const builtinPaths = [...new Set(builtinModules.flatMap((m) => (m.startsWith('node:') ? [m] : [m, `node:${m}`])))]
  .map((name) => ({ name, ...builtinImport }));

export default tseslint.config(
  // wasm/ holds AssemblyScript (compiled by asc, not tsc) and .wat sources.
  { ignores: ['dist/**', 'node_modules/**', 'wasm/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['src/**/*.ts', 'filters/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { paths: builtinPaths }],
      // The codemod merges a type-only `declare namespace http { … }` into `const http` so that
      // `http.Server`-style type annotations keep working; it emits no code.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
    },
  },
  {
    // node:test's describe/it return promises the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
  },
);
