import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type Pipeline } from '../../../src/app/pipeline.ts';
import { buildEvent } from '../../../src/events/index.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { testBrokers, uniqueName, waitFor } from '../../helpers/kafka.ts';

const BIN = join(import.meta.dirname, '../../../bin/actionpulse.mjs');
const ADMIN_TOKEN = 'operator-test-token-0123456789';
let pipeline: Pipeline;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ACTIONPULSE_URL: pipeline.http!.url, ADMIN_TOKEN, LOG_LEVEL: 'error', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  const config = loadConfig({
    ACTIONPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'ap-operator-')),
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_EVENTS_TOPIC: uniqueName('op-events'),
    KAFKA_DLQ_TOPIC: uniqueName('op-dlq'),
    KAFKA_PARTITIONS: '2',
    HTTP_PORT: '0',
    ADMIN_TOKEN,
  });
  pipeline = await startPipeline(config, silentLogger, { components: new Set(['clickhouse', 'http']) });
  // Embedded ClickHouse, migrations and the consumer group: minutes on a loaded two-core machine.
}, 360_000);

afterAll(async () => {
  await pipeline?.stop();
});

describe('operator commands through the admin API', () => {
  it('registry disable / list / audit / enable, with a reason required and the audit trail written', async () => {
    const noReason = await cli(['registry', 'disable', 'qontak_chat_room_tag']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason is required');

    const off = await cli(['registry', 'disable', 'qontak_chat_room_tag', '--reason', 'tag worker backlog', '--actor', 'dina']);
    expect(off.code).toBe(0);
    const list = await cli(['registry', 'list']);
    expect(list.stdout).toMatch(/DISABLED\s+qontak_chat_room_tag\s+global\s+admin:dina — tag worker backlog/);
    expect(list.stdout).toMatch(/enabled\s+qontak_crm_deal_create\s+global/);
    const [row] = await pipeline.db!.query<{ enabled: boolean }>(`SELECT enabled FROM node_registries WHERE node_type = 'qontak_chat_room_tag'`);
    expect(row.enabled).toBe(false);

    const on = await cli(['registry', 'enable', 'qontak_chat_room_tag', '--reason', 'backlog drained', '--actor', 'dina']);
    expect(on.code).toBe(0);
    const audit = await cli(['registry', 'audit', 'qontak_chat_room_tag']);
    expect(audit.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\S+\s+/, '').replace(/ +/g, ' '))).toEqual([
      'enable global by admin:dina: backlog drained',
      'disable global by admin:dina: tag worker backlog',
    ]);
    const unknown = await cli(['registry', 'enable', 'qontak_fax_send', '--reason', 'x y z']);
    expect(unknown.code).toBe(2);
  });

  it('registry disable / enable --organization switches the action for that organization only, shown with its scope', async () => {
    const badOrg = await cli(['registry', 'disable', 'qontak_crm_deal_update', '--organization', 'bad org', '--reason', 'x y z']);
    expect(badOrg.code).toBe(2);
    const off = await cli(['registry', 'disable', 'qontak_crm_deal_update', '--organization', 'org-acme', '--reason', 'token not refreshing', '--actor', 'cs']);
    expect(off.code).toBe(0);
    expect(off.stdout).toContain('qontak_crm_deal_update disabled for organization org-acme by admin:cs');
    const [global] = await pipeline.db!.query<{ enabled: boolean }>(`SELECT enabled FROM node_registries WHERE node_type = 'qontak_crm_deal_update'`);
    expect(global.enabled).toBe(true);
    const list = await cli(['registry', 'list']);
    expect(list.stdout).toMatch(/enabled\s+qontak_crm_deal_update\s+global/);
    expect(list.stdout).toMatch(/DISABLED\s+qontak_crm_deal_update\s+org org-acme\s+admin:cs — token not refreshing \(since \d{4}-\d{2}-\d{2}T/);
    const on = await cli(['registry', 'enable', 'qontak_crm_deal_update', '--organization', 'org-acme', '--reason', 'token fixed', '--actor', 'cs']);
    expect(on.code).toBe(0);
    expect((await cli(['registry', 'list'])).stdout).not.toMatch(/org-acme/);
    const audit = await cli(['registry', 'audit', 'qontak_crm_deal_update']);
    expect(audit.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\S+\s+/, '').replace(/ +/g, ' '))).toEqual([
      'enable org org-acme by admin:cs: token fixed',
      'disable org org-acme by admin:cs: token not refreshing',
    ]);
  });

  it('refuses a wrong admin token without changing anything: one line saying which token to set, exit 78', async () => {
    const r = await cli(['registry', 'disable', 'qontak_chat_room_resolve', '--reason', 'should not happen'], { ADMIN_TOKEN: 'wrong-token-wrong-token-xx' });
    expect(r.code).toBe(78);
    expect(r.stderr.trim()).toBe(`actionpulse registry: the service at ${pipeline.http!.url} refused the admin token: set ADMIN_TOKEN to the token it runs with`);
    const [row] = await pipeline.db!.query<{ enabled: boolean }>(`SELECT enabled FROM node_registries WHERE node_type = 'qontak_chat_room_resolve'`);
    expect(row.enabled).toBe(true);
  });

  it('silence add / list / expire', async () => {
    const added = await cli(['silence', 'add', '--match', 'rule_id=failure-rate-1h', '--match', 'node_type=qontak_crm_deal_update', '--for', '2h', '--comment', 'CRM maintenance window']);
    expect(added.code).toBe(0);
    const id = /silence (\S+) created/.exec(added.stdout)?.[1];
    expect(id).toBeTruthy();
    const list = await cli(['silence', 'list']);
    expect(list.stdout).toContain(id!);
    expect(list.stdout).toContain('CRM maintenance window');
    expect((await cli(['silence', 'expire', id!])).code).toBe(0);
    expect((await cli(['silence', 'list'])).stdout).toContain('no active silences');
    expect((await cli(['silence', 'add', '--match', 'rule_id=x', '--for', 'forever', '--comment', 'c'])).code).toBe(2);
  });

  it('report --week renders the weekly review from ClickHouse', async () => {
    const base = { source: 'test-suite', organization_id: 'org-report', agent_id: 'agent-r' };
    for (let i = 0; i < 4; i++) {
      const conv = { ...base, conversation_id: `conv-r-${i}`, node_type: 'qontak_crm_ticket_create' as const };
      pipeline.emitter!.emit(buildEvent({ ...conv, event: 'qontak_action_invoked' }));
      pipeline.emitter!.emit(
        i === 3
          ? buildEvent({ ...conv, event: 'qontak_action_failed', reason: 'crm_server_error', duration_ms: 40 })
          : buildEvent({ ...conv, event: 'qontak_action_executed', duration_ms: 30 }),
      );
    }
    await waitFor(() => (pipeline.consumers[0].runner.stats.written >= 8 ? true : undefined), { timeoutMs: 60_000, what: 'events in ClickHouse' });
    const r = await cli(['report', '--week']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('weekly review');
    expect(r.stdout).toContain('Success rate: **75.0%** of 4 completed calls (3 executed, 1 failed, of which 0 with an unknown outcome that may have succeeded;');
    expect(r.stdout).toMatch(/\| crm_server_error \| 1 \|/);
    // The registry decisions of the week, from the audit trail: the ones the tests above made by hand.
    const day = '\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}';
    expect(r.stdout).toContain('- Disables: 1 global, 1 for one organization (0 automatic, 2 by hand)');
    expect(r.stdout).toContain('- Re-enables: 1 global, 1 for one organization (0 automatic, 2 by hand)');
    expect(r.stdout).toMatch(new RegExp(`\\| ${day} \\| disable \\| qontak_crm_deal_update \\| organization org-acme \\| admin:cs \\| token not refreshing \\|`));
    expect(r.stdout).toMatch(new RegExp(`\\| ${day} \\| disable \\| qontak_chat_room_tag \\| global \\(everyone\\) \\| admin:dina \\| tag worker backlog \\|`));
  });
});
