import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import type { Logger } from '../logger.ts';
import { CompressionCodecs, CompressionTypes } from './kafkajs.ts';
import { lz4CompressFrame, lz4DecompressFrame } from './lz4-frame.ts';

/**
 * kafkajs only ships gzip. Producers of our topic are not all kafkajs (librdkafka, Java, Ruby clients default to
 * snappy/lz4/zstd), so the consumer must decode every codec Kafka defines.
 *
 * Each codec has a pure-JS / WASM implementation that runs everywhere, and a maintained native one that is
 * used instead wherever it loads, because it is faster on the emitter's batches (bench/codecs.ts: compressing,
 * lz4 5–8×, snappy 2–4×, zstd 1.5–3×): snappy through `snappy` and lz4 through `lz4-napi` (napi-rs packages: their
 * prebuilt binaries come from the npm registry as per-platform optional dependencies, with no compiler, install
 * script or other download), and zstd through Node's own zlib where it has zstd and rejects a truncated frame
 * (Node 24; Node 22's zlib returns an empty buffer for one, so Node 22 gets zstd-wasm). The native packages are
 * optional dependencies: on a platform without a binary, or after `npm ci --omit=optional`, the
 * JS / WASM codec is registered instead.
 * Both write what Kafka accepts and read each other's output (test/unit/platform/codecs.test.ts); the broker
 * validates every batch it is sent (test/integration/kafka/codecs.test.ts).
 */
const require = createRequire(import.meta.url);

export type CodecName = 'snappy' | 'lz4' | 'zstd';
export const CODEC_NAMES: readonly CodecName[] = ['snappy', 'lz4', 'zstd'];

