import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';

export interface SidekiqJob {
  class: string;
  args: unknown[];
  jid: string;
  created_at: number;
  enqueued_at: number;
  queue: string;
  retry: boolean;
}

export interface SidekiqQueueOptions {
  /** Sidekiq queue name (the worker's `sidekiq_options queue:`). */
  queue: string;
  /** Key prefix, e.g. a redis-namespace `chatbot:`; '' for plain Sidekiq. */
  keyPrefix: string;
  /** Give up on Redis after this long: the agent must not hang on a dead queue. */
  timeoutMs: number;
}

/**
 * Where Sidekiq jobs go. Redis is the real one; the file fallback keeps the same JSON payloads, one line
 * per job in `<dir>/<queue key>.jsonl`, for machines without Redis (the demo), so nothing is lost and a
 * later `LPUSH` of each line hands them to the Ruby workers unchanged.
 */
export interface SidekiqBackend {
  /** Adds `queue` to the `queues` set and pushes the payload, atomically where the backend can. */
  push(o: { queuesKey: string; queue: string; queueKey: string; payload: string }): Promise<void>;
}

export function redisBackend(redis: Redis): SidekiqBackend {
  return {
    async push({ queuesKey, queue, queueKey, payload }) {
      const replies = await redis.multi().sadd(queuesKey, queue).lpush(queueKey, payload).exec();
      const failed = replies?.find(([err]) => err);
      if (!replies || failed) throw new Error(`redis refused the job: ${failed?.[0]?.message ?? 'transaction aborted'}`);
    },
  };
}

export function fileBackend(dir: string): SidekiqBackend {
  mkdirSync(dir, { recursive: true });
  return {
    async push({ queueKey, payload }) {
      await appendFile(join(dir, `${queueKey.replace(/[^A-Za-z0-9_.-]/g, '_')}.jsonl`), `${payload}\n`);
    },
  };
}

export type EnqueueResult = { ok: true; job: SidekiqJob } | { ok: false; message: string };

/**
 * Pushes jobs exactly as Sidekiq's client does (Sidekiq::Client#raw_push): the JSON payload LPUSHed on
 * `queue:<name>` and the name SADDed to `queues`, in one MULTI, so a Ruby worker process runs them.
 */
export class SidekiqQueue {
  constructor(
    private readonly backend: SidekiqBackend,
    readonly options: SidekiqQueueOptions,
    private readonly nowMs: () => number = Date.now,
  ) {}

  queueKey(): string {
    return `${this.options.keyPrefix}queue:${this.options.queue}`;
  }

  queuesKey(): string {
    return `${this.options.keyPrefix}queues`;
  }

  async enqueue(workerClass: string, args: unknown[]): Promise<EnqueueResult> {
    const at = this.nowMs() / 1000;
    const job: SidekiqJob = {
      class: workerClass,
      args,
      jid: randomBytes(12).toString('hex'),
      created_at: at,
      enqueued_at: at,
      queue: this.options.queue,
      retry: true,
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    });
    try {
      const push = this.backend.push({ queuesKey: this.queuesKey(), queue: this.options.queue, queueKey: this.queueKey(), payload: JSON.stringify(job) });
      await Promise.race([push, timeout]);
      return { ok: true, job };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}
