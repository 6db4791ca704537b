import { defineConfig } from 'vitest/config';

// Forks, not threads: the embedded ClickHouse engine binds one data folder per process,
// and integration tests talk to one real broker, so each file gets its own process.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    globalSetup: ['test/global-setup.ts'],
    // Tests run the TypeScript sources: bin/actionpulse.mjs runs them through tsx instead of dist/.
    env: { ACTIONPULSE_FROM_SOURCE: '1' },
  },
});
