import { randomBytes } from 'node:crypto';
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

export type EnqueueResult = { ok: true; job: SidekiqJob } | { ok: false; message: string };

/**
 * Pushes jobs exactly as Sidekiq's client does (Sidekiq::Client#raw_push): the JSON payload LPUSHed on
 * `queue:<name>` and the name SADDed to `queues`, in one MULTI, so a Ruby worker process runs them.
 */
export class SidekiqQueue {
  constructor(
    private readonly redis: Redis,
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
      const push = this.redis.multi().sadd(this.queuesKey(), this.options.queue).lpush(this.queueKey(), JSON.stringify(job)).exec();
      const replies = await Promise.race([push, timeout]);
      const failed = replies?.find(([err]) => err);
      if (!replies || failed) return { ok: false, message: `redis refused the job: ${failed?.[0]?.message ?? 'transaction aborted'}` };
      return { ok: true, job };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}
