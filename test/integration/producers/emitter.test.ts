import { spawn } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, decodeEvent, type ActionEvent } from '../../../src/events/index.ts';
import { loadConfig } from '../../../src/platform/config.ts';
import type { KafkaPort as ProducingPort, KafkaConnection } from '../../../src/platform/kafka/kafka-port.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { createEmitter } from '../../../src/producers/emitter.ts';
import { oneOfEach } from '../../helpers/events.ts';
import { freshTopics, readTopic, recordsIn, testBrokers, testPort, uniqueName, waitFor } from '../../helpers/kafka.ts';

/** The Kafka port: topics, reading back, and the emitters' producer. */
let kafka: ProducingPort;
let port: ProducingPort;
const dirs: string[] = [];
const ports: ProducingPort[] = [];

beforeAll(async () => {
  port = await portTo();
  kafka = port;
});
afterAll(async () => {
  for (const p of ports) await p.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A Kafka port (closed after the file); a dead broker or a slow one with `connection`. */
async function portTo(connection: Partial<KafkaConnection> = {}): Promise<ProducingPort> {
  const p = await testPort(connection);
  ports.push(p);
  return p;
}

async function spoolDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'emitter-spool-'));
  dirs.push(d);
  return d;
}

function configFor(topic: string, dir: string, extra: Record<string, string> = {}) {
  return loadConfig({}, { 'kafka.eventsTopic': topic, 'spool.dir': dir, ...extra });
}

/**
 * The fixture runs in node itself with tsx as a loader, not under the tsx command: that wrapper relays a signal to
 * its child and SIGKILLs it when the child has not reported the signal within 30 ms (on a busy machine, before
 * the emitter's SIGTERM handler could flush), and a SIGKILL of the wrapper leaves the real child running.
 */
const CHILD_ARGS = ['--import', 'tsx', resolve('test/integration/producers/fixtures/emit-until-killed.ts')];

