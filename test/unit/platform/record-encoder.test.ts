import { describe, expect, it } from 'vitest';
import { CompressionTypes } from '../../../src/platform/kafka/kafkajs.ts';
import { frameRequest, produceRequestV3 } from '../../../src/platform/kafka/produce-request.ts';
import { encodeRecord, encodeRecordBatch, kafkajsEncoders, type RecordInput } from '../../../src/platform/kafka/record-encoder.ts';

const records: RecordInput[] = [
  { offsetDelta: 0, timestampDelta: 0, key: 'org-1', value: Buffer.from('{"a":1}'), headers: { schema_version: '1', event: 'x' } },
  { offsetDelta: 1, timestampDelta: '5', key: Buffer.from('org-ü'), value: 'välue', headers: {} },
  { offsetDelta: 63, timestampDelta: 64, key: null, value: null },
  { offsetDelta: 64, timestampDelta: -65, key: undefined, value: Buffer.alloc(300, 7), headers: { multi: ['a', 'bb'], empty: '' } },
  { offsetDelta: 70_000, timestampDelta: 2 ** 31 + 5, key: 'k', value: Buffer.alloc(20_000, 1), headers: { h: Buffer.from([0, 1, 2]) } },
  { offsetDelta: 2 ** 30, timestampDelta: -(2 ** 40), key: 'k'.repeat(200), value: 'v' },
];

describe('record encoder', () => {
  it('writes each record byte for byte as kafkajs does', () => {
    for (const r of records) expect(encodeRecord(r).buffer.equals(kafkajsEncoders.Record(r).buffer)).toBe(true);
  });

  for (const [name, codec] of [['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP]] as const) {
    it(`writes a ${name} record batch byte for byte as kafkajs does`, async () => {
      const batch = {
        compression: codec,
        firstTimestamp: '1764633600000',
        maxTimestamp: 1764633600123,
        lastOffsetDelta: records.length - 1,
        producerId: 4242,
        producerEpoch: 3,
        firstSequence: 1000,
      };
      const ours = await encodeRecordBatch({ ...batch, records: records.map(encodeRecord) });
      const theirs = await kafkajsEncoders.RecordBatch({ ...batch, records: records.map(kafkajsEncoders.Record) });
      expect(ours.size()).toBe(theirs.size());
      expect(ours.buffer.equals(theirs.buffer)).toBe(true);
    });
  }

  it('writes an empty batch as kafkajs does', async () => {
    const ours = await encodeRecordBatch({ records: [], firstTimestamp: 1, maxTimestamp: 1 });
    const theirs = await kafkajsEncoders.RecordBatch({ records: [], firstTimestamp: 1, maxTimestamp: 1 });
    expect(ours.buffer.equals(theirs.buffer)).toBe(true);
  });
});

describe('produce request', () => {
  const topicData = [
    { topic: 'events', partitions: [{ partition: 0, firstSequence: 7, messages: [{ key: 'org-1', value: Buffer.from('{}'), headers: { a: 'b' }, timestamp: '1764633600005' }, { key: 'org-1', value: Buffer.from('{"x":1}'), timestamp: '1764633600001' }] }, { partition: 3, firstSequence: 0, messages: [{ key: null, value: Buffer.alloc(5000, 3) }] }] },
    { topic: 'other', partitions: [{ partition: 1, firstSequence: 2, messages: [{ key: 'k', value: 'v', timestamp: 1764633600000 }] }] },
  ];

  for (const [name, codec] of [['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP]] as const) {
    it(`frames a ${name} Produce request byte for byte as kafkajs does`, async () => {
      const now = Date.now;
      Date.now = () => 1764633600009; // the batch without timestamps takes the time of encoding
      try {
        const input = { acks: -1, timeout: 30_000, producerId: 42, producerEpoch: 1, compression: codec, topicData };
        const frame = (request: { encode(): Promise<unknown> }) => ({ correlationId: 9, clientId: 'actionpulse', request: { apiKey: 0, apiVersion: 7, ...request } });
        const ours = await frameRequest(frame(produceRequestV3(input)) as Parameters<typeof frameRequest>[0]);
        const theirs = await kafkajsEncoders.frameRequest(frame(kafkajsEncoders.ProduceV3(input)));
        expect(ours.buffer.equals(theirs.buffer)).toBe(true);
      } finally {
        Date.now = now;
      }
    });
  }
});
