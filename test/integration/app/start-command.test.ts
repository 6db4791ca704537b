import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testBrokers, uniqueName, waitFor } from '../../helpers/kafka.ts';

const BIN = join(import.meta.dirname, '../../../bin/actionpulse.mjs');

/**
 * The README's first command, in its short bounded mode: the whole pipeline with the demo agent runtime,
 * against the suite's broker (fresh topics) and a fresh data folder. While it runs, the dashboard API must
 * answer with real, non-zero numbers; then it must stop by itself, cleanly.
 */
describe('actionpulse start (bounded)', () => {
  it('runs the pipeline with the demo workload; the dashboard API fills with non-zero numbers; it stops cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ap-start-'));
    const child = spawn(process.execPath, [BIN, 'start', '--duration', '45'], {
      env: {
        ...process.env,
        ACTIONPULSE_DATA_DIR: dataDir,
        KAFKA_BROKERS: testBrokers().join(','),
        KAFKA_EVENTS_TOPIC: uniqueName('start-events'),
        KAFKA_DLQ_TOPIC: uniqueName('start-dlq'),
        KAFKA_PARTITIONS: '3',
        ACTIONPULSE_DEMO: 'on',
        DEMO_CALLS_PER_SECOND: '25',
        HTTP_PORT: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await waitFor(() => /Dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1], { timeoutMs: 300_000, what: `the dashboard URL (stderr: ${stderr.slice(-500)})` });
      const overview = await waitFor(
        async () => {
          // Up to now: without `to` the API ends at the current minute, and a short run can lie inside one minute.
          const res = await fetch(`${url}/api/overview?to=${Date.now()}`).catch(() => undefined);
          if (!res?.ok) return undefined;
          const body = (await res.json()) as { success_rate?: { executed: number; failed: number }; adoption?: { active_agents: number; adopting_agents: number } };
          return (body.success_rate?.executed ?? 0) > 0 && (body.adoption?.active_agents ?? 0) > 0 ? body : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000, what: 'non-zero numbers on /api/overview' },
      );
      expect(overview.success_rate!.executed).toBeGreaterThan(0);
      expect(overview.adoption!.adopting_agents).toBeGreaterThan(0);
      expect(overview.adoption!.adopting_agents).toBeLessThanOrEqual(overview.adoption!.active_agents);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      // The evaluator's own figures, the too-late count among them, are on the same endpoint once it leads.
      const metrics = await waitFor(
        async () => {
          const text = await (await fetch(`${url}/metrics`)).text();
          return /^actionpulse_alerts_events_total(\{[^}]*\})? [1-9]\d*/m.test(text) ? text : undefined;
        },
        { timeoutMs: 120_000, what: 'the alert evaluator counting events on /metrics' },
      );
      expect(metrics).toContain('actionpulse_emitter');
      expect(metrics).toMatch(/^actionpulse_alerts_late_events_total(\{[^}]*\})? \d+/m);
      expect(await exited).toBe(0);
      expect(stdout).toContain('stopped cleanly.');
      expect(stdout).toMatch(/written (\S+=\d+ )*clickhouse=[1-9]\d*/);
      expect(stdout).toMatch(/written (\S+=\d+ )*mixpanel=[1-9]\d*/);
    } finally {
      child.kill('SIGKILL');
    }
  }, 600_000);
});
