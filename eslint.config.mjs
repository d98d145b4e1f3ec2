// Lint: typescript-eslint's recommended rules, plus the layering rule of the house style:
// core/, the backends and object storage never import `vscode`, so they run (and are tested) in plain Node.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.modelarts-editor/**', 'webview-ui/dist/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/core/**/*.ts', 'src/backends/**/*.ts', 'src/storage/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'vscode', message: 'core/, backends/ and storage/ must not depend on VS Code: keep them testable in plain Node.' }],
          patterns: [{ group: ['**/commands/**', '**/views/**', '**/logs/**', '**/panels/**', '**/debug/**', '**/extension', '**/services', '**/settings', '**/api'], message: 'Imports point down only: core, backends and storage never reach into the UI layer.' }],
        },
      ],
    },
  },
);
