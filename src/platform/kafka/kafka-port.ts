/**
 * The project's own door to Kafka, in the pipeline's words. One adapter implements it
 * (platformatic-adapter.ts on @platformatic/kafka); no other file sees a Kafka client's types. What the
 * pipeline relies on is written here as contract, so that a client change is a change of one file:
 *
 * - A send is acknowledged per partition: it succeeds only when every partition holds its records, and a
 *   failure says which partitions were written (the emitter re-sends the rest, never a written one).
 * - Records of one key go to one partition, chosen as the Java client (and the project's previous client) choose it
 *   (murmur2, positive, modulo the partition count), so per-organization order survives a client change.
 * - One send at a time per producer: a send waits for the previous one, so a partition's records are
 *   never reordered by concurrent retries.
 * - A consumer hands over batches of one partition; a batch's offsets are committed after the handler
 *   resolved and only while the partition is still this member's. A handler that throws sends the
 *   partition back to its last committed offset (read again, never skipped).
 * - Expected failures are values (`{ ok: false, reason }`), not exceptions.
 */

export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export type Acks = 'all' | 'leader';

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  /** TLS with the platform's CAs (true) or none. */
  tls?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long partition leaders learnt from the cluster are trusted before asking again (default 5 s). */
  metadataMaxAgeMs?: number;
  /** Attempts after the first of an admin request before it fails (default 5; 0 for a readiness probe). */
  adminRetries?: number;
}

/** A record to write. A null key goes to partitions in turn; `partition` overrides the key's partition. */
export interface OutgoingRecord {
  key: string | Buffer | null;
  value: Buffer | string | null;
  headers?: Record<string, string>;
  /** Milliseconds since the epoch (the event time); the broker's clock when absent. */
  timestampMs?: number;
  partition?: number;
}

export interface PartitionWrite {
  partition: number;
  /** Offset of the first of this send's records in the partition. */
  baseOffset: bigint;
  records: number;
}

export type SendFailureReason =
  /** The producer was closed before every partition acknowledged. */
  | 'closed'
  /** Retries ran out (brokers unreachable, leaders missing, too few in-sync replicas). */
  | 'unavailable'
  /** The broker refused the batch for good (too large, corrupt, not authorised). */
  | 'refused';

export type SendResult =
  | { ok: true; partitions: PartitionWrite[] }
  | {
      ok: false;
      reason: SendFailureReason;
      detail: string;
      written: PartitionWrite[];
      unwritten: number[];
      /** Indices in the send's `records` of those that went to the unwritten partitions, ascending: what to re-send. */
      unwrittenRecords: number[];
    };

export interface ProducerSettings {
  acks: Acks;
  /** Broker-side de-duplication of retried batches (producer id + sequence numbers). */
  idempotent: boolean;
  codec: Codec;
  /**
   * Retry inside the client without limit: a send during an outage stays pending (the emitter's spill timer,
   * not a send error, moves traffic to the spool). Otherwise a send gives up after a bounded number of tries.
   */
  retryForever?: boolean;
}

export interface RecordProducer {
  send(topic: string, records: readonly OutgoingRecord[]): Promise<SendResult>;
  /**
   * Ends pending sends (they resolve `{ ok: false, reason: 'closed' }`) and disconnects. A send whose requests
   * are on their way to a broker that answers gets its answer first (within the request timeout), so what
   * the broker wrote is reported written and never re-sent; a send already retrying is ended at once.
   */
  close(): Promise<void>;
}

export interface IncomingRecord {
  topic: string;
  partition: number;
  offset: bigint;
  timestampMs: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values as UTF-8 strings; of a repeated header, the last. */
  headers: Record<string, string>;
  /** Every header as sent, in order, repeats included (dead letters keep them). */
  headerList: [string, Buffer][];
}

export interface IncomingBatch {
  topic: string;
  partition: number;
  records: IncomingRecord[];
}

/**
 * Handles one batch of one partition. Resolving means "processed": the adapter commits past the batch. The
 * signal aborts when the partition is taken away (rebalance) or the consumer stops: nothing is committed then,
 * and the next owner reads the batch again. Throwing sends the partition back to its committed offset.
 */
