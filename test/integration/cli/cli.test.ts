import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, freshTopics, produceTo, testBrokers, testPort, uniqueName } from '../../helpers/kafka.ts';

const BIN = join(import.meta.dirname, '../../../bin/actionpulse.mjs');
const HIDE = join(import.meta.dirname, '../../helpers/hide-packages.mjs');

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, LOG_LEVEL: 'error', ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('actionpulse CLI', { timeout: 300_000 }, () => {
  it('lists its commands, and refuses unknown ones with exit code 2', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const name of ['start', 'doctor', 'dlq', 'replay', 'kafka']) expect(help.stdout).toContain(name);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });

  it('fails fast on an invalid setting, naming it', async () => {
    const r = await cli(['dlq', 'inspect'], { KAFKA_PARTITIONS: 'many' });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('KAFKA_PARTITIONS');
  });

  it('rejects bad options with a usage error', async () => {
    const r = await cli(['replay', '--from', 'yesterday-ish', '--sink', 'clickhouse'], { KAFKA_BROKERS: testBrokers().join(',') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a time');
  });

  it('doctor says exactly which part is broken and how to fix it', async () => {
    const r = await cli(['doctor'], { KAFKA_BROKERS: '127.0.0.1:1', ACTIONPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'ap-doctor-')) });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ kafka\s+KAFKA_BROKERS=127\.0\.0\.1:1 unreachable/);
    expect(r.stdout).toContain('→ check the broker addresses');
    expect(r.stdout).toMatch(/✓ clickhouse\s+embedded chDB/);
  });

  it('dlq inspect reads the dead-letter topic of the configured cluster', async () => {
    const kafka = await testPort();
    const { events, dlq } = await freshTopics(kafka, 1);
    await produceTo(kafka, dlq, [{ value: '{oops', headers: { dlq_reason: 'invalid_json', dlq_source: 'consumer:clickhouse' } }]);
    await kafka.close();
    const r = await cli(['dlq', 'inspect'], { KAFKA_BROKERS: testBrokers().join(','), KAFKA_EVENTS_TOPIC: events, KAFKA_DLQ_TOPIC: dlq });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 dead-lettered message(s)');
    expect(r.stdout).toMatch(/invalid_json\s+1/);
  });
});