/** One implementation of one codec, on whole buffers: what kafkajs compresses (a batch's records) and reads. */
export interface CodecImpl {
  /** Which library does the work, for logs and the bench. */
  readonly implementation: string;
  compress(buffer: Buffer): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

// ---- pure JS / WASM ------------------------------------------------------------------------------------------

interface ZstdWasm {
  init(): Promise<void>;
  compress(b: Uint8Array, level?: number): Uint8Array;
  decompress(b: Uint8Array, opts?: { defaultHeapSize: number }): Uint8Array;
}

const ZSTD_LEVEL = 3; // zstd's own default, and librdkafka's and the Java client's
/** zstd's ZSTD_error_dstSize_tooSmall, as zstd-wasm reports it. */
const ZSTD_DST_TOO_SMALL = /code -70\b/;
const ZSTD_WASM_MAX_OUTPUT = 1024 * 1024 * 1024;

/** True when a zstd frame's header gives its decompressed size (Frame_Content_Size, RFC 8878 §3.1.1.1). */
function zstdContentSizeKnown(b: Uint8Array): boolean {
  if (b.length < 5) return false;
  const descriptor = b[4];
  return (descriptor & 0xc0) !== 0 || (descriptor & 0x20) !== 0; // FCS field present, or single segment
}

/**
 * zstd-wasm sizes its output from the frame's content size, or 1 MiB when the frame has none: a frame written by
 * a streaming compressor (the Java client's zstd-jni, Node's async zlib) and larger than 1 MiB failed with "code
 * -70". Such a frame is retried with four times the room, up to 1 GiB.
 */
/**
 * The WASM codec returns a fresh copy of its output (Uint8Array.slice of its heap): wrap it, don't copy it again.
 * `Buffer.from(uint8Array)` copies element by element, which cost more than the decompression itself.
 */
function wrap(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function zstdWasmDecompress(zstd: ZstdWasm, b: Buffer): Buffer {
  if (zstdContentSizeKnown(b)) return wrap(zstd.decompress(b));
  for (let room = 1024 * 1024; ; room *= 4) {
    try {
      return wrap(zstd.decompress(b, { defaultHeapSize: room }));
    } catch (err) {
      if (room >= ZSTD_WASM_MAX_OUTPUT || !ZSTD_DST_TOO_SMALL.test((err as Error).message)) throw err;
    }
  }
}

const JS: Record<CodecName, () => Promise<CodecImpl>> = {
  snappy: async () => {
    const snappy = (require('kafkajs-snappy') as () => KafkajsCodec)();
    return { implementation: 'snappyjs', compress: (b) => snappy.compress({ buffer: b }), decompress: (b) => snappy.decompress(b) };
  },
  // Kafka's LZ4 is the LZ4 frame format with independent blocks (lz4-frame.ts).
  lz4: async () => ({ implementation: 'lz4-frame.ts', compress: async (b) => lz4CompressFrame(b), decompress: async (b) => lz4DecompressFrame(b) }),
  zstd: async () => {
    const zstd = require('@bokuweb/zstd-wasm') as ZstdWasm;
    await zstd.init();
    return {
      implementation: '@bokuweb/zstd-wasm',
      compress: async (b) => wrap(zstd.compress(b, ZSTD_LEVEL)),
      decompress: async (b) => zstdWasmDecompress(zstd, b),
    };
  },
};

/** The implementations that need nothing native: snappyjs, our LZ4 frame writer and reader, zstd compiled to WASM. */
export async function jsCodecs(): Promise<Record<CodecName, CodecImpl>> {
  return { snappy: await JS.snappy(), lz4: await JS.lz4(), zstd: await JS.zstd() };
}

// ---- native --------------------------------------------------------------------------------------------------

/** Java clients frame snappy the xerial way (snappy-java's SnappyOutputStream): a header, then sized chunks. */
const XERIAL_HEADER = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_CHUNKS_AT = 16; // header, then version and compatible version (4 bytes each)

/** The raw snappy chunks of a xerial-framed buffer, or undefined when it is plain snappy. */
export function xerialChunks(b: Buffer): Buffer[] | undefined {
  if (b.length < XERIAL_CHUNKS_AT || !b.subarray(0, 8).equals(XERIAL_HEADER)) return undefined;
  const chunks: Buffer[] = [];
  for (let at = XERIAL_CHUNKS_AT; at + 4 <= b.length; ) {
    const size = b.readUInt32BE(at);
    at += 4;
    if (at + size > b.length) throw new Error('snappy: xerial chunk runs past the buffer');
    chunks.push(b.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/**
 * Below this size a native call runs on the main thread, where it is quicker than a hop to libuv's thread pool and
 * back (2–3× quicker at 16–256 KB, the size of one partition's share of a batch: bench/codecs.ts); from it, in the
 * pool, where it costs no more and an 8 MiB batch does not hold the event loop for 10–40 ms.
 */
export const OFF_THREAD_FROM = 1024 * 1024;

interface SnappyNapi {
  compressSync(b: Buffer): Buffer;
  compress(b: Buffer): Promise<Buffer>;
  uncompressSync(b: Buffer, o: { asBuffer: true }): Buffer;
  uncompress(b: Buffer, o: { asBuffer: true }): Promise<Buffer>;
}

function nativeSnappy(): CodecImpl {
  const snappy = require('snappy') as SnappyNapi;
  const asBuffer = { asBuffer: true } as const;
  const uncompress = async (b: Buffer) => (b.length < OFF_THREAD_FROM ? snappy.uncompressSync(b, asBuffer) : snappy.uncompress(b, asBuffer));
  return {
    implementation: 'snappy (napi-rs)',
    compress: async (b) => (b.length < OFF_THREAD_FROM ? snappy.compressSync(b) : snappy.compress(b)),
    decompress: async (b) => {
      const chunks = xerialChunks(b);
      return chunks ? Buffer.concat(await Promise.all(chunks.map(uncompress))) : uncompress(b);
    },
  };
}

interface Lz4Napi {
  compressFrameSync(b: Buffer): Buffer;
  compressFrame(b: Buffer): Promise<Buffer>;
  decompressFrameSync(b: Buffer): Buffer;
  decompressFrame(b: Buffer): Promise<Buffer>;
}

/**
 * lz4_flex's frames: independent blocks (as Kafka requires: the broker's lz4-java decodes block by block) of at
 * most 4 MB, where Kafka's own clients write 64 KB ones; every Kafka reader takes any size the frame format allows.
 */
function nativeLz4(): CodecImpl {
  const lz4 = require('lz4-napi') as Lz4Napi;
  return {
    implementation: 'lz4-napi',
    compress: async (b) => (b.length < OFF_THREAD_FROM ? lz4.compressFrameSync(b) : lz4.compressFrame(b)),
    decompress: async (b) => (b.length < OFF_THREAD_FROM ? lz4.decompressFrameSync(b) : lz4.decompressFrame(b)),
  };
}

type ZlibCallback = (err: Error | null, result: Buffer) => void;
interface ZlibZstd {
  zstdCompress?(b: Buffer, o: object, cb: ZlibCallback): void;
  zstdDecompress?(b: Buffer, o: object, cb: ZlibCallback): void;
  zstdCompressSync?(b: Buffer, o: object): Buffer;
  zstdDecompressSync?(b: Buffer, o?: object): Buffer;
  constants: Record<string, number>;
}

const KB = 1024;
/** zlib hands each output chunk back to the main thread; 16 KB chunks halved the speed of a 1 MiB batch. */
const chunkSize = (expected: number) => Math.min(8 * KB * KB, Math.max(64 * KB, expected));

/** A zstd frame header announcing a block that never comes. */
export const TRUNCATED_ZSTD_FRAME = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38, 0x01, 0x10, 0x00]);

function nodeZstd(): CodecImpl {
  const z = zlib as unknown as ZlibZstd;
  const { zstdCompress, zstdDecompress, zstdCompressSync, zstdDecompressSync } = z;
  if (!zstdCompress || !zstdDecompress || !zstdCompressSync || !zstdDecompressSync) {
    throw new Error(`node:zlib has no zstd on Node ${process.versions.node} (it has since 22.15)`);
  }
  // Node 22's zlib returns an empty buffer for a truncated frame instead of failing (Node 24 fails with
  // Z_BUF_ERROR): a corrupt batch would then decode as no records. Such a Node does not get the native codec.
  let truncatedRejected = false;
  try {
    zstdDecompressSync(TRUNCATED_ZSTD_FRAME);
  } catch {
    truncatedRejected = true;
  }
  if (!truncatedRejected) throw new Error(`node:zlib zstd on Node ${process.versions.node} accepts a truncated frame without an error`);
  const params = { [z.constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL };
  const call = (fn: (b: Buffer, o: object, cb: ZlibCallback) => void, b: Buffer, o: object) =>
    new Promise<Buffer>((resolve, reject) => fn(b, o, (err, out) => (err ? reject(err) : resolve(out))));
  return {
    implementation: `node:zlib zstd ${process.versions.zstd ?? ''}`.trim(),
    compress: async (b) =>
      b.length < OFF_THREAD_FROM
        ? zstdCompressSync(b, { params })
        : // The size pledged up front goes in the frame header (the synchronous call puts it there itself).
          call(zstdCompress, b, { params, pledgedSrcSize: b.length, chunkSize: chunkSize(b.length) }),
    decompress: async (b) => (b.length < OFF_THREAD_FROM ? zstdDecompressSync(b) : call(zstdDecompress, b, { chunkSize: chunkSize(b.length * 8) })),
  };
}

const NATIVE: Record<CodecName, () => CodecImpl> = { snappy: nativeSnappy, lz4: nativeLz4, zstd: nodeZstd };

const PROBE = Buffer.from('actionpulse codec probe '.repeat(8));

/**
 * The native implementations that load and round-trip a probe here; the reason for each one that does not (no
 * binary for this platform, optional dependencies omitted, a Node without zstd).
 */
export async function nativeCodecs(): Promise<{ codecs: Partial<Record<CodecName, CodecImpl>>; unavailable: Partial<Record<CodecName, string>> }> {
  const codecs: Partial<Record<CodecName, CodecImpl>> = {};
  const unavailable: Partial<Record<CodecName, string>> = {};
  for (const name of CODEC_NAMES) {
    try {
      const impl = NATIVE[name]();
      if (!(await impl.decompress(await impl.compress(PROBE))).equals(PROBE)) throw new Error('probe did not round-trip');
      codecs[name] = impl;
    } catch (err) {
      unavailable[name] = (err as Error).message.split('\n')[0];
    }
  }
  return { codecs, unavailable };
}

// ---- registration --------------------------------------------------------------------------------------------

const KAFKAJS_TYPE = { snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD } as const;

let registration: Promise<Record<CodecName, string>> | undefined;

/**
 * Registers a codec for snappy, lz4 and zstd with kafkajs (once per process): the native one where it loads, else
 * the JS / WASM one. Resolves to the implementation chosen for each.
 */
export function registerCodecs(logger?: Logger): Promise<Record<CodecName, string>> {
  registration ??= (async () => {
    const { codecs: native, unavailable } = await nativeCodecs();
    const chosen = {} as Record<CodecName, string>;
    for (const name of CODEC_NAMES) {
      // The JS / WASM one is loaded only when needed (zstd-wasm compiles its module when initialised).
      const impl = native[name] ?? (await JS[name]());
      CompressionCodecs[KAFKAJS_TYPE[name]] = () => ({
        compress: (encoder: { buffer: Buffer }) => impl.compress(encoder.buffer),
        decompress: (buffer: Buffer) => impl.decompress(buffer),
      });
      chosen[name] = impl.implementation;
    }
    logger?.debug({ component: 'kafka-codecs', codecs: chosen, nativeUnavailable: unavailable }, 'kafka compression codecs registered');
    return chosen;
  })();
  return registration;
}
