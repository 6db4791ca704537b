import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { SqlDb, SqlTx } from '../../platform/registry-db.ts';

/**
 * Silences: an on-call engineer mutes what they already know about. A silence matches when every
 * matcher equals the notification's field (rule_id, receiver, scope_key, node_type, organization_id);
 * it has a creator, a comment and an expiry, and expiring it early is recorded, never deleted.
 */
export const silenceInputSchema = z.strictObject({
  matchers: z
    .strictObject({
      rule_id: z.string().min(1).optional(),
      receiver: z.string().min(1).optional(),
      scope_key: z.string().min(1).optional(),
      node_type: z.string().min(1).optional(),
      organization_id: z.string().min(1).optional(),
    })
    .refine((m) => Object.keys(m).length > 0, 'at least one matcher'),
  creator: z.string().min(1).max(200),
  comment: z.string().min(1).max(2000),
  /** Duration from now; or an explicit end. */
  durationMinutes: z.number().int().min(1).max(60 * 24 * 30).optional(),
  endsAt: z.iso.datetime().optional(),
}).refine((s) => s.durationMinutes !== undefined || s.endsAt !== undefined, 'durationMinutes or endsAt');

export type SilenceInput = z.infer<typeof silenceInputSchema>;
export type SilenceMatchers = SilenceInput['matchers'];

export interface Silence {
  id: string;
  matchers: SilenceMatchers;
  creator: string;
  comment: string;
  startsAt: string;
  endsAt: string;
  active: boolean;
  expiredBy: string | null;
}

type Row = { id: string; matchers: SilenceMatchers; creator: string; comment: string; starts_at: Date | string; ends_at: Date | string; expired_by: string | null; active: boolean };

function fromRow(r: Row): Silence {
  return {
    id: r.id,
    matchers: r.matchers,
    creator: r.creator,
    comment: r.comment,
    startsAt: new Date(r.starts_at).toISOString(),
    endsAt: new Date(r.ends_at).toISOString(),
    active: r.active,
    expiredBy: r.expired_by,
  };
}

export async function createSilence(db: SqlDb, input: SilenceInput): Promise<Silence> {
  const id = randomUUID();
  const ends = input.endsAt ? new Date(input.endsAt) : new Date(Date.now() + input.durationMinutes! * 60_000);
  const rows = await db.query<Row>(
    `INSERT INTO alert_silences (id, matchers, creator, comment, ends_at) VALUES ($1, $2::jsonb, $3, $4, $5)
     RETURNING *, (ends_at > now() AND expired_by IS NULL) AS active`,
    [id, JSON.stringify(input.matchers), input.creator, input.comment, ends.toISOString()],
  );
  return fromRow(rows[0]);
}

export async function listSilences(db: SqlDb, { includeExpired = false } = {}): Promise<Silence[]> {
  const rows = await db.query<Row>(
    `SELECT *, (ends_at > now() AND expired_by IS NULL) AS active FROM alert_silences
     ${includeExpired ? '' : 'WHERE ends_at > now() AND expired_by IS NULL'} ORDER BY created_at DESC`,
  );
  return rows.map(fromRow);
}

export async function expireSilence(db: SqlDb, id: string, actor: string): Promise<boolean> {
  const rows = await db.query(
    `UPDATE alert_silences SET expired_by = $2, ends_at = LEAST(ends_at, now()) WHERE id = $1 AND expired_by IS NULL RETURNING id`,
    [id, actor],
  );
  return rows.length > 0;
}

export interface SilenceSubject {
  rule_id: string;
  receiver: string;
  scope_key: string;
  scope: Record<string, string>;
}

export function silenceMatches(m: SilenceMatchers, s: SilenceSubject): boolean {
  if (m.rule_id !== undefined && m.rule_id !== s.rule_id) return false;
  if (m.receiver !== undefined && m.receiver !== s.receiver) return false;
  if (m.scope_key !== undefined && m.scope_key !== s.scope_key) return false;
  if (m.node_type !== undefined && m.node_type !== s.scope.node_type) return false;
  if (m.organization_id !== undefined && m.organization_id !== s.scope.organization_id) return false;
  return true;
}

export async function activeSilenceFor(tx: SqlTx, subject: SilenceSubject): Promise<string | undefined> {
  const rows = await tx.query<{ id: string; matchers: SilenceMatchers }>(
    `SELECT id, matchers FROM alert_silences WHERE starts_at <= now() AND ends_at > now() AND expired_by IS NULL`,
  );
  return rows.find((r) => silenceMatches(r.matchers, subject))?.id;
}