/** An operator error is one line that says what to do: no stack frames. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0];
}

describe('actionpulse CLI: honest answers', { timeout: 300_000 }, () => {
  it('without a command: the usage on stderr and exit 2; a usage error shows the command help on stderr', async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('Usage: actionpulse <command>');
    const bad = await cli(['silence', 'add', '--for', '2h']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('--match KEY=VALUE');
    expect(bad.stderr).toContain('actionpulse silence add --match');
  });

  it('replay --sink alerts is refused with exit 2 and the reason', async () => {
    const r = await cli(['replay', '--from', '2h', '--sink', 'alerts']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/not supported: the alert evaluator .* rebuilds its windows from Kafka by event time/);
  });

  it('replay --sink mixpanel rewinds the group named by MIXPANEL_CONSUMER_GROUP', async () => {
    const kafka = await testPort();
    const { events, dlq } = await freshTopics(kafka, 2);
    const group = uniqueName('mp-group');
    const r = await cli(['replay', '--from', '1h', '--sink', 'mixpanel'], { KAFKA_BROKERS: testBrokers().join(','), KAFKA_EVENTS_TOPIC: events, KAFKA_DLQ_TOPIC: dlq, MIXPANEL_CONSUMER_GROUP: group });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`group ${group} rewound to`);
    const admin = kafka.admin();
    const offsets = await admin.committedOffsets(group, events).finally(() => admin.close());
    await kafka.close();
    expect(offsets.map((p) => p.partition).sort()).toEqual([0, 1]);
    expect(offsets.every((p) => p.offset >= 0n)).toBe(true);
  });

  it('an operator command with the service not running: one line saying how to fix it, exit 69', async () => {
    const port = await freePort();
    const r = await cli(['registry', 'list'], { ACTIONPULSE_URL: `http://127.0.0.1:${port}`, ADMIN_TOKEN: 'some-admin-token-0123456789' });
    expect(r.code).toBe(69);
    expect(oneLine(r.stderr)).toMatch(new RegExp(`cannot reach the Actionpulse service at http://127\\.0\\.0\\.1:${port} .*start it with \`npm start\`, or set ACTIONPULSE_URL`));
  });

  it('an operator command without an admin token: one line saying where to get one, exit 78', async () => {
    const port = await freePort();
    const r = await cli(['silence', 'list'], { ACTIONPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'ap-notoken-')), ADMIN_TOKEN: '', ACTIONPULSE_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(78);
    expect(oneLine(r.stderr)).toMatch(/no admin token: set ADMIN_TOKEN/);
  });

  it('doctor exits 78 on an invalid setting, like every other command', async () => {
    const r = await cli(['doctor'], { KAFKA_SASL_MECHANISM: 'plain' });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('KAFKA_SASL_USERNAME');
  });

  it('every command reports every bad setting at once: one line each with why and an example, on stderr, no stack trace, exit 78', async () => {
    const bad = { KAFKA_PARTITIONS: 'many', HTTP_PORT: 'http', LOG_LEVEL: 'verbose', ALERT_WEBHOOK_URL: 'https://hooks.example.com/x', ADMIN_TOKEN: 'short' };
    const named = ['KAFKA_PARTITIONS', 'HTTP_PORT', 'LOG_LEVEL', 'ALERT_WEBHOOK_SECRET', 'ADMIN_TOKEN'];
    const commands = [
      ['start', '--duration', '1'],
      ['doctor'],
      ['smoke'],
      ['dlq', 'inspect'],
      ['replay', '--from', '2h', '--sink', 'clickhouse'],
      ['registry', 'list'],
      ['silence', 'list'],
      ['report', '--week'],
      ['kafka', 'start'],
    ];
    for (const args of commands) {
      const r = await cli(args, { ...bad, ACTIONPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'ap-allbad-')) });
      expect(r.code, args.join(' ')).toBe(78);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr).not.toMatch(/^\s+at /m);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toBe(`actionpulse ${args[0]}: Invalid configuration (${named.length} problems):`);
      expect(lines.slice(1).map((l) => /^ {2}- ([A-Z_0-9]+) \(/.exec(l)?.[1]).sort()).toEqual([...named].sort());
      for (const line of lines.slice(1)) expect(line).toMatch(/^ {2}- ([A-Z_0-9]+) \([A-Za-z.]+\): .{4,}; e\.g\. \1=.+$/);
    }
  });

  it('a package left out of the install: one line naming it and the command that installs it, no stack trace, exit 78', async () => {
    // test/helpers/hide-packages.mjs makes the packages unresolvable, as an install without them would.
    const hidden = (pkg: string, args: string[], env: Record<string, string>) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, ['--import', HIDE, BIN, ...args], { env: { ...process.env, LOG_LEVEL: 'silent', HIDE_PACKAGES: pkg, ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        });
      });
    const dlq = await hidden('@platformatic/kafka', ['dlq', 'inspect'], { KAFKA_BROKERS: testBrokers().join(',') });
    expect(dlq.code).toBe(78);
    expect(dlq.stderr).not.toMatch(/^\s+at /m);
    expect(dlq.stderr.trim().split('\n')).toEqual([
      'actionpulse dlq: Invalid configuration (1 problem):',
      expect.stringMatching(/^ {2}- package @platformatic\/kafka: not installed; actionpulse dlq needs it; e\.g\. npm install '@platformatic\/kafka@.+'$/),
    ]);
    // The embedded ClickHouse without chdb (npm install --omit=optional): found when the engine loads, one line.
    const start = await hidden('chdb', ['start', '--only', 'clickhouse,http', '--quiet'], {
      KAFKA_BROKERS: testBrokers().join(','),
      KAFKA_EVENTS_TOPIC: uniqueName('nochdb-events'),
      KAFKA_DLQ_TOPIC: uniqueName('nochdb-dlq'),
      ACTIONPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'ap-nochdb-')),
      HTTP_PORT: '0',
    });
    expect(start.code).toBe(78);
    expect(start.stderr).not.toMatch(/^\s+at /m);
    expect(start.stderr.trim().split('\n')).toEqual(['actionpulse start: Invalid configuration (1 problem):', expect.stringMatching(/^ {2}- package chdb: not installed; actionpulse start needs it; e\.g\. npm install 'chdb@.+'$/)]);
  });

  it('a cross-field rule fails before anything starts, naming the setting, exit 78', async () => {
    const r = await cli(['start', '--duration', '1'], { ALERT_WEBHOOK_URL: 'https://hooks.example.com/x', ACTIONPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'ap-xfield-')) });
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ALERT_WEBHOOK_SECRET (alerts.webhookSecret): required with ALERT_WEBHOOK_URL');
  });
});

