import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { testBrokers, uniqueName } from '../../helpers/kafka.ts';

/**
 * A process loads what its components use. Each case runs in its own Node process with a module tracer
 * preloaded (test/helpers/module-trace.mjs: ES modules through a resolve hook, CommonJS from require.cache)
 * and asserts on the list of modules that process loaded.
 */
const ROOT = join(import.meta.dirname, '../../..');
const TRACER = join(ROOT, 'test/helpers/module-trace.mjs');

async function traceModules(args: string[], env: Record<string, string>): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ap-modules-'));
  const file = join(dir, 'modules.txt');
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', TRACER, ...args], {
    cwd: ROOT,
    env: { ...process.env, ACTIONPULSE_DATA_DIR: dir, MODULE_TRACE_FILE: file, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

/** Loaded modules matching any pattern: what the process must not have loaded. */
function loaded(modules: string[], patterns: RegExp[]): string[] {
  return [...new Set(modules.filter((m) => patterns.some((p) => p.test(m))))];
}

const CHDB = /node_modules\/chdb\//;
// consumer-lag (Kafka admin) and dashboard-links (URL building) live in the clickhouse folder but use neither.
const CLICKHOUSE = [CHDB, /node_modules\/@clickhouse\//, /src\/consumers\/clickhouse\/(?!consumer-lag|dashboard-links)/, /src\/platform\/clickhouse-client/];
const DEMO = [/src\/demo\//, /src\/simulators\//, /src\/workload\//];

function startOnly(component: string, env: Record<string, string> = {}): Promise<string[]> {
  return traceModules(['src/cli/main.ts', 'start', '--only', component, '--duration', '1', '--quiet'], {
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_EVENTS_TOPIC: uniqueName('modules-events'),
    KAFKA_DLQ_TOPIC: uniqueName('modules-dlq'),
    KAFKA_PARTITIONS: '1',
    ...env,
  });
}

describe('what each process loads', () => {
  it('start --only mixpanel (with Mixpanel credentials) loads no ClickHouse, chDB, simulator or demo module', { timeout: 120_000 }, async () => {
    const modules = await startOnly('mixpanel', { MIXPANEL_API_SECRET: 'secret', MIXPANEL_API_HOST: 'http://127.0.0.1:9' });
    expect(modules.some((m) => m.includes('src/consumers/mixpanel/mixpanel-consumer.ts'))).toBe(true);
    expect(loaded(modules, [...CLICKHOUSE, ...DEMO])).toEqual([]);
  });

  it('start --only mixpanel without credentials adds only the local Mixpanel recorder, still no ClickHouse or demo', { timeout: 120_000 }, async () => {
    const modules = await startOnly('mixpanel');
    expect(modules.some((m) => m.includes('src/simulators/mixpanel-recorder.ts'))).toBe(true);
    expect(loaded(modules, [...CLICKHOUSE, /src\/demo\//, /src\/simulators\/qontak-crm/, /src\/workload\//])).toEqual([]);
  });

  it('start --only alerts loads no ClickHouse, chDB, simulator or demo module', { timeout: 180_000 }, async () => {
    // The registry on the suite's PostgreSQL, in a schema of its own (several processes share PostgreSQL).
    const base = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const schema = uniqueName('modules').replace(/-/g, '_');
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.end();
    const url = new URL(base);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const modules = await startOnly('alerts', { DATABASE_URL: url.toString() });
    expect(modules.some((m) => m.includes('src/consumers/alerts/alert-evaluator.ts'))).toBe(true);
    expect(loaded(modules, [...CLICKHOUSE, ...DEMO])).toEqual([]);
  });

  it('a ClickHouse client for a server URL does not load chDB; an embedded one does', { timeout: 120_000 }, async () => {
    const script = (url: string) =>
      `import { createClickhouse } from './src/platform/clickhouse-client.ts'; const c = createClickhouse({ ${url} dataDir: process.env.ACTIONPULSE_DATA_DIR }); await c.close();`;
    const server = await traceModules(['--input-type=module', '-e', script(`url: 'http://127.0.0.1:8123',`)], {});
    expect(server.some((m) => m.includes('node_modules/@clickhouse/client/'))).toBe(true);
    expect(loaded(server, [CHDB])).toEqual([]);
    const embedded = await traceModules(['--input-type=module', '-e', script('')], {});
    expect(loaded(embedded, [CHDB]).length).toBeGreaterThan(0);
  });
});
