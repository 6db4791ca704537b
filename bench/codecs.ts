/**
 * Kafka's codecs on the bytes the emitter compresses: the records of one batch, encoded as the producer encodes
 * them (record-encoder.ts), at 16 KB to 256 KB (one partition's share of a send), 1 MiB (the default
 * `PRODUCER_BATCH_MAX_BYTES`) and 8 MiB (its maximum). Each codec by every implementation that loads here: the
 * pure-JS / WASM one and the native one that src/platform/kafka/codecs.ts registers with kafkajs ("registered": on
 * the main thread below OFF_THREAD_FROM, in libuv's pool from it), and for comparison the native packages'
 * synchronous and asynchronous calls alone, and @mongodb-js/zstd when installed. Prints compress and decompress
 * MB/s (of uncompressed bytes, one call at a time) and the ratio, and checks that every implementation's output
 * is read back equal by every other implementation of the same codec.
 *
 *   npx tsx bench/codecs.ts
 *   BENCH_CODECS_MS=600 npx tsx bench/codecs.ts   # time per figure (default 400 ms)
 */
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { encodeEvent } from '../src/events/index.ts';
import { CODEC_NAMES, jsCodecs, nativeCodecs, OFF_THREAD_FROM, type CodecName } from '../src/platform/kafka/codecs.ts';
import { encodeRecord } from '../src/platform/kafka/record-encoder.ts';
import { recordBytes } from '../src/producers/record-batch.ts';
import { generateWorkload } from '../src/workload/workload-generator.ts';

const require = createRequire(import.meta.url);
const MS = Number(process.env.BENCH_CODECS_MS ?? 400);
const SIZES = [
  // kafkajs compresses each partition's share of a send: a few KB to a few hundred at the default batch cap.
  ['16 KB', 16 * 1024],
  ['64 KB', 64 * 1024],
  ['256 KB', 256 * 1024],
  ['1 MiB', 1024 * 1024],
  ['8 MiB', 8 * 1024 * 1024],
] as const;

/** The records section of a batch of at most `cap` record bytes, as the producer's record-batch encoder joins it. */
function recordsOf(cap: number): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  let first: number | undefined;
  for (let i = 0; i < wire.length; i++) {
    const m = wire[i];
    const size = recordBytes(m);
    if (parts.length > 0 && total + size > cap) break;
    first ??= m.timestamp === undefined ? 0 : Number(m.timestamp);
    const ts = m.timestamp === undefined ? 0 : Number(m.timestamp);
    parts.push(encodeRecord({ offsetDelta: i, timestampDelta: ts - first, key: m.key, value: m.value, headers: m.headers }).buffer);
    total += size;
  }
  return Buffer.concat(parts);
}

const events = generateWorkload({ seed: 7, endMs: Date.UTC(2026, 0, 1), hours: 24, organizations: 6, agentsPerOrg: 5, invocations: 14_000 }).events;
const wire = events.map(encodeEvent);

interface Impl {
  codec: CodecName | 'gzip';
  name: string;
  compress(b: Buffer): Buffer | Promise<Buffer>;
  decompress(b: Buffer): Buffer | Promise<Buffer>;
}

/** `require(name)`, or undefined (with the reason printed) when the package is not installed or does not load. */
function optional<T>(name: string): T | undefined {
  try {
    return require(name) as T;
  } catch (err) {
    process.stdout.write(`(${name} not loaded: ${(err as Error).message.split('\n')[0]})\n`);
    return undefined;
  }
}

// What codecs.ts registers with kafkajs: the JS / WASM codecs, and the native ones that load here (async calls).
const js = await jsCodecs();
const { codecs: native, unavailable } = await nativeCodecs();
for (const [name, why] of Object.entries(unavailable)) process.stdout.write(`(native ${name} not available: ${why})\n`);
const impls: Impl[] = [{ codec: 'gzip', name: 'node zlib gzip (kafkajs)', compress: (b) => gzipSync(b), decompress: (b) => gunzipSync(b) }];
for (const codec of CODEC_NAMES) {
  impls.push({ codec, name: `${js[codec].implementation} (JS)`, compress: js[codec].compress, decompress: js[codec].decompress });
  const n = native[codec];
  if (n) impls.push({ codec, name: `${n.implementation} (registered)`, compress: n.compress, decompress: n.decompress });
}

