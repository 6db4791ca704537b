import type { SqlDb } from '../platform/registry-db.ts';

/**
 * The room directory (registry database; DDL in registry-schema.ts):
 *
 *   chat_rooms(organization_id, channel_room_id)  PK — the conversation's room id on its channel
 *     room_id                 the chat room the workers act on (Sidekiq job argument)
 *     channel_integration_id  the channel integration serving the room (NULL = none)
 *     status, updated_at
 *   chat_channel_integrations(id PK, organization_id, channel, active)
 *     a room whose integration row is missing, belongs to another organization or is inactive has
 *     "no channel integration" (spec S05/S06 ERR-1).
 */
export type RoomLookup =
  | { ok: true; room: { roomId: string; channelIntegrationId: string; channel: string } }
  | { ok: false; reason: 'room_not_found' | 'channel_integration_not_found' };

export class RoomDirectory {
  constructor(private readonly db: SqlDb) {}

  async resolve(organizationId: string, channelRoomId: string): Promise<RoomLookup> {
    const rows = await this.db.query<{ room_id: string; integration_id: string | null; channel: string | null }>(
      `SELECT r.room_id, i.id AS integration_id, i.channel
         FROM chat_rooms r
         LEFT JOIN chat_channel_integrations i
           ON i.id = r.channel_integration_id AND i.organization_id = r.organization_id AND i.active
        WHERE r.organization_id = $1 AND r.channel_room_id = $2`,
      [organizationId, channelRoomId],
    );
    if (rows.length === 0) return { ok: false, reason: 'room_not_found' };
    const row = rows[0];
    if (!row.integration_id || !row.channel) return { ok: false, reason: 'channel_integration_not_found' };
    return { ok: true, room: { roomId: row.room_id, channelIntegrationId: row.integration_id, channel: row.channel } };
  }

  /** Registers (or moves) a room: for the runtime's room sync, seeding and tests. */
  async upsertRoom(room: { organizationId: string; channelRoomId: string; roomId: string; channelIntegrationId: string | null }): Promise<void> {
    await this.db.query(
      `INSERT INTO chat_rooms (organization_id, channel_room_id, room_id, channel_integration_id, updated_at)
       VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (organization_id, channel_room_id)
       DO UPDATE SET room_id = EXCLUDED.room_id, channel_integration_id = EXCLUDED.channel_integration_id, updated_at = now()`,
      [room.organizationId, room.channelRoomId, room.roomId, room.channelIntegrationId],
    );
  }

  async upsertIntegration(integration: { id: string; organizationId: string; channel: string; active?: boolean }): Promise<void> {
    await this.db.query(
      `INSERT INTO chat_channel_integrations (id, organization_id, channel, active) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id, channel = EXCLUDED.channel, active = EXCLUDED.active`,
      [integration.id, integration.organizationId, integration.channel, integration.active ?? true],
    );
  }
}
