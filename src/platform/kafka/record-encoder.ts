import { createRequire } from 'node:module';

/**
 * kafkajs' record and record-batch encoders, rewritten to write each record into one buffer of its exact size.
 * kafkajs builds every record and every header with its own `Encoder`, which starts at a zero-filled 512-byte
 * buffer: an event with five headers allocated about 3 KB and copied its bytes three times, and the garbage
 * collector and those copies were a third of the producer's CPU at full rate. The bytes on the wire are the
 * same as kafkajs' (test/unit/platform/record-encoder.test.ts compares them with kafkajs' own encoders).
 */
const require = createRequire(import.meta.url);

/** The part of kafkajs' `Encoder` that these replacements and their callers use. */
export interface EncoderShape {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  size(): number;
  writeInt16(v: number): EncoderShape;
  writeInt32(v: number): EncoderShape;
  writeInt64(v: unknown): EncoderShape;
  writeString(v: string | null): EncoderShape;
  writeBuffer(v: Buffer): EncoderShape;
}
export type EncoderClass = new (initialSize?: number) => EncoderShape;

const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const Long = require('kafkajs/src/utils/long.js') as { fromInt(n: number): unknown; fromValue(v: unknown): unknown };
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
const compression = require('kafkajs/src/protocol/message/compression/index.js') as {
  Types: { None: number };
  lookupCodec(type: number): { compress(encoder: { buffer: Buffer }): Promise<Buffer> };
  COMPRESSION_CODEC_MASK: number;
};

/**
 * kafkajs' own encoders, loaded before the replacements are installed (kafkajs.ts): the record one still encodes
 * what the fast path does not (a timestamp delta beyond 2^53, which no batch has), and tests compare bytes with them.
 */
export const kafkajsEncoders = {
  Record: require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: RecordInput) => EncodedRecord,
  RecordBatch: (require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: (b: RecordBatchInput) => Promise<EncoderShape> }).RecordBatch,
  /** Loaded here, so it is bound to kafkajs' own record encoders above. */
  ProduceV3: require('kafkajs/src/protocol/requests/produce/v3/request.js') as (r: unknown) => { encode(): Promise<EncoderShape> },
  frameRequest: require('kafkajs/src/protocol/request.js') as (r: unknown) => Promise<EncoderShape>,
};

type Bytes = Buffer | string | null | undefined;
type HeaderValue = Bytes | Bytes[];

export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number | string;
  key?: Bytes;
  value?: Bytes;
  headers?: Record<string, HeaderValue>;
}

/** An encoded record: what kafkajs' record-batch code reads from an `Encoder` (`buf`, `buffer`). */
export interface EncodedRecord {
  buf: Buffer;
  buffer: Buffer;
}

const zigzag32 = (v: number) => ((v << 1) ^ (v >> 31)) >>> 0;

/** Zig-zag of a safe integer as a non-negative number (exact below 2^53, which every safe delta is). */
const zigzag64 = (v: number) => (v >= 0 ? v * 2 : -v * 2 - 1);

