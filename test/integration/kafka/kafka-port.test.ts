import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent, extractSpanContext, type ActionEvent } from '../../../src/events/index.ts';
import type { IncomingRecord, KafkaPort, OutgoingRecord, SendResult } from '../../../src/platform/kafka/kafka-port.ts';
// Types only (erased): the modules themselves load on Node >= 22.22 alone, inside the tests.
import type * as AdapterModule from '../../../src/platform/kafka/platformatic-adapter.ts';
import { freeLocalPort, startLocalBroker, stopLocalBroker } from '../../../src/platform/kafka/local-broker.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';
import { testBrokers, uniqueName, waitFor } from '../../helpers/kafka.ts';

/**
 * The project's Kafka port (kafka-port.ts) on @platformatic/kafka (platformatic-adapter.ts), against a real
 * Kafka 3.9 broker: what the pipeline relies on, asserted through the port alone. The library needs Node
 * >= 22.22 (or >= 24.6): on an older Node the file is skipped, and says so.
 */
const [major, minor] = process.versions.node.split('.').map(Number);
const supported = (major === 22 && minor >= 22) || (major === 24 && minor >= 6) || major > 24;

let adapter: typeof AdapterModule;
let kafka: KafkaPort;

const events: ActionEvent[] = generateWorkload({ seed: 11, endMs: Date.UTC(2026, 0, 1), hours: 6, organizations: 5, agentsPerOrg: 4, invocations: 1500, duplicateRate: 0 }).events;

function record(e: ActionEvent): OutgoingRecord {
  const w = encodeEvent(e);
  return { key: w.key, value: w.value, headers: w.headers, timestampMs: e.timestamp };
}

function expectOk(r: SendResult): asserts r is Extract<SendResult, { ok: true }> {
  if (!r.ok) throw new Error(`send failed: ${r.reason}: ${r.detail}`);
}

async function sendAll(port: KafkaPort, topic: string, records: OutgoingRecord[], codec: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd' = 'none', batch = 1000): Promise<void> {
  const producer = port.producer({ acks: 'all', idempotent: true, codec });
  try {
    for (let i = 0; i < records.length; i += batch) expectOk(await producer.send(topic, records.slice(i, i + batch)));
  } finally {
    await producer.close();
  }
}

/** Reads `count` records from the start with a fresh group (per partition in offset order). */
async function readAll(port: KafkaPort, topic: string, count: number, timeoutMs = 60_000): Promise<IncomingRecord[]> {
  const out: IncomingRecord[] = [];
  const consumer = port.groupConsumer({ groupId: uniqueName('reader'), topics: [topic], startWhenNew: 'earliest', maxWaitMs: 200 });
  await consumer.start(async (batch) => {
    out.push(...batch.records);
  });
  try {
    await waitFor(() => out.length >= count, { timeoutMs, what: `${count} records from ${topic}` });
    // Anything more would be a duplicate: give a stray one the time to arrive.
    await new Promise((r) => setTimeout(r, 300));
    return out;
  } finally {
    await consumer.stop();
  }
}

/** Per key, the values in the order they were read (offset order within the key's partition). */
function perKey(records: { key: Buffer | string | null; value: Buffer | string | null }[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of records) {
    const k = r.key === null ? '' : r.key.toString();
    let list = m.get(k);
    if (!list) m.set(k, (list = []));
    list.push(r.value === null ? '<null>' : r.value.toString());
  }
  return m;
}

function byOffset(records: IncomingRecord[]): IncomingRecord[] {
  return [...records].sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}

