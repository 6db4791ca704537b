import {
  Admin,
  compatibilityPartitioner,
  ConfigResourceTypes,
  Consumer,
  findErrorBy,
  GenericError,
  IncrementalAlterConfigOperationTypes,
  ListOffsetTimestamps,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  type BaseOptions,
  type ConsumerGroupJoinPayload,
  type Message,
  type MessageToProduce,
  type MessagesStream,
} from '@platformatic/kafka';
import type {
  BatchHandler,
  GroupConsumer,
  GroupConsumerSettings,
  GroupDescription,
  IncomingRecord,
  KafkaAdmin,
  KafkaConnection,
  KafkaPort,
  OutgoingRecord,
  PartitionOffset,
  PartitionRange,
  PartitionWrite,
  ProducerSettings,
  RecordProducer,
  SendResult,
  TopicDescription,
  TopicPartitions,
  TopicSpec,
} from './kafka-port.ts';

/**
 * The one implementation of kafka-port.ts, on @platformatic/kafka's public API (its package exports only).
 * Requires Node >= 22.22 or >= 24.6 (the library's engines; zstd comes from node:zlib).
 */
/** Retries of a producer that reports failures (dead-letter publisher, CLI): about 20 s with the back-off below. */
const BOUNDED_RETRIES = 12;

/** 100 ms doubling to 2 s: the reconnect probe stays frequent during an outage. */
function retryDelay(_client: unknown, _operation: string, attempt: number): number {
  return Math.min(2000, 100 * 2 ** Math.min(attempt - 1, 5));
}

function baseOptions(c: KafkaConnection, suffix: string, delay: BaseOptions['retryDelay'] = retryDelay): BaseOptions {
  return {
    clientId: `${c.clientId}-${suffix}`,
    bootstrapBrokers: c.brokers,
    connectTimeout: c.connectTimeoutMs ?? 5000,
    requestTimeout: requestTimeoutMs(c),
    metadataMaxAge: c.metadataMaxAgeMs ?? 5000,
    retryDelay: delay,
    ...(c.tls ? { tls: {} } : {}),
    ...(c.sasl ? { sasl: { mechanism: c.sasl.mechanism.toUpperCase() as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username: c.sasl.username, password: c.sasl.password } } : {}),
  };
}

const requestTimeoutMs = (c: KafkaConnection) => c.requestTimeoutMs ?? 30_000;

export function createPlatformaticKafka(connection: KafkaConnection): KafkaPort {
  const open = new Set<{ close(): Promise<void> }>();
  const track = <T extends { close(): Promise<void> }>(item: T): T => {
    open.add(item);
    const close = item.close.bind(item);
    item.close = async () => {
      open.delete(item);
      await close();
    };
    return item;
  };
  return {
    producer: (settings) => track(new PlatformaticProducer(connection, settings)),
    groupConsumer: (settings) => {
      const consumer = new PlatformaticGroupConsumer(connection, settings);
      const handle = { close: () => consumer.stop() };
      open.add(handle);
      const stop = consumer.stop.bind(consumer);
      consumer.stop = async () => {
        open.delete(handle);
        await stop();
      };
      return consumer;
    },
    admin: () => track(new PlatformaticAdmin(connection)),
    close: async () => {
      await Promise.allSettled([...open].map((c) => c.close()));
    },
  };
}

/** True for an error the Kafka client raised (unreachable brokers, a refusing cluster), as opposed to a bug of ours. */
export function isKafkaClientError(err: unknown): boolean {
  return err instanceof Error && GenericError.isGenericError(err);
}

function toBuffer(v: string | Buffer | null | undefined): Buffer | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/**
 * The Buffers of strings a producer sends again and again — header names, header values such as the event type,
 * record keys such as an organization id — made once: the library takes every key and header as a Buffer, and
 * making them per record was a fifth of the produce path's CPU and most of its garbage (bench/kafka-port-producer.ts).
 * The library only reads them, so records share them. Bounded: a full key cache starts again empty, and a header with more
 * distinct values than its cache holds (a traceparent) has only its first ones cached.
 */
class BufferCache {
  private readonly buffers = new Map<string, Buffer>();
  /** `keepFirst`: when full, keep the first `max` strings cached (the rest are made per call) instead of starting again. */
  constructor(private readonly max: number, private readonly keepFirst = false) {}