function uvarintSize(z: number): number {
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

function writeUVarint(buf: Buffer, at: number, z: number): number {
  while (z >= 128) {
    buf[at++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[at++] = z;
  return at;
}

const byteLength = (b: Exclude<Bytes, null | undefined>) => (typeof b === 'string' ? Buffer.byteLength(b) : b.length);

function bytesSize(b: Bytes): number {
  if (b == null) return 1; // varint -1
  const n = byteLength(b);
  return uvarintSize(zigzag32(n)) + n;
}

function writeBytes(buf: Buffer, at: number, b: Bytes): number {
  if (b == null) return writeUVarint(buf, at, 1);
  if (typeof b === 'string') {
    const n = Buffer.byteLength(b);
    at = writeUVarint(buf, at, zigzag32(n));
    return at + buf.write(b, at, n, 'utf8');
  }
  at = writeUVarint(buf, at, zigzag32(b.length));
  return at + b.copy(buf, at);
}

/** One Kafka record (v2 format): length, attributes, timestamp delta, offset delta, key, value, headers. */
export function encodeRecord(record: RecordInput): EncodedRecord {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = record;
  const delta = Number(timestampDelta);
  if (!Number.isSafeInteger(delta) || !Number.isInteger(offsetDelta)) return kafkajsEncoders.Record(record);
  const hs: [string, Bytes][] = [];
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (Array.isArray(v)) for (const one of v) hs.push([k, one]);
    else hs.push([k, v]);
  }
  let body = 1 + uvarintSize(zigzag64(delta)) + uvarintSize(zigzag32(offsetDelta)) + bytesSize(key) + bytesSize(value);
  body += uvarintSize(zigzag32(hs.length));
  for (const [k, v] of hs) body += bytesSize(k) + bytesSize(v);
  const total = uvarintSize(zigzag32(body)) + body;
  const buf = Buffer.allocUnsafe(total);
  let at = writeUVarint(buf, 0, zigzag32(body));
  buf[at++] = 0; // attributes: none are used
  at = writeUVarint(buf, at, zigzag64(delta));
  at = writeUVarint(buf, at, zigzag32(offsetDelta));
  at = writeBytes(buf, at, key);
  at = writeBytes(buf, at, value);
  at = writeUVarint(buf, at, zigzag32(hs.length));
  for (const [k, v] of hs) {
    at = writeBytes(buf, at, k);
    at = writeBytes(buf, at, v);
  }
  if (at !== total) throw new Error(`record encoder wrote ${at} of ${total} bytes`);
  return { buf, buffer: buf };
}

const MAGIC_BYTE = 2;
const TRANSACTIONAL_MASK = 16;

export interface RecordBatchInput {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: unknown;
  maxTimestamp?: unknown;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: { buf: Buffer; buffer: Buffer }[];
}

/**
 * A record batch (magic 2) as kafkajs' `RecordBatch` returns it (an `Encoder`), with the records joined in one
 * copy and the batch written into one buffer of its exact size.
 */
export async function encodeRecordBatch({
  compression: codec = compression.Types.None,
  firstOffset = Long.fromInt(0),
  firstTimestamp = Date.now(),
  maxTimestamp = Date.now(),
  partitionLeaderEpoch = 0,
  lastOffsetDelta = 0,
  transactional = false,
  producerId = Long.fromValue(-1),
  producerEpoch = 0,
  firstSequence = 0,
  records = [],
}: RecordBatchInput): Promise<EncoderShape> {
  const attributes = (codec & compression.COMPRESSION_CODEC_MASK) | (transactional ? TRANSACTIONAL_MASK : 0);
  const joined = Buffer.concat(records.map((r) => r.buffer));
  const payload = codec === compression.Types.None ? joined : await compression.lookupCodec(codec).compress({ buffer: joined });
  // attributes … firstSequence is 2+4+8+8+8+2+4 bytes, then the record count.
  const bodySize = 36 + 4 + payload.length;
  const header = new Encoder(12 + 4 + 1 + 4 + 36 + 4);
  header
    .writeInt16(attributes)
    .writeInt32(lastOffsetDelta)
    .writeInt64(firstTimestamp)
    .writeInt64(maxTimestamp)
    .writeInt64(producerId)
    .writeInt16(producerEpoch)
    .writeInt32(firstSequence)
    .writeInt32(records.length);
  const fixed = header.buffer;
  const out = Buffer.allocUnsafe(8 + 4 + 4 + 1 + 4 + bodySize);
  const firstOffsetBytes = new Encoder(8).writeInt64(firstOffset).buffer;
  firstOffsetBytes.copy(out, 0);
  out.writeInt32BE(4 + 1 + 4 + bodySize, 8); // the batch's length after this field
  out.writeInt32BE(partitionLeaderEpoch, 12);
  out.writeInt8(MAGIC_BYTE, 16);
  fixed.copy(out, 21);
  payload.copy(out, 21 + fixed.length);
  // The CRC covers everything from the attributes to the end (Kafka's DefaultRecordBatch).
  out.writeUInt32BE(crc32C(out.subarray(21)), 17);
  const result = new Encoder(0);
  result.buf = out;
  result.offset = out.length;
  return result;
}
