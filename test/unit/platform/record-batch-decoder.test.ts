import { beforeAll, describe, expect, it } from 'vitest';
import { CompressionTypes, directRecordDecoding } from '../../../src/platform/kafka/kafkajs.ts';
import { registerCodecs } from '../../../src/platform/kafka/codecs.ts';
import { decodeMessages, decodeRecordBatch, kafkajsDecoders, type DecodedBatch, type DecodedRecord } from '../../../src/platform/kafka/record-batch-decoder.ts';
import { encodeRecord, encodeRecordBatch, type RecordInput } from '../../../src/platform/kafka/record-encoder.ts';

const { Decoder } = kafkajsDecoders;

const records: RecordInput[] = [
  { offsetDelta: 0, timestampDelta: 0, key: 'org-1', value: Buffer.from('{"a":1}'), headers: { schema_version: '1', event: 'x', traceparent: '00-ab-cd-01' } },
  { offsetDelta: 1, timestampDelta: '5', key: Buffer.from('org-ü'), value: 'välue', headers: {} },
  { offsetDelta: 2, timestampDelta: -3_600_000, key: null, value: null },
  { offsetDelta: 63, timestampDelta: 64, key: undefined, value: Buffer.alloc(300, 7), headers: { multi: ['a', 'bb', 'ccc'], empty: '' } },
  { offsetDelta: 70_000, timestampDelta: 2 ** 31 + 5, key: 'k', value: Buffer.alloc(20_000, 1), headers: { h: Buffer.from([0, 1, 2]) } },
  // Deltas past 49 bits take the BigInt path.
  { offsetDelta: 2 ** 30, timestampDelta: -(2 ** 52), key: 'k'.repeat(200), value: 'v' },
  { offsetDelta: 2 ** 30 + 1, timestampDelta: 2 ** 50 + 3, key: 'k', value: 'v', headers: { a: 'x', b: 'y' } },
];

interface BatchOptions { codec: number; firstOffset?: bigint | number; firstTimestamp?: number; flags?: number }

/** One encoded batch; `flags` sets attribute bits the encoder has no option for (timestamp type, control). */
async function batch({ codec, firstOffset = 0, firstTimestamp = 1_764_633_600_000, flags = 0 }: BatchOptions, rs = records): Promise<Buffer> {
  const encoded = await encodeRecordBatch({
    compression: codec,
    firstOffset: typeof firstOffset === 'bigint' ? firstOffset.toString() : firstOffset,
    firstTimestamp,
    maxTimestamp: firstTimestamp + 123,
    lastOffsetDelta: rs.length - 1,
    producerId: 4242,
    producerEpoch: 3,
    firstSequence: 1000,
    records: rs.map(encodeRecord),
  });
  const out = Buffer.from(encoded.buffer);
  // Attributes (int16) sit after baseOffset, length, leader epoch, magic and CRC; kafkajs checks no CRC.
  out.writeInt16BE(out.readInt16BE(21) | flags, 21);
  return out;
}