  get(s: string): Buffer {
    let b = this.buffers.get(s);
    if (b !== undefined) return b;
    b = Buffer.from(s);
    if (this.buffers.size >= this.max) {
      if (this.keepFirst) return b;
      this.buffers.clear();
    }
    this.buffers.set(s, b);
    return b;
  }
}

/** A producer's record in the library's shape, with the Buffers of its key and headers from the caches. */
class RecordConverter {
  private readonly keys = new BufferCache(10_000);
  private readonly headerNames = new BufferCache(1000);
  private readonly headerValues = new Map<string, BufferCache>();

  key(v: string | Buffer | null): Buffer | undefined {
    if (v === null) return undefined;
    return typeof v === 'string' ? this.keys.get(v) : v;
  }

  headers(h: Record<string, string> | undefined): Map<Buffer, Buffer> | undefined {
    if (!h) return undefined;
    const out = new Map<Buffer, Buffer>();
    for (const name in h) {
      let values = this.headerValues.get(name);
      if (!values) {
        // Past 1000 names (names made up per record) a name's values are simply not cached.
        values = new BufferCache(256, true);
        if (this.headerValues.size < 1000) this.headerValues.set(name, values);
      }
      out.set(this.headerNames.get(name), values.get(h[name]));
    }
    return out;
  }
}

/** The kind of failure, from the library's error chain (MultipleErrors of ProtocolError/NetworkError). */
function failureReason(err: unknown, closing: boolean): 'closed' | 'unavailable' | 'refused' {
  if (closing) return 'closed';
  const e = err as Error;
  // Any error in the chain marked as not retriable is the broker's final word on the batch.
  if (findErrorBy(e, 'canRetry', false)) return 'refused';
  return 'unavailable';
}

function describe(err: unknown): string {
  const e = err as Error & { errors?: Error[] };
  const inner = e.errors?.length ? e.errors[e.errors.length - 1] : undefined;
  return inner ? `${e.message} (last: ${inner.message})` : e.message;
}

/**
 * Library producers per port producer, partitions spread over them (partition % this). An idempotent library
 * producer keeps one request in flight per broker connection (it sets `maxInflights` to 1), so one producer sends
 * a batch's partitions one after another, each waiting for the broker's answer to the previous one; with a producer
 * per partition they are on the wire at the same time, each on its own connection under its own producer id. A
 * partition is always sent by the same library producer, one send at a time, so its order and the broker's
 * de-duplication of retries are as with one producer.
 */
const PRODUCERS_PER_PORT_PRODUCER = 8;

class PlatformaticProducer implements RecordProducer {
  /** Library producers by slot (partition % PRODUCERS_PER_PORT_PRODUCER), made on first use. */
  private readonly clients: Producer[] = [];
  private readonly acks: number;
  private chain: Promise<unknown> = Promise.resolve();
  private closing = false;
  private closed: Promise<void> | undefined;
  private readonly roundRobin = new Map<string, number>();
  private readonly convert = new RecordConverter();
  /** The send in progress, or the last one (settled). */
  private sending: Promise<unknown> | undefined;
  /** Library producers of the send in progress whose last attempt failed and waits to be retried (their broker did not answer). */
  private readonly retrying = new Set<Producer>();
  private onRetry: (() => void) | undefined;

  constructor(private readonly connection: KafkaConnection, private readonly settings: ProducerSettings) {
    this.acks = settings.acks === 'all' ? ProduceAcks.ALL : ProduceAcks.LEADER;
  }

  private client(slot: number): Producer {
    const existing = this.clients[slot];
    if (existing) return existing;
    // The retry delay is the library's one public word that an attempt failed: close() uses it to tell a send
    // waiting for a broker that is gone from one whose request is being answered.
    const delay = (c: unknown, operation: string, attempt: number): number => {
      this.retrying.add(client);
      this.onRetry?.();
      return retryDelay(c, operation, attempt);
    };
    const client = new Producer({
      ...baseOptions(this.connection, 'producer', delay),
      idempotent: this.settings.idempotent,
      acks: this.acks,
      compression: this.settings.codec,
      autocreateTopics: false,
      // The library raises an idempotent producer's retries to "forever" when unset.
      retries: this.settings.retryForever ? Number.MAX_SAFE_INTEGER : BOUNDED_RETRIES,
    });
    // A broker connection made again: the next attempt is on the wire, no longer waiting.
    client.on('client:broker:connect', () => {
      this.retrying.delete(client);
    });
    this.clients[slot] = client;
    return client;
  }