describe('emitter on the real broker', () => {
  it('delivers events keyed by organization with schema and traceparent headers; counts invalid ones without throwing', async () => {
    const { events: topic } = await freshTopics(kafka);
    const emitter = await createEmitter(configFor(topic, await spoolDir(), { 'producer.compression': 'zstd' }), { kafka: port, logger: silentLogger });
    const sent = [...oneOfEach('org-a'), ...oneOfEach('org-b')];
    for (const e of sent) emitter.emit(e);
    expect(() => emitter.emit({ ...sent[0], node_type: 'qontak_fax_send' } as unknown as ActionEvent)).not.toThrow();
    expect(await emitter.drained(30_000)).toBe(true);
    const got = await readTopic(kafka, topic, sent.length);
    expect(got).toHaveLength(sent.length);
    for (const m of got) {
      const r = decodeEvent(m.value);
      if (!r.ok) throw new Error('invalid event on the topic');
      expect(m.key?.toString()).toBe(r.event.organization_id);
      expect(m.headers?.schema_version?.toString()).toBe('1');
    }
    // Emitted outside any span (no tracing SDK here): the event's own ids, not marked sampled.
    expect(got.find((m) => m.headers?.traceparent)?.headers?.traceparent?.toString()).toBe(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`);
    expect(emitter.stats()).toMatchObject({ accepted: 10, invalid: 1, sent: 10, dropped: 0 });
    await emitter.close();
  });

  it('emitDurable resolves only once the event is acknowledged by Kafka', async () => {
    const { events: topic } = await freshTopics(kafka, 1);
    const emitter = await createEmitter(configFor(topic, await spoolDir()), { kafka: port, logger: silentLogger });
    const [event] = oneOfEach('org-durable');
    expect(await emitter.emitDurable(event)).toEqual({ ok: true, via: 'kafka' });
    const [msg] = await readTopic(kafka, topic, 1);
    expect(JSON.parse(msg.value!.toString())).toEqual(event);
    expect(await emitter.emitDurable({ ...event, organization_id: '' })).toEqual({ ok: false, reason: 'invalid' });
    await emitter.close();
  });

  it('a send refused for one partition: the written partition is not sent again; the refused one goes to the spool and arrives once, in order, when the broker takes it', async () => {
    // The topic takes record batches of at most 8 KiB: org-1's 100 events (partition 0) are refused in one batch,
    // org-2's single event (partition 1, murmur2 of 3) is written by the same send.
    const topic = uniqueName('t-partial');
    const admin = kafka.admin();
    await admin.ensureTopics([{ topic, partitions: 3, replicationFactor: 1, settings: { 'retention.ms': '-1', 'max.message.bytes': '8192' } }]);
    const emitter = await createEmitter(configFor(topic, await spoolDir(), { 'producer.compression': 'none', 'producer.lingerMs': '50' }), { kafka: port, logger: silentLogger });
    const event = (org: string, i: number) => buildEvent({ event: 'qontak_action_invoked', source: 'partial-test', organization_id: org, node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: `s-${i}` });
    const big = Array.from({ length: 100 }, (_, i) => event('org-1', i));
    for (const e of big) emitter.emit(e);
    const small = emitter.emitDurable(event('org-2', 0));
    expect(await small).toEqual({ ok: true, via: 'kafka' });
    await waitFor(() => emitter.stats().spoolRecords === 100, { what: "org-1's refused events in the spool" });
    expect(emitter.stats()).toMatchObject({ accepted: 101, sent: 1, spooled: 100, dropped: 0 });
    expect((await readTopic(kafka, topic, 1, 10_000)).map((m) => m.key?.toString())).toEqual(['org-2']);

    try {
      await admin.setTopicSettings(topic, { 'max.message.bytes': '1048576' });
      expect(await emitter.drained(60_000)).toBe(true);
      await emitter.close();
      // The topic is fresh: its high watermarks count its records, so a second copy of org-2's event would show.
      expect(await recordsIn(kafka, topic)).toBe(101);
    } finally {
      await admin.close();
    }
    const got = await readTopic(kafka, topic, 101);
    const org1 = got.filter((m) => m.key?.toString() === 'org-1').map((m) => (JSON.parse(m.value!.toString()) as ActionEvent).event_id);
    expect(org1).toEqual(big.map((e) => e.event_id));
    expect(emitter.stats()).toMatchObject({ sent: 101, dropped: 0 });
  }, 120_000);

  it('close() with Kafka unreachable spools everything by the deadline; the next start drains the spool first', async () => {
    const { events: topic } = await freshTopics(kafka);
    const dir = await spoolDir();
    const deadKafka = await portTo({ brokers: ['127.0.0.1:9'], clientId: 'dead', connectTimeoutMs: 300 });
    const down = await createEmitter(configFor(topic, dir, { 'spool.fsync': 'never' }), { kafka: deadKafka, logger: silentLogger });
    const sent = Array.from({ length: 1000 }, (_, i) =>
      buildEvent({ event: 'qontak_action_invoked', source: 'close-test', organization_id: `org-${i % 3}`, node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: `s-${i}` }),
    );
    for (const e of sent) down.emit(e);
    await down.close(300);
    expect(down.stats()).toMatchObject({ accepted: 1000, spooled: 1000, sent: 0, dropped: 0, spoolRecords: 1000 });

    const up = await createEmitter(configFor(topic, dir), { kafka: port, logger: silentLogger });
    expect(up.stats().mode).toBe('spooling');
    up.emit(buildEvent({ event: 'qontak_action_invoked', source: 'close-test', organization_id: 'org-0', node_type: 'qontak_crm_deal_create', agent_id: 'a', conversation_id: 's-1000' }));
    expect(await up.drained(60_000)).toBe(true);
    await up.close();
    const got = await readTopic(kafka, topic, 1002, 15_000);
    const org0 = got.filter((m) => m.key?.toString() === 'org-0').map((m) => Number((JSON.parse(m.value!.toString()) as { conversation_id: string }).conversation_id.slice(2)));
    expect(got).toHaveLength(1001);
    // The event emitted after the restart comes after the spooled ones of its organization.
    expect(org0.at(-1)).toBe(1000);
    expect(org0).toEqual([...org0].sort((a, b) => a - b));
  }, 120_000);

  it('close() while the producer is still connecting waits for the connection within the deadline and sends, spooling nothing', async () => {
    const { events: topic } = await freshTopics(kafka, 1);
    // The seed broker answers nothing for 1.5 s (a broker starting up), then relays to the real one.
    const [host, port] = testBrokers()[0].split(':');
    const slow = createServer((client) => {
      const held: Buffer[] = [];
      client.on('data', (d: Buffer) => held.push(d));
      client.on('error', () => undefined);
      setTimeout(() => {
        const upstream = connect(Number(port), host, () => {
          client.removeAllListeners('data');
          for (const d of held) upstream.write(d);
          client.pipe(upstream).pipe(client);
        });
        upstream.on('error', () => client.destroy());
      }, 1500);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    try {
      const seed = `127.0.0.1:${(slow.address() as AddressInfo).port}`;
      const slowKafka = await portTo({ brokers: [seed], clientId: 'slow-start' });
      const emitter = await createEmitter(configFor(topic, await spoolDir()), { kafka: slowKafka, logger: silentLogger });
      const sent = oneOfEach('org-slow-start');
      for (const e of sent) emitter.emit(e);
      expect(emitter.stats().connected).toBe(false);
      await emitter.close(30_000);
      expect(emitter.stats()).toMatchObject({ accepted: sent.length, sent: sent.length, spooled: 0, dropped: 0, spoolRecords: 0 });
      const got = await readTopic(kafka, topic, sent.length);
      expect(got.map((m) => (JSON.parse(m.value!.toString()) as ActionEvent).event_id).sort()).toEqual(sent.map((e) => e.event_id).sort());
    } finally {
      slow.close();
    }
  }, 60_000);

  it('a full spool drops, counts and reports events; memory stays bounded by the queue capacity', async () => {
    const dir = await spoolDir();
    const deadKafka = await portTo({ brokers: ['127.0.0.1:9'], clientId: 'dead', connectTimeoutMs: 300 });
    const emitter = await createEmitter(configFor('t-unused', dir, { 'spool.maxBytes': String(1024 * 1024), 'spool.segmentBytes': String(256 * 1024), 'spool.memoryQueueEvents': '1000', 'producer.spillAfterMs': '50' }), {
      kafka: deadKafka,
      logger: silentLogger,
    });
    const pad = 'x'.repeat(100);
    for (let i = 0; i < 8000; i++) {
      emitter.emit(buildEvent({ event: 'qontak_action_configured', source: 'full-test', organization_id: `org-${i % 5}`, node_type: 'qontak_crm_deal_create', agent_id: `agent-${pad}-${i}` }));
      if (i % 500 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => emitter.stats().queued === 0, { timeoutMs: 30_000, what: 'queue to empty into the spool or be dropped' });
    const s = emitter.stats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.spooled + s.dropped).toBe(8000);
    expect(s.spoolBytes).toBeLessThanOrEqual(1024 * 1024);
    await emitter.close(100);
  }, 60_000);

  it('SIGTERM: the emitter flushes before the process exits and loses nothing: what did not reach Kafka by the deadline is in the spool, and a new emitter sends it, each event once', async () => {
    const { events: topic } = await freshTopics(kafka);
    const dir = await spoolDir();
    const child = spawn(process.execPath, CHILD_ARGS, {
      env: { ...process.env, EMIT_TOPIC: topic, EMIT_SPOOL_DIR: dir, EMIT_BROKER: testBrokers()[0], EMIT_HANDLE_SIGNALS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor(() => /emitted ([3-9]\d{3}|\d{5,})/.test(out), { timeoutMs: 300_000, what: 'child to emit 3000 events' });
    child.kill('SIGTERM');
    // 'close', not 'exit': 'exit' may come before the child's last stdout bytes (its final counts) are read.
    await new Promise((r) => child.once('close', r));
    const final = /final code (\d+) accepted (\d+) sent (\d+) spooled (\d+) dropped (\d+)/.exec(out);
    expect(final).not.toBeNull();
    // The child keeps calling emit() during shutdown: those calls are refused (dropped as `closed`) and
    // never counted as accepted, so `accepted` is exactly what must arrive.
    const [code, accepted] = final!.slice(1, 3).map(Number);
    expect(code).toBe(0);
    // On a busy machine part of the traffic may still be spooled when the shutdown deadline passes: correct,
    // as long as it is on disk. How much that is depends on speed, so only the sum is asserted.
    const emitter = await createEmitter(configFor(topic, dir), { kafka: port, logger: silentLogger });
    expect(await emitter.drained(90_000)).toBe(true);
    await emitter.close();
    const inTopic = await recordsIn(kafka, topic);
    // The topic is fresh: its high watermarks count its records, so a duplicate or a loss shows without timing.
    expect(inTopic).toBe(accepted);
    const got = await readTopic(kafka, topic, accepted, 60_000);
    const seqs = new Set(got.map((m) => (JSON.parse(m.value!.toString()) as { conversation_id: string }).conversation_id));
    expect(seqs.size).toBe(accepted);
  }, 600_000);

  it('after SIGKILL of an emitting process, a new process drains its spool: every durably spooled event arrives once', async () => {
    const { events: topic } = await freshTopics(kafka);
    const dir = await spoolDir();
    const child = spawn(process.execPath, CHILD_ARGS, {
      // Port 9 (discard) is closed here: the child's broker is down for its whole life.
      env: { ...process.env, EMIT_TOPIC: topic, EMIT_SPOOL_DIR: dir, EMIT_BROKER: '127.0.0.1:9' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let durable = 0;
    let emitted = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      const m = /durable (\d+) emitted (\d+)\s*$/.exec(chunk.toString().trim().split('\n').at(-1) ?? '');
      if (m) [durable, emitted] = [Number(m[1]), Number(m[2])];
    });
    await waitFor(() => durable >= 5000, { timeoutMs: 300_000, what: 'child to spool 5000 events' });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const durableAtKill = durable;
    expect(emitted).toBeGreaterThan(durableAtKill - 1);

    const emitter = await createEmitter(configFor(topic, dir), { kafka: port, logger: silentLogger });
    expect(emitter.stats().spoolRecords).toBeGreaterThanOrEqual(durableAtKill);
    expect(await emitter.drained(90_000)).toBe(true);
    const recovered = emitter.stats().sent;
    await emitter.close();
    const got = await readTopic(kafka, topic, recovered, 60_000);
    const seqs = got.map((m) => Number((JSON.parse(m.value!.toString()) as { conversation_id: string }).conversation_id.slice(2)));
    expect(new Set(seqs).size).toBe(seqs.length); // exactly once
    const present = new Set(seqs);
    const missing = Array.from({ length: durableAtKill }, (_, i) => i).filter((i) => !present.has(i));
    expect(missing).toEqual([]);
  }, 600_000);
});

