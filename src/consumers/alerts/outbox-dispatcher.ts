import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { Logger } from '../../platform/logger.ts';
import type { SqlDb } from '../../platform/registry-db.ts';
import { pipelineTracer } from '../../platform/telemetry.ts';
import { retryDelay, sleep, type BackoffPolicy } from '../../platform/retry.ts';
import type { AlertNotification } from './alert-notification.ts';
import type { Notifier } from './notifiers/notifier.ts';
import { inSpan } from '../../platform/span-scope.ts';

/**
 * Delivers the outbox. Rows are claimed with a lease (FOR UPDATE SKIP LOCKED), so several instances
 * share the work and a crashed one's rows come back when the lease ends. Per channel it keeps order
 * (a resolve never overtakes its trigger) and pacing (Slack's ~1 msg/s, and a 429's Retry-After holds
 * the whole channel). A failure is retried with backoff; a row is never deleted — one that keeps
 * failing ends as `dead`, logged at error level and listed by the admin API for a human to requeue.
 */
export interface DispatcherOptions {
  db: SqlDb;
  notifiers: Record<string, Notifier>;
  logger: Logger;
  pollMs?: number;
  leaseMs?: number;
  batchSize?: number;
  retry?: BackoffPolicy;
  /** Retryable failures (429, 5xx, network) get this many attempts before `dead`. */
  maxAttempts?: number;
  /** Permanent answers (other 4xx) get this many, in case a human fixes the endpoint meanwhile. */
  maxPermanentAttempts?: number;
}

export interface DispatcherStats {
  sent: number;
  failedAttempts: number;
  dead: number;
  rateLimited: number;
}

type OutboxRow = { id: string; channel: string; payload: AlertNotification; attempts: number };

export class OutboxDispatcher {
  readonly stats: DispatcherStats = { sent: 0, failedAttempts: 0, dead: 0, rateLimited: 0 };
  private readonly nextAllowedAt = new Map<string, number>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly o: DispatcherOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Asks for a delivery round now (after a transition was committed). */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      let worked = false;
      try {
        worked = await this.deliverDue();
      } catch (err) {
        this.o.logger.error({ err: (err as Error).message }, 'alert outbox round failed');
      }
      if (worked) continue;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        void sleep(this.o.pollMs ?? 250, this.abort.signal).then(resolve);
      });
      this.wake = undefined;
    }
  }

  /** Claims and delivers one batch of due rows; true when there was something to do. */
  async deliverDue(): Promise<boolean> {
    const channels = Object.keys(this.o.notifiers);
    if (channels.length === 0) return false;
    const rows = await this.o.db.query<OutboxRow>(
      `UPDATE alert_outbox SET lease_until = now() + make_interval(secs => $1), attempts = attempts + 1
       WHERE id IN (
         SELECT o.id FROM alert_outbox o
         WHERE o.status = 'pending' AND o.next_attempt_at <= now() AND (o.lease_until IS NULL OR o.lease_until < now())
           AND o.channel = ANY($3::text[])
           AND NOT EXISTS (SELECT 1 FROM alert_outbox p WHERE p.channel = o.channel AND p.dedup_key = o.dedup_key
                           AND p.status = 'pending' AND p.id < o.id)
         ORDER BY o.id LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id, channel, payload, attempts`,
      [(this.o.leaseMs ?? 60_000) / 1000, this.o.batchSize ?? 20, channels],
    );
    if (rows.length === 0) return false;
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    for (const row of rows) {
      if (this.abort.signal.aborted) break;
      await this.deliver(row);
    }
    return true;
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const notifier = this.o.notifiers[row.channel];
    const wait = (this.nextAllowedAt.get(row.channel) ?? 0) - Date.now();
    if (wait > 0) await sleep(wait, this.abort.signal);
    const span = deliverySpan(row);
    await inSpan(span, () => this.attempt(row, notifier, span), (outcome, s) => {
      s.setAttribute('actionpulse.alert.delivery', outcome);
      if (outcome !== 'sent') s.setStatus({ code: SpanStatusCode.ERROR });
    });
  }

  /** One delivery attempt and its bookkeeping: sent, retry later, or dead. */
  private async attempt(row: OutboxRow, notifier: Notifier, span: Span): Promise<'sent' | 'retry' | 'dead'> {
    const result = await notifier.send(row.payload, this.abort.signal);
    this.nextAllowedAt.set(row.channel, Date.now() + notifier.minIntervalMs);
    if (result.ok) {
      this.stats.sent++;
      await this.o.db.query(`UPDATE alert_outbox SET status = 'sent', sent_at = now(), lease_until = NULL, last_error = NULL WHERE id = $1`, [row.id]);
      return 'sent';
    }
    span.setAttribute('error.type', result.retryable ? 'retryable' : 'permanent');
    span.addEvent('delivery failed', { 'exception.message': result.error });
    this.stats.failedAttempts++;
    if (result.retryInMs !== undefined) {
      this.stats.rateLimited++;
      // The server's wait applies to everything queued for this channel, not just this row.
      this.nextAllowedAt.set(row.channel, Date.now() + result.retryInMs);
    }
    const limit = result.retryable ? (this.o.maxAttempts ?? 25) : (this.o.maxPermanentAttempts ?? 3);
    if (row.attempts >= limit) {
      this.stats.dead++;
      this.o.logger.error({ channel: row.channel, id: row.id, attempts: row.attempts, err: result.error }, 'alert notification could not be delivered; marked dead for a human');
      await this.o.db.query(`UPDATE alert_outbox SET status = 'dead', lease_until = NULL, last_error = $2 WHERE id = $1`, [row.id, result.error]);
      return 'dead';
    }
    const delay = retryDelay(row.attempts, this.o.retry ?? { initialMs: 1000, maxMs: 300_000, multiplier: 2 }, result.retryInMs);
    this.o.logger.warn({ channel: row.channel, id: row.id, attempt: row.attempts, delayMs: Math.round(delay), err: result.error }, 'alert notification failed; will retry');
    await this.o.db.query(
      `UPDATE alert_outbox SET next_attempt_at = now() + make_interval(secs => $2), lease_until = NULL, last_error = $3 WHERE id = $1`,
      [row.id, delay / 1000, result.error],
    );
    return 'retry';
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }
}

/** One span per delivery attempt (Slack, PagerDuty, webhook alike); the notifier's HTTP call adds its status. */
function deliverySpan(row: OutboxRow): Span {
  const n = row.payload;
  return pipelineTracer().startSpan(
    `alert deliver ${row.channel}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'actionpulse.alert.channel': row.channel,
        'actionpulse.alert.rule_id': n.ruleId,
        'actionpulse.alert.kind': n.kind,
        'actionpulse.alert.dedup_key': n.dedupKey,
        'actionpulse.alert.episode': n.episode,
        'actionpulse.alert.attempt': row.attempts,
      },
    },
    ROOT_CONTEXT,
  );
}

/** Puts dead rows back in the queue (admin action after fixing an endpoint). */
export async function requeueOutbox(db: SqlDb, id: string): Promise<boolean> {
  const rows = await db.query(
    `UPDATE alert_outbox SET status = 'pending', attempts = 0, next_attempt_at = now(), lease_until = NULL WHERE id = $1 AND status = 'dead' RETURNING id`,
    [id],
  );
  return rows.length > 0;
}