  send(topic: string, records: readonly OutgoingRecord[]): Promise<SendResult> {
    // One send at a time: sequence numbers are taken in call order, and a partition never has two sends retrying.
    const result = this.chain.then(() => {
      this.retrying.clear();
      return (this.sending = this.sendNow(topic, records));
    });
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async partitionCount(topic: string): Promise<number> {
    const metadata = await this.client(0).metadata({ topics: [topic] });
    const t = metadata.topics.get(topic);
    if (!t) throw new Error(`topic ${topic} has no metadata`);
    return t.partitionsCount;
  }

  private async sendNow(topic: string, records: readonly OutgoingRecord[]): Promise<SendResult> {
    if (records.length === 0) return { ok: true, partitions: [] };
    const all = () => records.map((_, i) => i);
    if (this.closing) return { ok: false, reason: 'closed', detail: 'producer closed', written: [], unwritten: [], unwrittenRecords: all() };
    let count: number;
    try {
      count = await this.partitionCount(topic);
    } catch (err) {
      return { ok: false, reason: failureReason(err, this.closing), detail: describe(err), written: [], unwritten: [], unwrittenRecords: all() };
    }
    // Records grouped per partition here, in order, and one library send per partition: the library sends a
    // group of partitions that shared a leader to the leader of the group's first partition on every retry, so
    // after a leader move a multi-partition request can never reach the moved partition's new leader
    // (docs/kafka-client-evaluation.md, "leader move").
    const perPartition = new Map<number, OutgoingRecord[]>();
    const indices = new Map<number, number[]>();
    records.forEach((r, i) => {
      const partition = r.partition ?? this.partitionFor(topic, r.key, count);
      let list = perPartition.get(partition);
      if (!list) {
        perPartition.set(partition, (list = []));
        indices.set(partition, []);
      }
      list.push(r);
      indices.get(partition)!.push(i);
    });
    const outcomes = await Promise.allSettled(
      [...perPartition].map(async ([partition, list]) => {
        const messages = new Array<MessageToProduce>(list.length);
        for (let i = 0; i < list.length; i++) {
          const r = list[i];
          messages[i] = {
            topic,
            partition,
            key: this.convert.key(r.key),
            value: toBuffer(r.value),
            headers: this.convert.headers(r.headers),
            timestamp: r.timestampMs === undefined ? undefined : BigInt(r.timestampMs),
          };
        }
        const result = await this.client(partition % PRODUCERS_PER_PORT_PRODUCER).send({
          messages,
          acks: this.acks,
          compression: this.settings.codec,
        });
        const offset = result.offsets?.find((o) => o.topic === topic && o.partition === partition)?.offset;
        if (offset === undefined) throw new Error(`no offset acknowledged for ${topic}:${partition}`);
        return { partition, baseOffset: offset, records: list.length } satisfies PartitionWrite;
      }),
    );
    const written: PartitionWrite[] = [];
    const unwritten: number[] = [];
    let firstError: unknown;
    const partitions = [...perPartition.keys()];
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') written.push(o.value);
      else {
        unwritten.push(partitions[i]);
        firstError ??= o.reason;
      }
    });
    written.sort((a, b) => a.partition - b.partition);
    if (unwritten.length === 0) return { ok: true, partitions: written };
    const unwrittenRecords = unwritten.flatMap((p) => indices.get(p)!).sort((a, b) => a - b);
    return { ok: false, reason: failureReason(firstError, this.closing), detail: describe(firstError), written, unwritten, unwrittenRecords };
  }

  /** The Java client's choice for a keyed record (and the project's previous client's): toPositive(murmur2(key)) % partitions. */
  private partitionFor(topic: string, key: string | Buffer | null, count: number): number {
    const bytes = this.convert.key(key);
    if (bytes) return compatibilityPartitioner({ topic }, bytes) % count;
    const next = ((this.roundRobin.get(topic) ?? -1) + 1) % count;
    this.roundRobin.set(topic, next);
    return next;
  }

  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    const sending = this.sending;
    // Closing the library's client drops the answers of requests on the wire, though the broker may have written
    // them: a send whose requests are being answered is let finish first (as the previous client's disconnect waited for
    // pending requests), so its records are reported written and not re-sent as duplicates. One that waits to
    // retry (its broker unreachable) is ended at once, as is one whose broker does not answer in time.
    if (sending && this.retrying.size === 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        sending.catch(() => undefined),
        new Promise<void>((resolve) => {
          this.onRetry = resolve;
          timer = setTimeout(resolve, requestTimeoutMs(this.connection));
        }),
      ]);
      clearTimeout(timer);
      this.onRetry = undefined;
    }
    await Promise.all(this.clients.map((c) => c.close(true)));
  }
}

type BufferConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;
type BufferStream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;
type BufferMessage = Message<Buffer, Buffer, Buffer, Buffer>;

/**
 * A fetched record in the port's shape. Consumers read every value but the headers only for dead letters and trace
 * links, so `headers` and `headerList` are made from the library's header entries when first read (and kept,
 * assignable like plain fields): made for every record, five names and five values decoded to strings and two
 * containers per record were work and garbage on the consumers' hot path (bench/consumer-decode.ts). Header names
 * stay Buffers in the library (no deserializer) until then.
 */
class FetchedRecord implements IncomingRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestampMs: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  private readonly entries: [Buffer | null | undefined, Buffer | null | undefined][];
  private list: [string, Buffer][] | undefined;
  private byName: Record<string, string> | undefined;

  constructor(m: BufferMessage) {
    this.topic = m.topic;
    this.partition = m.partition;
    this.offset = m.offset;
    this.timestampMs = Number(m.timestamp);
    this.key = m.key ?? null;
    this.value = m.value ?? null;
    this.entries = m.headerEntries ?? [...m.headers];
  }

  get headerList(): [string, Buffer][] {
    // A header name the broker holds as null reads as undefined, as the library's string deserializer gives it.
    this.list ??= this.entries.map(([k, v]) => [(Buffer.isBuffer(k) ? k.toString('utf8') : undefined) as string, v as Buffer]);
    return this.list;
  }

  set headerList(list: [string, Buffer][]) {
    this.list = list;
  }

  get headers(): Record<string, string> {
    if (!this.byName) {
      const out: Record<string, string> = {};
      for (const [k, v] of this.headerList) if (v !== undefined && v !== null) out[k] = v.toString('utf8');
      this.byName = out;
    }
    return this.byName;
  }

  set headers(h: Record<string, string>) {
    this.byName = h;
  }
}

const key = (topic: string, partition: number) => `${topic}:${partition}`;

class PlatformaticGroupConsumer implements GroupConsumer {
  private readonly client: BufferConsumer;
  private stream: BufferStream | undefined;
  private assigned: TopicPartitions[] = [];
  private readonly signals = new Map<string, AbortController>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  /** The last error of a stream or of reopening one (kept for diagnostics; the loop recovers by itself). */
  lastError: Error | undefined;

  constructor(connection: KafkaConnection, private readonly s: GroupConsumerSettings) {
    this.client = new Consumer({
      ...baseOptions(connection, 'consumer'),
      groupId: s.groupId,
      autocommit: false,
      maxWaitTime: s.maxWaitMs ?? 500,
      minBytes: s.minBytes ?? 1,
      maxBytes: s.maxBytes ?? 4 * (s.maxBytesPerPartition ?? 8 * 1024 * 1024),
      maxBytesPerPartition: s.maxBytesPerPartition ?? 8 * 1024 * 1024,
      sessionTimeout: s.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: s.heartbeatIntervalMs ?? 3000,
      // Reconnects without limit: a broker outage pauses consumption, it does not end it.
      retries: Number.MAX_SAFE_INTEGER,
      highWaterMark: s.maxBatchRecords ?? 5000,
    });
    this.client.on('consumer:group:join', (e: ConsumerGroupJoinPayload) => this.onJoin(e));
    this.stopping.signal.addEventListener('abort', () => this.wake(), { once: true });
  }

