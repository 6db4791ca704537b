import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Sends lines through Kafka's own Java console producer — a client other than ours, compressing
 * the way librdkafka/Java clients do (LZ4 frames with independent blocks, as the broker requires).
 */
export async function sendWithJavaProducer(brokers: string[], topic: string, records: { key: string; value: string }[], codec: 'lz4' | 'zstd' | 'snappy' | 'gzip'): Promise<void> {
  const libs = join(process.cwd(), '.vendor/kafka/libs/*');
  const child = spawn('java', [
    '-Xmx256m', '-cp', libs, 'kafka.tools.ConsoleProducer',
    '--bootstrap-server', brokers.join(','), '--topic', topic, '--compression-codec', codec,
    '--producer-property', 'acks=all', '--producer-property', 'linger.ms=50', '--batch-size', '500',
    '--property', 'parse.key=true', '--property', 'key.separator=\t',
  ], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.end(records.map((r) => `${r.key}\t${r.value}\n`).join(''));
  const code = await exited;
  if (code !== 0) throw new Error(`java console producer exited ${code}: ${stderr.slice(-2000)}`);
}
