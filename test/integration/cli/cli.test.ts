import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshTopics, testBrokers, testKafka } from '../../helpers/kafka.ts';

const BIN = join(import.meta.dirname, '../../../bin/actionpulse.mjs');

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, LOG_LEVEL: 'error', ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('actionpulse CLI', () => {
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
    const kafka = await testKafka();
    const { events, dlq } = await freshTopics(kafka, 1);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: dlq, messages: [{ value: '{oops', headers: { dlq_reason: 'invalid_json', dlq_source: 'consumer:clickhouse' } }] });
    await producer.disconnect();
    const r = await cli(['dlq', 'inspect'], { KAFKA_BROKERS: testBrokers().join(','), KAFKA_EVENTS_TOPIC: events, KAFKA_DLQ_TOPIC: dlq });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 dead-lettered message(s)');
    expect(r.stdout).toMatch(/invalid_json\s+1/);
  });
});