  private onJoin(e: ConsumerGroupJoinPayload): void {
    this.assigned = (e.assignments ?? []).map((a) => ({ topic: a.topic, partitions: [...a.partitions].sort((x, y) => x - y) }));
    const mine = new Set(this.assigned.flatMap((a) => a.partitions.map((p) => key(a.topic, p))));
    // A partition taken away: its batch in progress must not commit.
    for (const [k, controller] of this.signals) {
      if (!mine.has(k)) {
        controller.abort();
        this.signals.delete(k);
      }
    }
    this.s.onAssignment?.(this.assignment());
  }

  assignment(): TopicPartitions[] {
    return this.assigned.map((a) => ({ topic: a.topic, partitions: [...a.partitions] }));
  }

  private owns(topic: string, partition: number): boolean {
    return this.assigned.some((a) => a.topic === topic && a.partitions.includes(partition));
  }

  private signalFor(topic: string, partition: number): AbortController {
    let c = this.signals.get(key(topic, partition));
    if (!c) this.signals.set(key(topic, partition), (c = new AbortController()));
    return c;
  }

  private async openStream(): Promise<BufferStream> {
    const stream = await this.client.consume({
      topics: this.s.topics,
      autocommit: false,
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: this.s.startWhenNew === 'earliest' ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
      sessionTimeout: this.s.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: this.s.heartbeatIntervalMs ?? 3000,
    });
    // A stream that fails is destroyed (docs/consumer.md FAQ): without a listener its 'error' would crash the
    // process. The loop sees it end and opens a new one from the committed offsets.
    stream.on('error', (err: Error) => {
      this.lastError = err;
    });
    // A 'readable' listener for the stream's whole life, not only while waiting: the library fetches only while
    // `readableFlowing` is not null, and Node sets it back to null when the last 'readable' listener goes. With
    // the listener attached only between batches, a fetch scheduled while a slow handler ran was dropped and the
    // stream never fetched again (kafka-port.test.ts, "a handler slower than the fetch loop").
    stream.on('readable', () => this.wake());
    stream.on('close', () => this.wake());
    return stream;
  }

  /** Resolves the wait of nextRecords(): records arrived, or the stream ended. */
  private wake: () => void = () => undefined;

  async start(handler: BatchHandler): Promise<void> {
    this.stream = await this.openStream();
    this.loop = this.run(handler);
  }

