import { createRequire } from 'node:module';
import { encodeRecord, encodeRecordBatch, type EncoderClass, type EncoderShape, type RecordInput } from './record-encoder.ts';

/**
 * kafkajs' Produce request (v3, which v4–v7 reuse) and request framing, rewritten to join their parts once.
 * kafkajs wraps each partition's batch, then each topic, then the request body, then the framed request in a
 * new `Encoder` that grows by doubling from 512 bytes: a 1 MiB batch was copied about ten times through
 * zero-filled buffers before reaching the socket. These write the same bytes (test/unit/platform/record-encoder.test.ts).
 */
const require = createRequire(import.meta.url);

const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const Long = require('kafkajs/src/utils/long.js') as { fromInt(n: number): unknown };
const PRODUCE_API_KEY = 0;
const NO_COMPRESSION = 0;

/** An `Encoder` holding `buf` as its written bytes (what kafkajs reads: `buf`, `buffer`, `size()`). */
function encoderOf(buf: Buffer): EncoderShape {
  const e = new Encoder(0);
  e.buf = buf;
  e.offset = buf.length;
  return e;
}

interface Message extends RecordInput {
  timestamp?: number | string | null;
}

interface ProduceRequestInput {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: { partition: number; firstSequence?: number; messages: Message[] }[] }[];
}

async function partitionBatch(
  compression: number,
  { messages, firstSequence }: { messages: Message[]; firstSequence?: number },
  transactional: boolean,
  producerId: unknown,
  producerEpoch: number,
): Promise<Buffer> {
  const now = Date.now();
  let first = Infinity;
  let max = -Infinity;
  for (const m of messages) {
    if (m.timestamp == null) continue;
    const t = Number(m.timestamp);
    if (t < first) first = t;
    if (t > max) max = t;
  }
  if (first === Infinity) first = max = now;
  const records = messages.map((m, i) =>
    encodeRecord({ key: m.key, value: m.value, headers: m.headers, offsetDelta: i, timestampDelta: (m.timestamp ? Number(m.timestamp) : now) - first }),
  );
  const batch = await encodeRecordBatch({
    compression,
    records,
    firstTimestamp: first,
    maxTimestamp: max,
    producerId,
    producerEpoch,
    firstSequence,
    transactional,
    lastOffsetDelta: records.length - 1,
  });
  return batch.buffer;
}

export function produceRequestV3({
  acks,
  timeout,
  transactionalId = null,
  producerId = Long.fromInt(-1),
  producerEpoch = 0,
  compression = NO_COMPRESSION,
  topicData,
}: ProduceRequestInput) {
  return {
    apiKey: PRODUCE_API_KEY,
    apiVersion: 3,
    apiName: 'Produce',
    expectResponse: () => acks !== 0,
    encode: async (): Promise<EncoderShape> => {
      const parts: Buffer[] = [new Encoder(64).writeString(transactionalId).writeInt16(acks).writeInt32(timeout).writeInt32(topicData.length).buffer];
      for (const { topic, partitions } of topicData) {
        parts.push(new Encoder(64).writeString(topic).writeInt32(partitions.length).buffer);
        for (const p of partitions) {
          const batch = await partitionBatch(compression, p, !!transactionalId, producerId, producerEpoch);
          const head = Buffer.allocUnsafe(8);
          head.writeInt32BE(p.partition, 0);
          head.writeInt32BE(batch.length, 4);
          parts.push(head, batch);
        }
      }
      return encoderOf(Buffer.concat(parts));
    },
  };
}

/** kafkajs' protocol/request.js: size, api key, version, correlation id, client id, then the request body. */
export async function frameRequest({
  correlationId,
  clientId,
  request: { apiKey, apiVersion, encode },
}: {
  correlationId: number;
  clientId: string | null;
  request: { apiKey: number; apiVersion: number; encode(): Promise<EncoderShape> };
}): Promise<EncoderShape> {
  const body = (await encode()).buffer;
  const head = new Encoder(64).writeInt32(0).writeInt16(apiKey).writeInt16(apiVersion).writeInt32(correlationId).writeString(clientId).buffer;
  head.writeInt32BE(head.length - 4 + body.length, 0);
  return encoderOf(Buffer.concat([head, body]));
}
