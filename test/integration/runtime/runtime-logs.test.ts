import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const HOST = resolve('test/integration/runtime/fixtures/log-host.ts');
// The registry in PostgreSQL, in a schema of this file's own (PGlite would start in each host for tens of seconds).
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `rt_logs_${randomBytes(5).toString('hex')}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}
beforeAll(() => admin(`CREATE SCHEMA ${schema}`));
afterAll(() => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the host program against an unreachable Kafka (its events end in the spool, with a warning), without
 * REDIS_URL (another warning), at LOG_LEVEL=debug: the runtime has plenty to say, and none of it may reach stdout.
 */
function host(args: string[]): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ap-log-host-'));
  const env = {
    ...process.env,
    KAFKA_BROKERS: '127.0.0.1:1',
    CRM_TOKEN_ENCRYPTION_KEY: 'ab'.repeat(32),
    QONTAK_CRM_BASE_URL: 'http://127.0.0.1:1',
    ACTIONPULSE_DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    PRODUCER_SHUTDOWN_DEADLINE_MS: '500',
    DATABASE_URL: `${DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    REDIS_URL: '',
  };
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', HOST, ...args], { env, timeout: 180_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const HOST_OUTPUT = /^host: starting\nhost: result [a-z_]+\nhost: done\n$/;

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split('\n').flatMap((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return typeof value === 'object' && value !== null ? [value as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

describe('where the runtime logs', { timeout: 240_000 }, () => {
  it('by default: JSON lines on stderr; stdout holds only the host program’s own output', async () => {
    const r = await host([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(HOST_OUTPUT);
    const logs = jsonLines(r.stderr);
    expect(logs.some((l) => l.component === 'runtime' && /no REDIS_URL/.test(String(l.msg)))).toBe(true);
    expect(logs.some((l) => l.component === 'emitter' && /left in the spool/.test(String(l.msg)))).toBe(true);
  });

  it('with the host’s pino logger: the runtime logs through it, and neither stdout nor stderr gets a log line', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ap-log-host-file-')), 'host.log');
    const r = await host([file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(HOST_OUTPUT);
    expect(jsonLines(r.stderr)).toEqual([]);
    const logs = jsonLines(readFileSync(file, 'utf8'));
    // Children of the host's logger: its own bindings are on every line the runtime writes.
    expect(logs.filter((l) => l.component === 'runtime').length).toBeGreaterThanOrEqual(1);
    expect(logs.every((l) => l.host === 'log-host')).toBe(true);
    expect(logs.some((l) => /no REDIS_URL/.test(String(l.msg)))).toBe(true);
    expect(logs.some((l) => l.component === 'emitter' && /left in the spool/.test(String(l.msg)))).toBe(true);
  });
});