export type BatchHandler = (batch: IncomingBatch, signal: AbortSignal) => Promise<void>;

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface GroupConsumerSettings {
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. */
  startWhenNew: 'earliest' | 'latest';
  /** Largest batch handed to the handler. */
  maxBatchRecords?: number;
  /** How long the broker may wait to fill a fetch. */
  maxWaitMs?: number;
  /** Bytes the broker waits for (up to `maxWaitMs`) before answering a fetch: fewer, larger batches. */
  minBytes?: number;
  maxBytesPerPartition?: number;
  /** Bytes of one fetch, every partition together (default 4 × `maxBytesPerPartition`). */
  maxBytes?: number;
  /**
   * Batches of different partitions handled at the same time (default 1). Each partition still hands over
   * its batches one at a time, in offset order, each committed before the next is handed over.
   */
  partitionsConcurrently?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Called after every join with this member's partitions (empty: a standby). */
  onAssignment?: (assigned: TopicPartitions[]) => void;
  /** Called once a batch's offsets are committed, with the partition's next offset to read. */
  onCommitted?: (topic: string, partition: number, nextOffset: bigint) => void;
}

export interface GroupConsumer {
  /** Joins the group and starts handing batches to `handler`; resolves once joined. */
  start(handler: BatchHandler): Promise<void>;
  /** This member's partitions as of the last join. */
  assignment(): TopicPartitions[];
  /** Aborts the handler's signal, commits nothing more, leaves the group. Safe to call twice. */
  stop(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Topic settings (retention.ms, min.insync.replicas, ...). */
  settings?: Record<string, string>;
}

export interface TopicDescription {
  topic: string;
  partitions: { partition: number; leader: number; replicas: number[]; inSync: number[] }[];
  /** The topic's settings that were set on it (not broker defaults). */
  settings: Record<string, string>;
}

export interface PartitionRange {
  partition: number;
  /** First offset still held. */
  low: bigint;
  /** Offset the next record will get. */
  high: bigint;
}

export interface PartitionOffset {
  partition: number;
  offset: bigint;
}

export interface GroupDescription {
  state: string;
  members: { memberId: string; assigned: TopicPartitions[] }[];
}

export interface KafkaAdmin {
  /** Creates the topics that are missing and waits for their leaders; returns the names it created. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<string[]>;
  /** Names of the cluster's topics. */
  listTopics(): Promise<string[]>;
  /** Node ids of the brokers the cluster reports alive, ascending. */
  clusterBrokers(): Promise<number[]>;
  describeTopics(topics: readonly string[]): Promise<TopicDescription[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** Sets these settings on an existing topic; its other settings stay as they are. */
  setTopicSettings(topic: string, settings: Record<string, string>): Promise<void>;
  partitionRanges(topic: string): Promise<PartitionRange[]>;
  /** Bytes the topic's partitions take in the brokers' log folders (leader copies and followers alike). */
  bytesOnDisk(topic: string): Promise<bigint>;
  /** Per partition, the first offset whose record is at or after `timestampMs`; the partition's end when none is. */
  offsetsAt(topic: string, timestampMs: number): Promise<PartitionOffset[]>;
  committedOffsets(groupId: string, topic: string): Promise<PartitionOffset[]>;
  /** Sets a group's committed offsets (the group must have no live member): a rewind or a fresh group's start. */
  setCommittedOffsets(groupId: string, topic: string, offsets: readonly PartitionOffset[]): Promise<void>;
  deleteGroups(groupIds: readonly string[]): Promise<void>;
  /** A consumer group's state (`Stable`, `PreparingRebalance`, `Empty`, `Dead`, …) and each member's partitions. */
  describeGroup(groupId: string): Promise<GroupDescription>;
  close(): Promise<void>;
}

export interface KafkaPort {
  producer(settings: ProducerSettings): RecordProducer;
  groupConsumer(settings: GroupConsumerSettings): GroupConsumer;
  admin(): KafkaAdmin;
  /** Closes every producer, consumer and admin made through this port. */
  close(): Promise<void>;
}