// Other candidates and call styles, for comparison: the natives' synchronous and asynchronous calls alone (the
// registered ones switch at OFF_THREAD_FROM), @mongodb-js/zstd if installed.
const snappy = optional<{
  compressSync(b: Buffer): Buffer;
  uncompressSync(b: Buffer, o: { asBuffer: true }): Buffer;
  compress(b: Buffer): Promise<Buffer>;
  uncompress(b: Buffer, o: { asBuffer: true }): Promise<Buffer>;
}>('snappy');
if (snappy) {
  impls.push({ codec: 'snappy', name: 'snappy (napi-rs) sync', compress: (b) => snappy.compressSync(b), decompress: (b) => snappy.uncompressSync(b, { asBuffer: true }) });
  impls.push({ codec: 'snappy', name: 'snappy (napi-rs) async', compress: (b) => snappy.compress(b), decompress: (b) => snappy.uncompress(b, { asBuffer: true }) });
}
const lz4 = optional<{
  compressFrameSync(b: Buffer): Buffer;
  decompressFrameSync(b: Buffer): Buffer;
  compressFrame(b: Buffer): Promise<Buffer>;
  decompressFrame(b: Buffer): Promise<Buffer>;
}>('lz4-napi');
if (lz4) {
  impls.push({ codec: 'lz4', name: 'lz4-napi sync', compress: (b) => lz4.compressFrameSync(b), decompress: (b) => lz4.decompressFrameSync(b) });
  impls.push({ codec: 'lz4', name: 'lz4-napi async', compress: (b) => lz4.compressFrame(b), decompress: (b) => lz4.decompressFrame(b) });
}
type ZlibCallback = (e: Error | null, r: Buffer) => void;
const z = zlib as unknown as {
  zstdCompressSync?(b: Buffer, o: object): Buffer;
  zstdDecompressSync?(b: Buffer): Buffer;
  zstdCompress?(b: Buffer, o: object, cb: ZlibCallback): void;
  zstdDecompress?(b: Buffer, o: object, cb: ZlibCallback): void;
  constants: Record<string, number>;
};
if (z.zstdCompressSync && z.zstdDecompressSync && z.zstdCompress && z.zstdDecompress) {
  const { zstdCompressSync, zstdDecompressSync, zstdCompress, zstdDecompress } = z as Required<typeof z>;
  const params = { [z.constants.ZSTD_c_compressionLevel]: 3 };
  const call = (fn: (b: Buffer, o: object, cb: ZlibCallback) => void, b: Buffer, o: object) =>
    new Promise<Buffer>((resolve, reject) => fn(b, o, (err, out) => (err ? reject(err) : resolve(out))));
  impls.push({ codec: 'zstd', name: 'node:zlib zstd sync', compress: (b) => zstdCompressSync(b, { params }), decompress: (b) => zstdDecompressSync(b) });
  impls.push({ codec: 'zstd', name: 'node:zlib zstd async, 16 KB chunks', compress: (b) => call(zstdCompress, b, { params }), decompress: (b) => call(zstdDecompress, b, {}) });
}
const mongoZstd = optional<{ compress(b: Buffer, level?: number): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }>('@mongodb-js/zstd');
if (mongoZstd) impls.push({ codec: 'zstd', name: '@mongodb-js/zstd (napi-rs)', compress: (b) => mongoZstd.compress(b, 3), decompress: (b) => mongoZstd.decompress(b) });
impls.sort((a, b) => ['gzip', ...CODEC_NAMES].indexOf(a.codec) - ['gzip', ...CODEC_NAMES].indexOf(b.codec));

/** Calls `fn` until MS have passed (at least 3 times, after one warm-up call); MB/s of `bytes` per call. */
async function rate(bytes: number, fn: () => Buffer | Promise<Buffer>): Promise<number> {
  await fn();
  let n = 0;
  const started = performance.now();
  let elapsed = 0;
  while (n < 3 || elapsed < MS) {
    await fn();
    n++;
    elapsed = performance.now() - started;
  }
  return (bytes * n) / (elapsed / 1000) / 1e6;
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (v: number, n: number) => v.toFixed(0).padStart(n);

process.stdout.write(`Node ${process.version}, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; registered natives call off the main thread from ${OFF_THREAD_FROM} bytes\n`);
let mismatches = 0;
for (const [label, cap] of SIZES) {
  const input = recordsOf(cap);
  process.stdout.write(`\n${label} batch: ${input.length} bytes of records\n`);
  process.stdout.write(`${pad('codec', 7)} ${pad('implementation', 34)} ${'compress MB/s'.padStart(14)} ${'decompress MB/s'.padStart(16)} ${'ratio'.padStart(6)}\n`);
  const outputs = new Map<Impl, Buffer>();
  for (const impl of impls) {
    const compressed = await impl.compress(input);
    outputs.set(impl, compressed);
    const c = await rate(input.length, () => impl.compress(input));
    const d = await rate(input.length, () => impl.decompress(compressed));
    const ratio = input.length / compressed.length;
    process.stdout.write(`${pad(impl.codec, 7)} ${pad(impl.name, 34)} ${num(c, 14)} ${num(d, 16)} ${ratio.toFixed(2).padStart(6)}\n`);
  }
  // Every implementation must read what every other one of its codec wrote.
  for (const writer of impls) {
    for (const reader of impls) {
      if (reader.codec !== writer.codec) continue;
      const back = await (async () => reader.decompress(outputs.get(writer)!))().catch((err: Error) => err);
      if (!(back instanceof Buffer) || !back.equals(input)) {
        mismatches++;
        process.stdout.write(`MISMATCH ${label}: ${writer.name} → ${reader.name}: ${back instanceof Error ? back.message : 'different bytes'}\n`);
      }
    }
  }
}
process.stdout.write(`\ncross-decoding: ${mismatches === 0 ? 'every implementation reads every other one of its codec' : `${mismatches} mismatches`}; load ${loadavg()[0].toFixed(2)}\n`);
process.exitCode = mismatches === 0 ? 0 : 1;
