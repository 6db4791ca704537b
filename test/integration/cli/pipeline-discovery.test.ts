import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverPipelines } from '../../../src/cli/pipeline-discovery.ts';
import { testBrokers, uniqueName, waitFor } from '../../helpers/kafka.ts';

const BIN = resolve('bin/actionpulse.mjs');
const SERVICE = resolve('test/integration/cli/fixtures/announced-service.ts');
const ADMIN_TOKEN = 'discovery-test-token-0123456789';

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base.ACTIONPULSE_URL;
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...base, ADMIN_TOKEN, LOG_LEVEL: 'error', ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

interface Service {
  child: ChildProcess;
  url: string;
  /** Everything the service printed: `ready <url>`, then one `request <method> <path>` per request. */
  output: () => string;
}

const started: ChildProcess[] = [];
afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
});

function service(dataDir: string, name: string): Promise<Service> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVICE, dataDir, name], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  let out = '';
  return new Promise((ready, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /^ready (\S+)$/m.exec(out);
      if (m) ready({ child, url: m[1], output: () => out });
    });
    child.once('exit', (code) => fail(new Error(`service ${name} exited ${code} before it was ready`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

/** One line, no stack frames. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe('which pipeline the operator commands act on', { timeout: 240_000 }, () => {
  it('two announced pipelines: refuses (exit 78) naming both; ACTIONPULSE_URL picks one; a killed one is ignored; none: one line how to point it (exit 69)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ap-discovery-'));
    const env = { ACTIONPULSE_DATA_DIR: dataDir };
    const [a, b] = await Promise.all([service(dataDir, 'pipeline-a'), service(dataDir, 'pipeline-b')]);

    const both = await cli(['registry', 'list'], env);
    expect(both.code).toBe(78);
    expect(both.stdout).toBe('');
    const line = oneLine(both.stderr);
    expect(line).toMatch(/^actionpulse registry: 2 Actionpulse pipelines are running \(.*\): set ACTIONPULSE_URL to the one to act on$/);
    expect(line).toContain(a.url);
    expect(line).toContain(b.url);
    // It asked neither of them anything.
    expect(a.output()).not.toContain('request');
    expect(b.output()).not.toContain('request');

    const explicit = await cli(['registry', 'list'], { ...env, ACTIONPULSE_URL: b.url });
    expect(explicit.code).toBe(0);
    expect(explicit.stdout).toContain('pipeline-b');
    expect(b.output()).toContain('request GET /v1/registries');
    expect(a.output()).not.toContain('request');

    // Killed without a chance to clean up: its announcement stays behind, and is ignored.
    a.child.kill('SIGKILL');
    await exited(a.child);
    expect(readdirSync(join(dataDir, 'run'))).toContain(`pipeline-${a.child.pid}.json`);
    const one = await cli(['registry', 'list'], env);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('pipeline-b');
    expect(one.stderr).toBe('');

    // Stopped cleanly: it removes its announcement; with no pipeline left the command says how to point it.
    b.child.kill('SIGTERM');
    await exited(b.child);
    expect(existsSync(join(dataDir, 'run', `pipeline-${b.child.pid}.json`))).toBe(false);
    const none = await cli(['silence', 'list'], env);
    expect(none.code).toBe(69);
    expect(oneLine(none.stderr)).toMatch(/^actionpulse silence: no running Actionpulse pipeline announced in .*: start one with `npx actionpulse start` .*, or set ACTIONPULSE_URL to the service, e\.g\. ACTIONPULSE_URL=http:\/\/127\.0\.0\.1:8080$/);
  });

  it('a leftover announcement whose process is gone and an unreadable file are no candidates: one line how to point it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ap-discovery-none-'));
    // A leftover announcement of a process that is gone, and one that is not an announcement at all.
    mkdirSync(join(dataDir, 'run'));
    writeFileSync(join(dataDir, 'run', 'pipeline-999999999.json'), JSON.stringify({ url: 'http://127.0.0.1:8080', pid: 999_999_999, startedAt: '2026-12-01T00:00:00Z' }));
    writeFileSync(join(dataDir, 'run', 'pipeline-1.json'), '{ half a fi');
    const r = await cli(['report', '--week'], { ACTIONPULSE_DATA_DIR: dataDir });
    expect(r.code).toBe(69);
    expect(oneLine(r.stderr)).toMatch(/no running Actionpulse pipeline announced/);
  });

  it('`actionpulse start` announces itself while it runs: an operator command finds it without ACTIONPULSE_URL', { timeout: 600_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ap-discovery-start-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ACTIONPULSE_DATA_DIR: dataDir,
      KAFKA_BROKERS: testBrokers().join(','),
      KAFKA_EVENTS_TOPIC: uniqueName('disc-events'),
      KAFKA_DLQ_TOPIC: uniqueName('disc-dlq'),
      KAFKA_PARTITIONS: '1',
      HTTP_PORT: '0',
      ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
    };
    delete env.ACTIONPULSE_URL;
    const pipeline = spawn(process.execPath, [BIN, 'start', '--only', 'clickhouse,http', '--quiet'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    started.push(pipeline);
    // Embedded ClickHouse, the registry database and migrations: minutes on a loaded two-core machine.
    const [announced] = await waitFor(() => (discoverPipelines(dataDir).length ? discoverPipelines(dataDir) : undefined), { timeoutMs: 480_000, intervalMs: 500, what: 'the announcement' });
    expect(announced.pid).toBe(pipeline.pid);
    const list = await cli(['registry', 'list'], { ACTIONPULSE_DATA_DIR: dataDir });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/enabled\s+qontak_crm_deal_create/);
    pipeline.kill('SIGTERM');
    await exited(pipeline);
    expect(discoverPipelines(dataDir)).toEqual([]);
    expect(readdirSync(join(dataDir, 'run'))).toEqual([]);
  });
});
