// One tool for lint and format: ESLint with type-aware typescript-eslint rules and
// @stylistic for layout. A socket server needs no-floating-promises, so type-aware
// rules stay on.
import tseslint from 'typescript-eslint';
import stylistic from '@stylistic/eslint-plugin';

const socketAndHttp = ['node:net', 'node:tls', 'node:http', 'node:https', 'ws', 'express', 'pino', 'node:fs', 'node:fs/promises'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-artifacts/**', 'bench/results/**', 'bench/*.mjs', 'bench/lib/**', '.build/**'] },
  ...tseslint.configs.strictTypeChecked,
  stylistic.configs.customize({ indent: 2, quotes: 'single', semi: true, braceStyle: '1tbs', arrowParens: false }),
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@stylistic/max-len': ['error', { code: 140, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreComments: true }],
      '@stylistic/operator-linebreak': 'off',
      '@stylistic/multiline-ternary': 'off',
      '@stylistic/quote-props': ['error', 'as-needed'],
    },
  },
  {
    // Pure modules: protocol parsing and policy decisions never touch sockets, files or loggers.
    files: ['gateway/src/rfb/**/*.ts', 'policies/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: socketAndHttp.map(name => ({ name, message: 'pure module: no I/O here' })) }] },
  },
  {
    files: ['**/*.test.ts', 'e2e/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] }],
    },
  },
  {
    files: ['**/*.js', 'scripts/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
