import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConsumerRunner } from '../../../src/consumers/consumer-runner.ts';
import { encodeEvent, type ActionEvent } from '../../../src/events/index.ts';
import { silentLogger } from '../../../src/platform/logger.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';
import { CollectingSink } from '../../helpers/collecting-sink.ts';
import { freshTopics, testBrokers, testPort, uniqueName, waitFor } from '../../helpers/kafka.ts';

/**
 * Batches compressed by librdkafka (Debian's kcat, installed by `npm test`'s set-up), read by our consumer
 * runner through the Kafka port: the client's decoders must read what the C client writes (LZ4 frames with
 * content size and checksums, snappy in Kafka's framing, zstd, gzip), in batches of many LZ4 blocks.
 */
/** Which implementation reads each codec here: @platformatic/kafka's WASM codecs, or node:zlib. */
const readers: Record<string, string> = { gzip: 'node:zlib', zstd: 'node:zlib', snappy: '@platformatic/kafka WASM', lz4: '@platformatic/kafka WASM' };
const events: ActionEvent[] = generateWorkload({ seed: 5, endMs: Date.UTC(2026, 0, 1), hours: 12, organizations: 4, agentsPerOrg: 5, invocations: 3000 }).events;

async function kcatProduce(topic: string, codec: string, lines: string): Promise<void> {
  const child = spawn('kcat', [
    '-P', '-b', testBrokers().join(','), '-t', topic, '-z', codec, '-K', '\t',
    // Large batches, as a busy librdkafka producer sends them: ~1 MB, many LZ4 blocks each.
    '-X', 'linger.ms=200', '-X', 'batch.size=1000000', '-X', 'batch.num.messages=10000', '-X', 'acks=all',
  ], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.end(lines);
  const code = await exited;
  if (code !== 0) throw new Error(`kcat -z ${codec} exited ${code}: ${stderr.slice(-2000)}`);
}

describe('batches produced by librdkafka (kcat -z) and read by our consumer', () => {
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    it(`${codec} (read by ${readers[codec]}): every event reaches the sink equal, none dead-lettered`, { timeout: 120_000 }, async () => {
      const port = await testPort();
      const topics = await freshTopics(port, 1);
      // JSON has no raw tab or newline, so one line per event with the key before a tab.
      await kcatProduce(topics.events, codec, events.map((e) => `${e.organization_id}\t${encodeEvent(e).value.toString()}\n`).join(''));
      const sink = new CollectingSink();
      const runner = new ConsumerRunner({ kafka: port, sink, groupId: uniqueName('kcat'), topic: topics.events, deadLetterTopic: topics.dlq, logger: silentLogger, fromBeginning: true });
      await runner.start();
      try {
        await waitFor(() => sink.events.length + runner.stats.deadLettered >= events.length, { timeoutMs: 90_000, what: `${events.length} events from kcat` });
        expect(runner.stats.deadLettered).toBe(0);
        expect(sink.events).toEqual(events);
      } finally {
        await runner.stop();
        await port.close();
      }
    });
  }
});