  /** Up to `max` records already fetched; waits for the first one. Empty when the stream ended or stopping. */
  private async nextRecords(max: number): Promise<BufferMessage[]> {
    for (;;) {
      const stream = this.stream;
      if (!stream || this.stopping.signal.aborted) return [];
      const out: BufferMessage[] = [];
      let m: BufferMessage | null;
      while (out.length < max && (m = stream.read() as BufferMessage | null) !== null) out.push(m);
      if (out.length > 0) return out;
      if (stream.destroyed || stream.readableEnded) return [];
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        // Arrived between the last read() and now, or stopped meanwhile: no event will say so.
        if (stream.readableLength > 0 || stream.destroyed || this.stopping.signal.aborted) resolve();
      });
      this.wake = () => undefined;
    }
  }

  private async run(handler: BatchHandler): Promise<void> {
    const max = this.s.maxBatchRecords ?? 5000;
    while (!this.stopping.signal.aborted) {
      const records = await this.nextRecords(max);
      if (records.length === 0) {
        if (this.stopping.signal.aborted) return;
        // The stream ended on an error: a new one resumes from the committed offsets.
        await this.reopen();
        continue;
      }
      const byPartition = new Map<string, BufferMessage[]>();
      // A fetch's records come partition after partition: the map is looked up only where the partition changes.
      let list: BufferMessage[] | undefined;
      for (const r of records) {
        if (list === undefined || list[0].partition !== r.partition || list[0].topic !== r.topic) {
          const k = key(r.topic, r.partition);
          list = byPartition.get(k);
          if (!list) byPartition.set(k, (list = []));
        }
        list.push(r);
      }
      let rewind = false;
      const batches = [...byPartition.values()];
      let next = 0;
      // Each worker takes the next partition's batch: a partition appears once per read, so its batches are
      // still handed over (and committed) one at a time, in offset order.
      const worker = async () => {
        while (!rewind && next < batches.length) {
          const list = batches[next++];
          const { topic, partition } = list[0];
          // Fetched before a rebalance took the partition away: the new owner reads it from the committed offset.
          if (!this.owns(topic, partition)) continue;
          const controller = this.signalFor(topic, partition);
          try {
            await handler({ topic, partition, records: list.map((m) => new FetchedRecord(m)) }, AbortSignal.any([controller.signal, this.stopping.signal]));
          } catch {
            rewind = true;
            return;
          }
          if (controller.signal.aborted || this.stopping.signal.aborted) continue;
          const last = list[list.length - 1];
          try {
            // commit() of a message commits its offset + 1, coalesced per partition by the stream.
            await last.commit();
          } catch (err) {
            // A commit refused (the group rebalancing, the coordinator gone): the batch is read again from the
            // committed offset rather than the stream moving on past an uncommitted batch.
            this.lastError = err as Error;
            rewind = true;
            return;
          }
          this.s.onCommitted?.(topic, partition, last.offset + 1n);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(this.s.partitionsConcurrently ?? 1, batches.length)) }, worker));
      if (rewind && !this.stopping.signal.aborted) await this.reopen();
    }
  }

  /** The library's streams cannot seek: a new stream in COMMITTED mode is the public way back to the committed offsets. */
  private async reopen(): Promise<void> {
    const old = this.stream;
    this.stream = undefined;
    await old?.close().catch(() => undefined);
    for (let attempt = 1; !this.stopping.signal.aborted; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
      try {
        this.stream = await this.openStream();
        return;
      } catch (err) {
        // Brokers unreachable or the group rebalancing: keep trying until stopped.
        this.lastError = err as Error;
      }
    }
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping.abort();
      for (const c of this.signals.values()) c.abort();
      await this.loop?.catch(() => undefined);
      await this.stream?.close().catch(() => undefined);
      await this.client.close(true).catch(() => undefined);
    })();
    return this.stopped;
  }
}

class PlatformaticAdmin implements KafkaAdmin {
  private readonly client: Admin;