async function freshTopic(partitions = 3, settings: Record<string, string> = { 'retention.ms': '-1' }): Promise<string> {
  const topic = uniqueName('t-port');
  const admin = kafka.admin();
  try {
    await admin.ensureTopics([{ topic, partitions, replicationFactor: 1, settings }]);
  } finally {
    await admin.close();
  }
  return topic;
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

describe.skipIf(!supported)(`the Kafka port on @platformatic/kafka (Node ${process.versions.node})`, () => {
  beforeAll(async () => {
    adapter = await import('../../../src/platform/kafka/platformatic-adapter.ts');
    kafka = adapter.createPlatformaticKafka({ brokers: testBrokers(), clientId: uniqueName('port-test') });
  });
  afterAll(async () => {
    await kafka?.close();
  });

  for (const codec of ['snappy', 'lz4', 'gzip', 'zstd'] as const) {
    it(`${codec}: acks=all, idempotent, ${events.length} events read back exactly (bytes, keys, headers, event time, order per organization) by us and by librdkafka`, { timeout: 120_000 }, async () => {
      const topic = await freshTopic(3);
      const sent = events.map(record);
      await sendAll(kafka, topic, sent, codec, 2000);
      const got = byOffset(await readAll(kafka, topic, sent.length));
      expect(got).toHaveLength(sent.length);
      // Compressed for real: the same records uncompressed take several times the bytes on the broker's disk.
      const plainTopic = await freshTopic(3);
      await sendAll(kafka, plainTopic, sent, 'none', 2000);
      const admin = kafka.admin();
      const [packed, plain] = await Promise.all([admin.bytesOnDisk(topic), admin.bytesOnDisk(plainTopic)]).finally(() => admin.close());
      expect(packed * 3n).toBeLessThan(plain);
      expect(perKey(got)).toEqual(perKey(sent.map((r) => ({ key: r.key, value: r.value }))));
      const sentByValue = new Map(sent.map((r) => [(r.value as Buffer).toString(), r]));
      for (const g of got) {
        const s = sentByValue.get(g.value!.toString())!;
        expect(g.headers).toEqual(s.headers);
        expect(g.timestampMs).toBe(s.timestampMs);
      }
      // librdkafka (kcat) decodes what the library compressed: same values, per key in the same order.
      const kcat = await run('kcat', ['-C', '-b', testBrokers().join(','), '-t', topic, '-e', '-q', '-f', '%k\t%s\n']);
      expect(kcat.code, kcat.stderr).toBe(0);
      const lines = kcat.stdout.split('\n').filter(Boolean).map((l) => {
        const tab = l.indexOf('\t');
        return { key: l.slice(0, tab), value: l.slice(tab + 1) };
      });
      expect(perKey(lines)).toEqual(perKey(sent.map((r) => ({ key: r.key, value: r.value }))));
    });

    it(`${codec}: batches librdkafka (kcat -z ${codec}) compressed are read exactly`, { timeout: 120_000 }, async () => {
      const topic = await freshTopic(1);
      const sent = events.slice(0, 2000).map(record);
      const input = sent.map((r) => `${String(r.key)}\t${(r.value as Buffer).toString()}\n`).join('');
      const produced = await run('kcat', ['-P', '-b', testBrokers().join(','), '-t', topic, '-z', codec, '-K', '\t', '-X', 'linger.ms=200', '-X', 'batch.size=1000000', '-X', 'acks=all'], input);
      expect(produced.code, produced.stderr).toBe(0);
      const got = byOffset(await readAll(kafka, topic, sent.length));
      expect(got.map((g) => [g.key!.toString(), g.value!.toString()])).toEqual(sent.map((r) => [String(r.key), (r.value as Buffer).toString()]));
    });
  }

  it('puts a key on the partition the Java client and the previous client put it on (murmur2), so order per organization survives the change of client', async () => {
    const topic = await freshTopic(6);
    // Computed with the previous client's DefaultPartitioner (its 2.2.4) for 6 partitions, the same as Java's.
    const expected: Record<string, number> = { '0': 2, 'org-1': 3, 'org-2': 1, 'org-3': 0, 'org-42': 3, acme: 0, 'Ünïcode-组织': 5 };
    const producer = kafka.producer({ acks: 'all', idempotent: true, codec: 'none' });
    try {
      const result = await producer.send(topic, Object.keys(expected).map((key) => ({ key, value: key })));
      expectOk(result);
    } finally {
      await producer.close();
    }
    const got = await readAll(kafka, topic, Object.keys(expected).length);
    expect(Object.fromEntries(got.map((g) => [g.key!.toString(), g.partition]))).toEqual(expected);
  });

  it('reports per partition what a send wrote: base offset and count', async () => {
    const topic = await freshTopic(3);
    const producer = kafka.producer({ acks: 'all', idempotent: true, codec: 'zstd' });
    try {
      const first = await producer.send(topic, [{ key: 'org-1', value: 'a' }, { key: 'org-2', value: 'b' }, { key: 'org-1', value: 'c' }]);
      expectOk(first);
      const second = await producer.send(topic, [{ key: 'org-1', value: 'd' }]);
      expectOk(second);
      // org-1 -> partition 0 of 3, org-2 -> 1 (murmur2).
      expect(first.partitions).toEqual([{ partition: 0, baseOffset: 0n, records: 2 }, { partition: 1, baseOffset: 0n, records: 1 }]);
      expect(second.partitions).toEqual([{ partition: 0, baseOffset: 2n, records: 1 }]);
      const missing = await producer.send(uniqueName('no-such-topic'), [{ key: 'k', value: 'v' }]);
      expect(missing.ok).toBe(false);
    } finally {
      await producer.close();
    }
  });

  it('a send refused for one partition reports the other written, and which records are still to send, in order', { timeout: 60_000 }, async () => {
    const topic = await freshTopic(2);
    const producer = kafka.producer({ acks: 'all', idempotent: true, codec: 'none' });
    try {
      // Larger than the broker's message.max.bytes (10 MiB): partition 1 is refused for good.
      const records: OutgoingRecord[] = [
        { key: 'a', value: 'a0', partition: 0 },
        { key: 'b', value: Buffer.alloc(11 * 1024 * 1024), partition: 1 },
        { key: 'a', value: 'a1', partition: 0 },
        { key: 'b', value: 'b1', partition: 1 },
      ];
      const result = await producer.send(topic, records);
      expect(result).toMatchObject({ ok: false, reason: 'refused', written: [{ partition: 0, baseOffset: 0n, records: 2 }], unwritten: [1], unwrittenRecords: [1, 3] });
      const admin = kafka.admin();
      try {
        expect((await admin.partitionRanges(topic)).map((r) => r.high)).toEqual([2n, 0n]);
      } finally {
        await admin.close();
      }
    } finally {
      await producer.close();
    }
  });

  it('close() lets a send that is being answered finish: its records are reported written, never re-sent as unwritten', { timeout: 60_000 }, async () => {
    const topic = await freshTopic(3);
    const producer = kafka.producer({ acks: 'all', idempotent: true, codec: 'none', retryForever: true });
    const records = events.slice(0, 1000).map(record);
    // One record to each partition first: the connections, producer ids and the new topic's leaders are settled, so
    // the send below is answered rather than retried (a send waiting to retry is ended by close() by design; below).
    expectOk(await producer.send(topic, [0, 1, 2].map((partition) => ({ ...record(events[1000 + partition]), partition }))));
    const sending = producer.send(topic, records);
    // The send has started (it runs after the previous one, a microtask later): close() comes while it is on the wire.
    await new Promise((r) => setImmediate(r));
    await producer.close();
    const result = await sending;
    expectOk(result);
    expect(result.partitions.reduce((n, p) => n + p.records, 0)).toBe(records.length);
    const admin = kafka.admin();
    try {
      expect((await admin.partitionRanges(topic)).reduce((n, r) => n + r.high, 0n)).toBe(BigInt(records.length + 3));
    } finally {
      await admin.close();
    }
    // A send after close() is refused at once, nothing written.
    expect(await producer.send(topic, records.slice(0, 1))).toMatchObject({ ok: false, reason: 'closed', written: [], unwrittenRecords: [0] });
  });

  it('close() ends at once a send that waits for an unreachable broker', { timeout: 30_000 }, async () => {
    // A request timeout longer than the test's own: close() must not wait for it.
    const dead = adapter.createPlatformaticKafka({ brokers: [`127.0.0.1:${await freeLocalPort()}`], clientId: uniqueName('dead'), connectTimeoutMs: 300, requestTimeoutMs: 60_000 });
    const producer = dead.producer({ acks: 'all', idempotent: true, codec: 'none', retryForever: true });
    const sending = producer.send('t-nowhere', [{ key: 'k', value: 'v' }]);
    await new Promise((r) => setTimeout(r, 500));
    await producer.close();
    expect(await sending).toMatchObject({ ok: false, reason: 'closed', written: [], unwrittenRecords: [0] });
    await dead.close();
  });

  it('hostile messages arrive byte for byte: null and empty values, null key, invalid UTF-8, a 1 MiB value, odd headers', { timeout: 60_000 }, async () => {
    const topic = await freshTopic(1);
    const invalidUtf8 = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7b]);
    const big = Buffer.alloc(1024 * 1024, 0x61);
    const sent: OutgoingRecord[] = [
      { key: 'k', value: null },
      { key: 'k', value: Buffer.alloc(0) },
      { key: null, value: 'no key', partition: 0 },
      { key: invalidUtf8, value: invalidUtf8 },
      { key: 'k', value: big },
      { key: 'k', value: '{"event":', headers: { '': 'empty name', 'x-ü': 'ünïcode', traceparent: 'not-a-traceparent' } },
    ];
    const producer = kafka.producer({ acks: 'all', idempotent: true, codec: 'lz4' });
    try {
      expectOk(await producer.send(topic, sent));
    } finally {
      await producer.close();
    }
    const got = byOffset(await readAll(kafka, topic, sent.length));
    expect(got.map((g) => g.value)).toEqual([null, Buffer.alloc(0), Buffer.from('no key'), invalidUtf8, big, Buffer.from('{"event":')]);
    expect(got.map((g) => g.key)).toEqual([Buffer.from('k'), Buffer.from('k'), null, invalidUtf8, Buffer.from('k'), Buffer.from('k')]);
    expect(got[5].headers).toEqual({ '': 'empty name', 'x-ü': 'ünïcode', traceparent: 'not-a-traceparent' });
    expect(got[5].headerList.map(([k, v]) => [k, v.toString()])).toEqual([['', 'empty name'], ['x-ü', 'ünïcode'], ['traceparent', 'not-a-traceparent']]);
  });

  it('the traceparent header round-trips: the consumer extracts the span context the producer wrote', async () => {
    const topic = await freshTopic(1);
    const traced = events.filter((e) => e.trace_id && e.span_id).slice(0, 20);
    const plain = { ...events[0], trace_id: 'c'.repeat(32), span_id: 'd'.repeat(16) };
    const sent = [...traced, plain].map(record);
    expect(sent.every((r) => r.headers?.traceparent)).toBe(true);
    await sendAll(kafka, topic, sent, 'snappy');
    const got = byOffset(await readAll(kafka, topic, sent.length));
    expect(got.map((g) => g.headers)).toEqual(sent.map((r) => r.headers));
    const ctx = extractSpanContext(got[got.length - 1].headers);
    expect(ctx?.traceId).toBe('c'.repeat(32));
    expect(ctx?.spanId).toBe('d'.repeat(16));
  });

  it('consumer group: batches are committed only after the handler resolved; a failed batch is read again; a restarted member resumes at the committed offset', { timeout: 120_000 }, async () => {
    const topic = await freshTopic(3);
    const groupId = uniqueName('sink');
    const first = Array.from({ length: 300 }, (_, i) => ({ key: `org-${i % 5}`, value: `first-${i}` }));
    await sendAll(kafka, topic, first, 'gzip', 100);
    const seen: IncomingRecord[] = [];
    let failedOnce: { partition: number; offset: bigint } | undefined;
    const a = kafka.groupConsumer({ groupId, topics: [topic], startWhenNew: 'earliest', maxWaitMs: 200, maxBatchRecords: 40 });
    await a.start(async (batch) => {
      // The sink refuses the first batch once: it must come again, from the same offset.
      if (!failedOnce) {
        failedOnce = { partition: batch.partition, offset: batch.records[0].offset };
        throw new Error('sink down');
      }
      seen.push(...batch.records);
    });
    const admin = kafka.admin();
    try {
      await waitFor(() => new Set(seen.map((r) => r.value!.toString())).size >= first.length, { timeoutMs: 60_000, what: 'every first record processed' });
      expect(seen.some((r) => r.partition === failedOnce!.partition && r.offset === failedOnce!.offset)).toBe(true);
      const ranges = await admin.partitionRanges(topic);
      await waitFor(async () => {
        const committed = await admin.committedOffsets(groupId, topic);
        return ranges.every((r) => committed.find((c) => c.partition === r.partition)?.offset === r.high);
      }, { what: 'offsets committed up to each partition end' });
      expect(a.assignment()).toEqual([{ topic, partitions: [0, 1, 2] }]);
      await a.stop();

      const second = Array.from({ length: 90 }, (_, i) => ({ key: `org-${i % 5}`, value: `second-${i}` }));
      await sendAll(kafka, topic, second, 'gzip', 30);
      const afterRestart: IncomingRecord[] = [];
      const b = kafka.groupConsumer({ groupId, topics: [topic], startWhenNew: 'earliest', maxWaitMs: 200 });
      await b.start(async (batch) => {
        afterRestart.push(...batch.records);
      });
      try {
        await waitFor(() => afterRestart.length >= second.length, { timeoutMs: 60_000, what: 'the records sent while stopped' });
        await new Promise((r) => setTimeout(r, 500));
        expect(perKey(afterRestart)).toEqual(perKey(second));
      } finally {
        await b.stop();
      }
    } finally {
      await a.stop();
      await admin.close();
    }
  });

  it('consumer group: partitions handled at the same time (partitionsConcurrently), each partition one batch at a time in offset order; onCommitted reports the next offset once committed', { timeout: 120_000 }, async () => {
    const topic = await freshTopic(3);
    const groupId = uniqueName('concurrent');
    const sent = Array.from({ length: 300 }, (_, i) => ({ key: `org-${i % 6}`, value: `c-${i}` }));
    await sendAll(kafka, topic, sent, 'gzip', 100);
    const admin = kafka.admin();
    const ranges = await admin.partitionRanges(topic);
    const handled: IncomingRecord[] = [];
    const busy = new Set<number>();
    let most = 0;
    let overlapInPartition = false;
    const commits: { partition: number; next: bigint; handledBefore: boolean }[] = [];
    const lastHandled = new Map<number, bigint>();
    const consumer = kafka.groupConsumer({
      groupId,
      topics: [topic],
      startWhenNew: 'earliest',
      maxWaitMs: 200,
      maxBatchRecords: 1000,
      partitionsConcurrently: 3,
      onCommitted: (_topic, partition, next) => commits.push({ partition, next, handledBefore: lastHandled.get(partition) === next - 1n }),
    });
    await consumer.start(async (batch) => {
      if (busy.has(batch.partition)) overlapInPartition = true;
      busy.add(batch.partition);
      most = Math.max(most, busy.size);
      // Slow enough that the other partitions' handlers start meanwhile when they run concurrently.
      await new Promise((r) => setTimeout(r, 300));
      handled.push(...batch.records);
      lastHandled.set(batch.partition, batch.records[batch.records.length - 1].offset);
      busy.delete(batch.partition);
    });
    try {
      await waitFor(() => ranges.every((r) => commits.some((c) => c.partition === r.partition && c.next === r.high)), { timeoutMs: 60_000, what: 'onCommitted at every partition end' });
      expect(most).toBeGreaterThan(1);
      expect(overlapInPartition).toBe(false);
      for (const r of ranges) {
        const offsets = handled.filter((h) => h.partition === r.partition).map((h) => h.offset);
        expect(offsets).toEqual(Array.from({ length: Number(r.high - r.low) }, (_, i) => r.low + BigInt(i)));
      }
      // Reported after the handler of the batch it ends resolved, and what the broker holds as committed.
      expect(commits.every((c) => c.handledBefore)).toBe(true);
      expect(await admin.committedOffsets(groupId, topic)).toEqual(ranges.map((r) => ({ partition: r.partition, offset: r.high })));
    } finally {
      await consumer.stop();
      await admin.close();
    }
  });

  it('consumer group: a handler slower than the fetch loop still gets every record (the stream keeps fetching after a slow batch)', { timeout: 120_000 }, async () => {
    const topic = await freshTopic(1);
    // 1 KiB records and 8 KiB per partition per fetch: many fetches, each answered while a handler still runs.
    const sent = Array.from({ length: 120 }, (_, i) => ({ key: 'k', value: `${i}:${'x'.repeat(1024)}` }));
    await sendAll(kafka, topic, sent, 'none', 40);
    const got: IncomingRecord[] = [];
    const consumer = kafka.groupConsumer({ groupId: uniqueName('slow'), topics: [topic], startWhenNew: 'earliest', maxWaitMs: 100, maxBytesPerPartition: 8 * 1024 });
    await consumer.start(async (batch) => {
      got.push(...batch.records);
      // A sink write that takes longer than a fetch round trip.
      await new Promise((r) => setTimeout(r, 300));
    });
    try {
      await waitFor(() => got.length >= sent.length, { timeoutMs: 60_000, what: `${sent.length} records through a slow handler` });
      expect(got.map((r) => r.value!.toString())).toEqual(sent.map((r) => r.value));
    } finally {
      await consumer.stop();
    }
  });

  it('offsets by timestamp for a fresh group: the group starts at the first record at or after the instant (alert rebuild, rewind)', { timeout: 60_000 }, async () => {
    const topic = await freshTopic(2);
    const t0 = Date.UTC(2026, 0, 1);
    const sent = Array.from({ length: 100 }, (_, i) => ({ key: `org-${i % 4}`, value: `at-${i}`, timestampMs: t0 + i * 1000 }));
    await sendAll(kafka, topic, sent, 'zstd', 25);
    const admin = kafka.admin();
    const groupId = uniqueName('rebuild');
    try {
      const from = t0 + 60_000;
      const starts = await admin.offsetsAt(topic, from);
      expect(starts.map((s) => s.partition)).toEqual([0, 1]);
      // After every record: each partition's end (not -1).
      const ends = await admin.partitionRanges(topic);
      expect(await admin.offsetsAt(topic, t0 + 3_600_000)).toEqual(ends.map((e) => ({ partition: e.partition, offset: e.high })));
      await admin.setCommittedOffsets(groupId, topic, starts);
      expect(await admin.committedOffsets(groupId, topic)).toEqual(starts);
      const expected = sent.filter((s) => s.timestampMs >= from);
      const got: IncomingRecord[] = [];
      const consumer = kafka.groupConsumer({ groupId, topics: [topic], startWhenNew: 'latest', maxWaitMs: 200 });
      await consumer.start(async (batch) => {
        got.push(...batch.records);
      });
      try {
        await waitFor(() => got.length >= expected.length, { what: `${expected.length} records at or after the instant` });
        await new Promise((r) => setTimeout(r, 300));
        expect(got.map((g) => g.value!.toString()).sort()).toEqual(expected.map((e) => e.value).sort());
        expect(got.every((g) => g.timestampMs >= from)).toBe(true);
      } finally {
        await consumer.stop();
      }
      await admin.deleteGroups([groupId]);
      expect(await admin.committedOffsets(groupId, topic)).toEqual(starts.map((s) => ({ partition: s.partition, offset: -1n })));
    } finally {
      await admin.close();
    }
  });

  it('admin: creates topics with settings once, describes partitions, leaders and settings, deletes them', async () => {
    const admin = kafka.admin();
    const topic = uniqueName('t-admin');
    try {
      const spec = { topic, partitions: 4, replicationFactor: 1, settings: { 'retention.ms': String(30 * 24 * 3600_000), 'min.insync.replicas': '1' } };
      expect(await admin.ensureTopics([spec])).toEqual([topic]);
      expect(await admin.ensureTopics([spec])).toEqual([]);
      const [d] = await admin.describeTopics([topic]);
      expect(d.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
      expect(d.partitions.every((p) => p.leader >= 0 && p.replicas.length === 1 && p.inSync.length === 1)).toBe(true);
      expect(d.settings).toEqual(spec.settings);
      await admin.deleteTopics([topic]);
      await waitFor(async () => (await admin.ensureTopics([{ ...spec, settings: {} }])).length === 1, { what: 'the deleted topic to be creatable again' });
      expect((await admin.describeTopics([topic]))[0].settings).toEqual({});
      await admin.deleteTopics([topic]);
    } finally {
      await admin.close();
    }
  });

  it('alerts failover: of two members on a one-partition control topic one leads; when it stops, the standby is handed the partition', { timeout: 120_000 }, async () => {
    const topic = await freshTopic(1);
    const groupId = uniqueName('alerts');
    const seenA: number[][] = [];
    const seenB: number[][] = [];
    const settings = { groupId, topics: [topic], startWhenNew: 'latest' as const, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 };
    const a = kafka.groupConsumer({ ...settings, onAssignment: (x) => seenA.push(x.flatMap((t) => t.partitions)) });
    await a.start(async () => undefined);
    await waitFor(() => seenA.at(-1)?.includes(0), { what: 'the first member to lead' });
    const b = kafka.groupConsumer({ ...settings, onAssignment: (x) => seenB.push(x.flatMap((t) => t.partitions)) });
    await b.start(async () => undefined);
    try {
      await waitFor(() => seenB.length > 0, { what: 'the second member to join' });
      await new Promise((r) => setTimeout(r, 1000));
      // Exactly one leader at a time.
      const leaders = [a, b].filter((c) => c.assignment().some((t) => t.partitions.includes(0)));
      expect(leaders).toHaveLength(1);
      const [leader, standby] = leaders[0] === a ? [a, b] : [b, a];
      await leader.stop();
      await waitFor(() => standby.assignment().some((t) => t.partitions.includes(0)), { timeoutMs: 60_000, what: 'the standby to take over' });
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe.skipIf(!supported)('the idempotent producer when its only broker is killed, or frozen, mid-produce', () => {
  it('every send resolves; each of 20,000 records is in the topic exactly once, in order per key', { timeout: 600_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ap-port-outage-'));
    const local = { dataDir, port: await freeLocalPort(), controllerPort: await freeLocalPort(), heapMb: 384, readyTimeoutMs: 180_000 };
    const broker = await startLocalBroker(local);
    const mod = await import('../../../src/platform/kafka/platformatic-adapter.ts');
    // A short request timeout, so that a frozen broker makes the producer give up on requests it already wrote.
    const port = mod.createPlatformaticKafka({ brokers: broker.brokers, clientId: 'outage', requestTimeoutMs: 4000 });
    const topic = 'outage-events';
    let frozen: number | undefined;
    try {
      const admin = port.admin();
      await admin.ensureTopics([{ topic, partitions: 3, replicationFactor: 1 }]);
      await admin.close();
      const records = Array.from({ length: 20_000 }, (_, i) => ({ key: `org-${i % 7}`, value: JSON.stringify({ n: i, pad: 'x'.repeat(100) }) }));
      const producer = port.producer({ acks: 'all', idempotent: true, codec: 'snappy', retryForever: true });
      let restarted: Promise<unknown> | undefined;
      const results: SendResult[] = [];
      const durations = new Map<number, number>();
      for (let i = 0; i < records.length; i += 500) {
        const started = Date.now();
        if (i === 12_000) {
          // Frozen, not killed: the requests are written to the broker's socket and wait there; the producer times
          // them out and retries; on thawing the broker reads the first attempt and then the retry of the same batch.
          // The restarted broker's pid (startLocalBroker keeps it in the node's folder).
          frozen = Number(readFileSync(join(dataDir, `kafka-${local.port}`, 'broker.pid'), 'utf8').trim());
          process.kill(frozen, 'SIGSTOP');
          // The freeze is proven by the broker's process state rather than by how long the next send takes.
          await waitFor(() => processState(frozen!) === 'T', { timeoutMs: 30_000, what: 'the broker stopped' });
          setTimeout(() => {
            process.kill(frozen!, 'SIGCONT');
            frozen = undefined;
          }, 12_000);
        }
        const sending = producer.send(topic, records.slice(i, i + 500));
        if (i === 5000) {
          // Killed while this send is on the wire; back after a few seconds.
          await new Promise((r) => setTimeout(r, 2));
          await stopLocalBroker({ ...local, signal: 'SIGKILL' });
          restarted = new Promise((r) => setTimeout(r, 3000)).then(() => startLocalBroker(local));
        }
        results.push(await sending);
        durations.set(i, Date.now() - started);
      }
      await restarted;
      await producer.close();
      expect(results.filter((r) => !r.ok)).toEqual([]);
      // The sends really waited through the outage.
      expect(Math.max(durations.get(5000)!, durations.get(5500)!)).toBeGreaterThanOrEqual(3000);
      const got = byOffset(await readAll(port, topic, records.length, 180_000));
      const values = got.map((g) => g.value!.toString());
      expect(values.length).toBe(records.length);
      expect(new Set(values).size).toBe(records.length);
      expect(perKey(got)).toEqual(perKey(records));
    } finally {
      if (frozen) process.kill(frozen, 'SIGCONT');
      await port.close();
      await stopLocalBroker({ ...local, signal: 'SIGKILL' }).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** A process's state letter from /proc (T: stopped by a signal). */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

describe.skipIf(!supported)('@platformatic/kafka behaviour the port is written around', () => {
  it('a failed send drops the idempotent producer id: a re-send of the same records could not be recognised by the broker', { timeout: 60_000 }, async () => {
    const lib = await import('@platformatic/kafka');
    const topic = uniqueName('t-pid');
    const admin = new lib.Admin({ clientId: 'pid-reset', bootstrapBrokers: testBrokers() });
    const producer = new lib.Producer({ clientId: 'pid-reset', bootstrapBrokers: testBrokers(), idempotent: true, acks: lib.ProduceAcks.ALL, retries: 3 });
    try {
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      await waitFor(async () => (await admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined))?.topics.get(topic)?.partitions[0]?.leader !== undefined, { what: 'a leader' });
      await producer.send({ messages: [{ topic, value: Buffer.from('a') }] });
      const before = producer.producerId;
      // Larger than the broker's message.max.bytes (10 MiB): refused for good.
      await expect(producer.send({ messages: [{ topic, value: Buffer.alloc(11 * 1024 * 1024) }] })).rejects.toThrow();
      await producer.send({ messages: [{ topic, value: Buffer.from('b') }] });
      expect(before).toBeDefined();
      expect(producer.producerId).not.toBe(before);
    } finally {
      await producer.close(true).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.close();
    }
  });
});
