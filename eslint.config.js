import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', '.vendor/', 'dist/', 'dashboards/web/vendor/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // One Kafka client behind one file (test/unit/platform/kafka-client-boundary.test.ts checks dynamic imports too).
    files: ['**/*.ts'],
    ignores: ['src/platform/kafka/platformatic-adapter.ts', 'test/integration/kafka/kafka-port.test.ts', 'test/integration/kafka/leader-move.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['kafkajs', 'kafkajs/*'], message: 'kafkajs is gone: use the Kafka port (src/platform/kafka/kafka-port.ts).' },
          { group: ['@platformatic/kafka', '@platformatic/kafka/*'], message: 'Only src/platform/kafka/platformatic-adapter.ts imports the Kafka client: use the Kafka port (kafka-port.ts).' },
        ],
      }],
    },
  },
  {
    files: ['src/platform/kafka/platformatic-adapter.ts', 'test/integration/kafka/kafka-port.test.ts', 'test/integration/kafka/leader-move.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['kafkajs', 'kafkajs/*'], message: 'kafkajs is gone: use the Kafka port.' }] }] },
  },
  {
    files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts', 'examples/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly', document: 'readonly', window: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly' } },
  },
);