  constructor(connection: KafkaConnection) {
    this.client = new Admin({ ...baseOptions(connection, 'admin'), retries: connection.adminRetries ?? 5 });
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<string[]> {
    const existing = new Set(await this.client.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    // Settings are per request in the library's createTopics: one request per topic.
    for (const s of missing) {
      await this.client.createTopics({
        topics: [s.topic],
        partitions: s.partitions,
        replicas: s.replicationFactor,
        configs: Object.entries(s.settings ?? {}).map(([name, value]) => ({ name, value })),
      });
    }
    if (missing.length > 0) await this.waitForLeaders(missing.map((s) => s.topic));
    return missing.map((s) => s.topic);
  }

  /** A busy broker can take well over 30 s to elect the leaders of a new topic's partitions. */
  private async waitForLeaders(topics: string[], timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const metadata = await this.client.metadata({ topics, forceUpdate: true }).catch(() => undefined);
      const ready = metadata && topics.every((t) => {
        const m = metadata.topics.get(t);
        return m !== undefined && m.partitions.length > 0 && m.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`no leader for ${topics.join(', ')} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async listTopics(): Promise<string[]> {
    return this.client.listTopics();
  }

  async clusterBrokers(): Promise<number[]> {
    const metadata = await this.client.metadata({ topics: [], forceUpdate: true });
    return [...metadata.brokers.keys()].sort((a, b) => a - b);
  }

  async describeTopics(topics: readonly string[]): Promise<TopicDescription[]> {
    const metadata = await this.client.metadata({ topics: [...topics], forceUpdate: true });
    const configs = await this.client.describeConfigs({
      resources: topics.map((t) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: t })),
    });
    return topics.map((topic) => {
      const m = metadata.topics.get(topic);
      const settings: Record<string, string> = {};
      const described = configs.find((c) => c.resourceName === topic);
      // configSource 1 = TOPIC_CONFIG: set on the topic itself.
      for (const c of described?.configs ?? []) if (c.configSource === 1 && typeof c.value === 'string') settings[c.name] = c.value;
      return {
        topic,
        partitions: (m?.partitions ?? []).map((p, partition) => ({ partition, leader: p.leader, replicas: [...p.replicas], inSync: [...p.isr] })),
        settings,
      };
    });
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    await this.client.deleteTopics({ topics: [...topics] });
  }

  async setTopicSettings(topic: string, settings: Record<string, string>): Promise<void> {
    // Incremental: a plain AlterConfigs would reset every setting not named here to the broker's default.
    await this.client.incrementalAlterConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs: Object.entries(settings).map(([name, value]) => ({ name, value, configOperation: IncrementalAlterConfigOperationTypes.SET })) }],
    });
  }

  private async partitionIds(topic: string): Promise<number[]> {
    const metadata = await this.client.metadata({ topics: [topic] });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    return Array.from({ length: count }, (_, i) => i);
  }

  private async listAt(topic: string, timestamp: bigint): Promise<Map<number, bigint>> {
    const partitions = await this.partitionIds(topic);
    const listed = await this.client.listOffsets({ topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }] });
    return new Map((listed.find((t) => t.name === topic)?.partitions ?? []).map((p) => [p.partitionIndex, p.offset]));
  }

  async partitionRanges(topic: string): Promise<PartitionRange[]> {
    const [low, high] = await Promise.all([this.listAt(topic, ListOffsetTimestamps.EARLIEST), this.listAt(topic, ListOffsetTimestamps.LATEST)]);
    return [...high.keys()].sort((a, b) => a - b).map((partition) => ({ partition, low: low.get(partition) ?? 0n, high: high.get(partition) ?? 0n }));
  }

  async bytesOnDisk(topic: string): Promise<bigint> {
    const brokers = await this.client.describeLogDirs({ topics: [{ name: topic, partitions: await this.partitionIds(topic) }] });
    let total = 0n;
    for (const b of brokers) for (const dir of b.results) for (const t of dir.topics) if (t.name === topic) for (const p of t.partitions) total += p.partitionSize;
    return total;
  }

  async offsetsAt(topic: string, timestampMs: number): Promise<PartitionOffset[]> {
    const [at, high] = await Promise.all([this.listAt(topic, BigInt(timestampMs)), this.listAt(topic, ListOffsetTimestamps.LATEST)]);
    // The broker answers -1 when no record is that recent: start at the end (what the previous client's offsets-by-timestamp call did).
    return [...high.keys()].sort((a, b) => a - b).map((partition) => {
      const offset = at.get(partition) ?? -1n;
      return { partition, offset: offset >= 0n ? offset : (high.get(partition) ?? 0n) };
    });
  }

  async committedOffsets(groupId: string, topic: string): Promise<PartitionOffset[]> {
    const partitions = await this.partitionIds(topic);
    const groups = await this.client.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes: partitions }] }] });
    const t = groups.find((g) => g.groupId === groupId)?.topics.find((x) => x.name === topic);
    return (t?.partitions ?? []).map((p) => ({ partition: p.partitionIndex, offset: p.committedOffset })).sort((a, b) => a.partition - b.partition);
  }

  async setCommittedOffsets(groupId: string, topic: string, offsets: readonly PartitionOffset[]): Promise<void> {
    try {
      await this.client.alterConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionOffsets: offsets.map((o) => ({ partition: o.partition, offset: o.offset })) }] });
    } catch (err) {
      // The library says only "The group is not empty." inside a response error: name the group and the fix.
      if (findErrorBy(err as Error, 'apiId', 'NON_EMPTY_GROUP')) throw new Error(`group ${groupId} is active (non-empty): its offsets move only while no consumer of it runs`, { cause: err });
      throw err;
    }
  }

  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    await this.client.deleteGroups({ groups: [...groupIds] });
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const group = (await this.client.describeGroups({ groups: [groupId] })).get(groupId);
    if (!group) return { state: 'Dead', members: [] };
    return {
      state: group.state,
      members: [...group.members.values()].map((m) => ({
        memberId: m.id,
        assigned: [...(m.assignments?.values() ?? [])].map((a) => ({ topic: a.topic, partitions: [...a.partitions].sort((x, y) => x - y) })),
      })),
    };
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
