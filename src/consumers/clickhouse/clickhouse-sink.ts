import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../../platform/logger.ts';
import type { RejectedEvent, Sink, SinkBatch, SinkResult } from '../sink.ts';
import { toEventRow } from './event-row.ts';
import type { ClickhouseTopology } from './cluster-ddl.ts';

export interface ClickhouseSinkOptions {
  client: ClickHouseClient;
  database: string;
  logger: Logger;
  /** An insert that takes longer is abandoned and retried (same dedupe token, so never doubled). */
  insertTimeoutMs?: number;
  topology?: ClickhouseTopology;
}

/**
 * ClickHouse server error codes that mean "this data can never be inserted" (parse errors, type
 * mismatches, values out of range). Anything else — refused connections, timeouts, 5xx, too many
 * parts, memory limits — is transient: the batch is retried and the offsets stay uncommitted.
 */
const DATA_ERROR_CODES = new Set(['6', '26', '27', '38', '41', '53', '69', '70', '72', '117', '321']);

function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code !== undefined && DATA_ERROR_CODES.has(String(code));
}

/** The batch's identity in Kafka: the same messages sent again carry the same token. */
export function dedupeToken(batch: Pick<SinkBatch, 'topic' | 'partition' | 'firstOffset' | 'lastOffset'>): string {
  return `${batch.topic}:${batch.partition}:${batch.firstOffset}-${batch.lastOffset}`;
}

/** Newline-delimited rows in one buffer: one copy of each message value, nothing parsed or re-encoded. */
export function joinLines(values: readonly Buffer[]): Buffer {
  let size = 0;
  for (const v of values) size += v.length + 1;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const v of values) {
    at += v.copy(out, at);
    out[at++] = 0x0a;
  }
  return out;
}

/**
 * Inserts through one client run one at a time. The embedded engine applies per-query settings as SET
 * statements on its one shared session, so two concurrent inserts could each run under the other's
 * dedupe token (and one be dropped as a "duplicate"); it inserts one statement at a time anyway.
 * Pipelined partitions still overlap decoding with the insert in flight.
 */
const insertQueues = new WeakMap<ClickHouseClient, Promise<unknown>>();
function serialised<T>(client: ClickHouseClient, run: () => Promise<T>): Promise<T> {
  const previous = insertQueues.get(client) ?? Promise.resolve();
  const next = previous.then(run, run);
  insertQueues.set(client, next.catch(() => undefined));
  return next;
}

/** The settings of every sink insert (the benchmark's raw baseline uses them too: same engine work). */
export function insertSettings(token: string, topology?: ClickhouseTopology) {
  return {
    // On a cluster the sink writes the Distributed table: answer only when every shard stored its rows
    // (the default queues them on the receiving node and answers at once, so a lost node would lose an
    // acknowledged batch). Each shard's replicated table deduplicates its share under the same token: the
    // split is a function of event_id, so a retried batch splits the same way.
    ...(topology?.kind === 'cluster' ? { distributed_foreground_insert: 1 } : {}),
    insert_deduplication_token: token,
    insert_deduplicate: 1,
    // A retry after the table stored the block but a rollup did not: without this the table drops the
    // block as a duplicate and the rollup never gets it; with it each rollup deduplicates on its own.
    // It costs the embedded engine about a tenth of its insert rate (measured alone, in separate processes).
    deduplicate_blocks_in_dependent_materialized_views: 1,
    // Exactness first: the insert returns only when the rows are queryable.
    async_insert: 0,
    // A contract-valid event has only column names as keys; absent optional fields take the column
    // defaults ('' / 0 / NULL), which are exactly what toEventRow writes for them.
    input_format_defaults_for_omitted_fields: 1,
  } as const;
}

export class ClickhouseSink implements Sink {
  readonly name = 'clickhouse';
  // Rows are the message bytes; events are read only when the engine refuses those bytes.
  readonly storesValues = true;
  private readonly table: string;

  constructor(private readonly o: ClickhouseSinkOptions) {
    this.table = `${o.database}.action_events`;
  }

  async write(batch: SinkBatch, signal: AbortSignal): Promise<SinkResult> {
    const values = batch.values;
    if ((values ?? batch.events).length === 0) return { status: 'ok' };
    const token = dedupeToken(batch);
    try {
      if (values) {
        try {
          await this.insertBody(joinLines(values), token, signal);
          return { status: 'ok' };
        } catch (err) {
          if (!isDataError(err)) throw err;
          // Valid JSON the engine reads differently (1.0 for an integer, 1e3, …): our own serialisation
          // of the validated events is canonical, so the batch goes again in that form, same token.
          this.o.logger.debug({ err: (err as Error).message }, 'clickhouse refused the message bytes; inserting serialised rows');
        }
      }
      await this.insert(batch.events.map(toEventRow), token, signal);
      return { status: 'ok' };
    } catch (err) {
      if (!isDataError(err)) return { status: 'retry', error: err as Error };
      // Events passed the contract, so this is rare: find the rows the table refuses, keep the rest.
      this.o.logger.warn({ err: (err as Error).message, events: batch.events.length }, 'clickhouse refused a batch; inserting row by row');
      return this.writeOneByOne(batch, token, signal);
    }
  }

  private async writeOneByOne(batch: SinkBatch, token: string, signal: AbortSignal): Promise<SinkResult> {
    const rejected: RejectedEvent[] = [];
    for (let i = 0; i < batch.events.length; i++) {
      try {
        await this.insert([toEventRow(batch.events[i])], `${token}#${i}`, signal);
      } catch (err) {
        if (!isDataError(err)) return { status: 'retry', error: err as Error };
        rejected.push({ index: i, reason: 'clickhouse_rejected', detail: (err as Error).message.slice(0, 500) });
      }
    }
    if (rejected.length === 0) return { status: 'ok' };
    return { status: 'reject', error: new Error(`${rejected.length} event(s) refused by ClickHouse`), events: rejected };
  }

  private async insert(values: unknown[], token: string, signal: AbortSignal): Promise<void> {
    await serialised(this.o.client, () => this.o.client.insert({
      table: this.table,
      values,
      format: 'JSONEachRow',
      abort_signal: this.abortSignal(signal),
      clickhouse_settings: insertSettings(token, this.o.topology),
    }));
  }

  /** Inserts JSONEachRow text as it is: no parse, no object per row, no second serialisation. */
  private async insertBody(body: Buffer, token: string, signal: AbortSignal): Promise<void> {
    await serialised(this.o.client, async () => {
      const result = await this.o.client.exec({
        query: `INSERT INTO ${this.table} FORMAT JSONEachRow`,
        values: Readable.from([body], { objectMode: false }),
        abort_signal: this.abortSignal(signal),
        clickhouse_settings: insertSettings(token, this.o.topology),
      });
      // The (empty) response must be read to the end, or an HTTP connection stays taken.
      for await (const chunk of result.stream) void chunk;
    });
  }

  private abortSignal(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(this.o.insertTimeoutMs ?? 30_000)]);
  }

  async close(): Promise<void> {
    // The client belongs to whoever created it (the dashboard API shares it).
  }
}
