import Module, { createRequire } from 'node:module';
import type * as KafkaJS from 'kafkajs';
import { createSendMessages } from './kafkajs-send-messages.ts';
import { frameRequest, produceRequestV3 } from './produce-request.ts';
import { encodeRecord, encodeRecordBatch } from './record-encoder.ts';
import { decodeMessages, decodeRecordBatch } from './record-batch-decoder.ts';

/**
 * kafkajs, loaded through here so that some of its internals are replaced first. kafkajs 2.2.4 (pinned; the
 * project is no longer released) groups a send's messages by partition with `[...current, message]` per
 * message: quadratic in the batch size. A 22,000-event batch (8 MiB, the emitter's largest) took two
 * minutes to send on this machine, a 2,000-event one a few milliseconds; the fix upstream (kafkajs pull
 * request 1576) was never released. The replacement below keeps the module's contract: the same partition
 * for each message (the configured partitioner decides), the same order within a partition.
 */
const require = createRequire(import.meta.url);

type Partitioner = (a: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number;

function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: { topic: string; partitionMetadata: unknown[]; messages: unknown[]; partitioner: Partitioner }): Record<number, unknown[]> {
  if (partitionMetadata.length === 0) return {};
  const result: Record<number, unknown[]> = {};
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

/** Puts `exports` in the module cache for kafkajs' file `path`, so that kafkajs' own requires get it. */
function replaceModule(path: string, exports: unknown): void {
  const resolved = require.resolve(path);
  const replacement = new (Module as unknown as new (id: string) => NodeJS.Module)(resolved);
  replacement.filename = resolved;
  replacement.loaded = true;
  replacement.exports = exports;
  require.cache[resolved] = replacement;
}

const groupingPath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
if (!require.cache[groupingPath]) replaceModule(groupingPath, groupMessagesPerPartition);

// A send acknowledged per partition, not per broker: see kafkajs-send-messages.ts (kafkajs lost messages when a
// partition's leader moved to a broker that had already answered during the same send).
const sendMessagesPath = require.resolve('kafkajs/src/producer/sendMessages.js');
if (!require.cache[sendMessagesPath]) replaceModule(sendMessagesPath, createSendMessages);

// Records written into one buffer each instead of an Encoder per record and per header (record-encoder.ts), and
// produce requests joined once instead of through an Encoder per level (produce-request.ts). record-encoder.ts
// loaded kafkajs' originals first (it keeps them), so these paths are already cached and are replaced here.
replaceModule('kafkajs/src/protocol/recordBatch/record/v0/index.js', encodeRecord);
replaceModule('kafkajs/src/protocol/recordBatch/v0/index.js', { RecordBatch: encodeRecordBatch, MAGIC_BYTE: 2 });
replaceModule('kafkajs/src/protocol/requests/produce/v3/request.js', produceRequestV3);
replaceModule('kafkajs/src/protocol/request.js', frameRequest);
// Fetched records read straight from each batch's buffer (record-batch-decoder.ts, which keeps kafkajs' originals).
replaceModule('kafkajs/src/protocol/recordBatch/v0/decoder.js', decodeRecordBatch);
replaceModule('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js', decodeMessages);

/**
 * kafkajs' request queue schedules its next check at `throttledUntil - Date.now()` even when nothing throttles
 * (`throttledUntil` is -1), a negative delay that Node ≥ 23 reports as TimeoutNegativeWarning on stderr on every
 * connection. Node runs such a timer after 1 ms either way, so the same check with the delay clamped to ≥ 0 is
 * the same behaviour without the warning.
 */
interface RequestQueueShape { throttledUntil: number; pending: unknown[]; throttleCheckTimeoutId: NodeJS.Timeout | null; checkPendingRequests(): void }
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueShape & { scheduleCheckPendingRequests(): void } };
RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueShape) {
  if (this.throttleCheckTimeoutId) return;
  const untilThrottleEnds = this.throttledUntil - Date.now();
  const delay = untilThrottleEnds > 0 ? untilThrottleEnds : this.pending.length > 0 ? 10 : 0;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
};

const kafkajs = require('kafkajs') as typeof KafkaJS;

/** True when the linear grouping is the one kafkajs' producer uses (false if kafkajs was loaded elsewhere first). */
export const linearGrouping = require(groupingPath) === groupMessagesPerPartition;
/** True when kafkajs' producer acknowledges sends per partition (false if kafkajs was loaded elsewhere first). */
export const partitionAcknowledgedSends = require(sendMessagesPath) === createSendMessages;
/** True when fetched batches are read by record-batch-decoder.ts (false if kafkajs was loaded elsewhere first). */
export const directRecordDecoding = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') === decodeMessages;

export const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = kafkajs;
export default kafkajs;
