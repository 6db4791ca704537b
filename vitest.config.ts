import { configDefaults, defineConfig } from 'vitest/config';

// The three-broker failover run (test/integration/cluster) starts a Kafka cluster and several pipeline processes for
// tens of minutes on two cores: it runs with `npm run test:cluster`, not inside `npm test`.
const clusterTests = process.env.ACTIONPULSE_CLUSTER_TESTS === '1';

// Forks, not threads: the embedded ClickHouse engine binds one data folder per process,
// and integration tests talk to one real broker, so each file gets its own process.
export default defineConfig({
  test: {
    pool: 'forks',
    include: clusterTests ? ['test/integration/cluster/**/*.test.ts'] : ['test/**/*.test.ts'],
    exclude: clusterTests ? configDefaults.exclude : [...configDefaults.exclude, 'test/integration/cluster/**'],
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