/** A fetch response's message set: int32 size, then the batches back to back. */
function messageSet(...batches: Buffer[]): Buffer {
  const body = Buffer.concat(batches);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** Our records read key and headers on first access (accessors, not own properties): compare every field as a plain object. */
function plain<T>(decoded: T): T {
  const record = (r: DecodedRecord) => ({ ...r, key: r.key, headers: r.headers });
  if (Array.isArray(decoded)) return decoded.map(record) as T;
  const b = decoded as DecodedBatch;
  return { ...b, records: b.records.map(record) } as T;
}

const CODECS = [
  ['none', CompressionTypes.None],
  ['gzip', CompressionTypes.GZIP],
  ['snappy', CompressionTypes.Snappy],
  ['lz4', CompressionTypes.LZ4],
  ['zstd', CompressionTypes.ZSTD],
] as const;

describe('record batch decoder', () => {
  beforeAll(() => registerCodecs());

  it("is the decoder kafkajs' fetch responses use", () => {
    expect(directRecordDecoding).toBe(true);
  });

  for (const [name, codec] of CODECS) {
    it(`reads a ${name} batch into the same records as kafkajs`, async () => {
      const bytes = await batch({ codec });
      const ours = await decodeRecordBatch(new Decoder(bytes));
      const theirs = await kafkajsDecoders.RecordBatch(new Decoder(bytes));
      expect(ours.records).toHaveLength(records.length);
      expect(plain(ours)).toEqual(theirs);
    });
  }

  it('keeps headers named like Object.prototype members as plain values (kafkajs merged them with the inherited member)', async () => {
    const hostile: RecordInput[] = [{ offsetDelta: 0, timestampDelta: 0, key: 'k', value: 'v', headers: { ['__proto__']: ['p', 'q'], constructor: 'c', toString: 't' } }];
    const [record] = (await decodeRecordBatch(new Decoder(await batch({ codec: CompressionTypes.None }, hostile)))).records;
    expect(Object.getPrototypeOf(record.headers)).toBe(Object.prototype);
    expect(Object.keys(record.headers)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(record.headers, '__proto__')?.value).toEqual([Buffer.from('p'), Buffer.from('q')]);
    expect(record.headers.constructor).toEqual(Buffer.from('c'));
    expect(record.headers.toString).toEqual(Buffer.from('t'));
  });

  it('reads a key and headers once, when first asked for, and takes new ones assigned', async () => {
    const [first, second] = (await decodeRecordBatch(new Decoder(await batch({ codec: CompressionTypes.LZ4 })))).records;
    expect(Object.keys(first)).not.toContain('headers');
    expect(first.headers).toBe(first.headers);
    expect(first.key).toBe(first.key);
    expect(first.key).toEqual(Buffer.from('org-1'));
    expect(first.headers).toEqual({ schema_version: Buffer.from('1'), event: Buffer.from('x'), traceparent: Buffer.from('00-ab-cd-01') });
    expect(second.headers).toEqual({});
    second.headers = { replaced: Buffer.from('yes') };
    second.key = null;
    expect(second.headers).toEqual({ replaced: Buffer.from('yes') });
    expect(second.key).toBeNull();
  });

  it('reads log-append-time, control and transactional batches as kafkajs does', async () => {
    for (const flags of [0x8, 0x20, 0x10, 0x8 | 0x20]) {
      const bytes = await batch({ codec: CompressionTypes.None, flags });
      expect(plain(await decodeRecordBatch(new Decoder(bytes)))).toEqual(await kafkajsDecoders.RecordBatch(new Decoder(bytes)));
    }
  });

  it('gives exact offsets and timestamps past 2^53 and before the epoch', async () => {
    for (const [firstOffset, firstTimestamp] of [[2n ** 62n, 1_764_633_600_000], [2 ** 53 - 10, -1], [12345, 0]] as const) {
      const bytes = await batch({ codec: CompressionTypes.None, firstOffset, firstTimestamp });
      const ours = await decodeRecordBatch(new Decoder(bytes));
      expect(plain(ours)).toEqual(await kafkajsDecoders.RecordBatch(new Decoder(bytes)));
      expect(ours.records[1].offset).toBe((BigInt(firstOffset) + 1n).toString());
    }
  });

  it('reads several batches of a fetch response and stops at a partial last batch, as kafkajs does', async () => {
    const first = await batch({ codec: CompressionTypes.GZIP, firstOffset: 100 });
    const second = await batch({ codec: CompressionTypes.None, firstOffset: 2 ** 31 });
    const third = await batch({ codec: CompressionTypes.ZSTD, firstOffset: 2 ** 32 });
    for (const set of [messageSet(first, second, third), messageSet(first, second, third.subarray(0, third.length - 10)), messageSet()]) {
      const ours = await decodeMessages(new Decoder(set));
      expect(plain(ours)).toEqual(await kafkajsDecoders.decodeMessages(new Decoder(set)));
    }
    expect(await decodeMessages(new Decoder(messageSet(first, second, third.subarray(0, 60))))).toHaveLength(records.length * 2);
  });

  it('returns every record of a batch too large to spread into one call', async () => {
    const many: RecordInput[] = Array.from({ length: 200_000 }, (_, i) => ({ offsetDelta: i, timestampDelta: i, key: 'k', value: 'v' }));
    const set = messageSet(await batch({ codec: CompressionTypes.None }, many));
    const ours = (await decodeMessages(new Decoder(set))) as { offset: string }[];
    expect(ours).toHaveLength(many.length);
    expect(ours[199_999].offset).toBe('199999');
    await expect(kafkajsDecoders.decodeMessages(new Decoder(set))).rejects.toThrow(RangeError);
  });
});
