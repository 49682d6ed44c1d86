import path from 'node:path';

import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import { createTypeScriptImportResolver, defaultConditionNames } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// Every workspace runs `eslint .` from its own folder and ESLint finds this file by walking up, so
// every path below is anchored to the repository root rather than to the current directory.
const root = import.meta.dirname;
const fromRoot = (...globs) => globs.map((glob) => path.join(root, glob));

const codeFiles = ['**/*.{ts,tsx,mts,cts,js,mjs,cjs}'];
const testFiles = ['**/*.test.ts', '**/*.e2e.ts', '**/test/**'];

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '**/dist/',
    '**/.turbo/',
    '**/src/generated/',
    'test/generated/',
    '**/.next/',
    '**/.data/',
    '**/artifacts/',
    '**/coverage/',
  ]),
  {
    files: codeFiles,
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
    },
    plugins: {
      'import-x': importX,
    },
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx', '.mts', '.cts'] },
      // Resolves `./x.js` to `./x.ts` (NodeNext style) and workspace packages through the `exports`
      // of their package.json, under the `@parley/source` condition (their `src/*.ts`, as TypeScript does;
      // `default` is the build in `dist/`), each file with its own workspace tsconfig.
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          conditionNames: ['@parley/source', ...defaultConditionNames],
          alwaysTryTypes: true,
          project: fromRoot(
            'tsconfig.json',
            '{packages,subgraphs}/*/tsconfig.json',
            '{schema,router,web}/tsconfig.json',
          ),
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    rules: {
      // TypeScript checks identifiers itself; the only plain JS here is tool configuration.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      '@typescript-eslint/no-explicit-any': 'warn',
      // An unresolved import would silently escape no-extraneous-dependencies, so it is an error too.
      'import-x/no-unresolved': 'error',
      // Each workspace declares what it imports in its own package.json (the nearest one to the file).
      'import-x/no-extraneous-dependencies': [
        'error',
        {
          devDependencies: fromRoot(
            ...testFiles,
            '**/scripts/**',
            '**/*.config.{ts,js,mjs,cjs}',
            'codegen.ts',
            'packages/testkit/**',
            '**/src/testing/**',
          ),
          optionalDependencies: false,
          peerDependencies: true,
        },
      ],
    },
  },
  {
    files: testFiles,
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
