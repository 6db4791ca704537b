import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createExecutor, fileBackend } from '../../../src/executors/index.ts';
import { openRegistryDb } from '../../../src/platform/registry-db.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { RecordingEmitter } from '../../../src/producers/emitter-port.ts';

describe('chat jobs without Redis (the local fallback)', () => {
  it('QACT-S07 AC-1 on the file backend: the same Sidekiq payload, one JSON line per job, in queue order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ap-jobs-'));
    const db = await openRegistryDb({ memory: true });
    const emitter = new RecordingEmitter();
    const executor = await createExecutor({
      db,
      jobBackend: fileBackend(dir),
      emitter,
      logger: silentLogger,
      source: 'agent-runtime',
      crm: { baseUrl: 'http://127.0.0.1:1', tokenEncryptionKey: randomBytes(32).toString('hex'), requestTimeoutMs: 1000, maxRetries: 0 },
      chat: { queue: 'chat_actions', keyPrefix: '' },
    });
    try {
      await executor.rooms.upsertIntegration({ id: 'int-1', organizationId: 'org-f', channel: 'wa' });
      await executor.rooms.upsertRoom({ organizationId: 'org-f', channelRoomId: 'wa-1', roomId: 'room-1', channelIntegrationId: 'int-1' });
      const ctx = { organization_id: 'org-f', agent_id: 'agent-f', conversation_id: 'conv-f', channel_room_id: 'wa-1' };
      expect(await executor.execute('qontak_chat_room_tag', { tags: 'vip, VIP ,billing' }, ctx)).toMatchObject({ ok: true });
      expect(await executor.execute('qontak_chat_room_resolve', {}, ctx)).toMatchObject({ ok: true });
      const lines = readFileSync(join(dir, 'queue_chat_actions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((j) => j.class)).toEqual(['BulkTagsRoomWorker', 'ResolveRoomWorker']);
      expect(lines[0]).toMatchObject({ queue: 'chat_actions', retry: true, jid: expect.stringMatching(/^[0-9a-f]{24}$/) });
      expect(lines[0].enqueued_at).toBeTypeOf('number');
      expect(emitter.events.filter((e) => e.event === 'qontak_action_executed')).toHaveLength(2);
    } finally {
      await executor.close();
      await db.close();
    }
  }, 180_000); // an in-memory PGlite starts in seconds idle, a minute or more on a loaded machine
});
