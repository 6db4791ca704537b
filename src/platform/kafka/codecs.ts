import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';

// CompressionCodecs is not a named export Node's ESM loader can see in kafkajs' CommonJS build.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * kafkajs only ships gzip. Producers of our topic are not all kafkajs (librdkafka, Java, Ruby clients
 * default to snappy/lz4/zstd), so the consumer must decode every codec Kafka defines. Pure-JS / WASM
 * implementations: nothing here needs a native build or a binary download.
 */
const require = createRequire(import.meta.url);

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

interface Lz4js {
  compressBound(n: number): number;
  compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
  decompress(b: Uint8Array): number[] | Uint8Array;
}

const LZ4_MAGIC = 0x184d2204;
/** FLG: version 01, block independence. No checksums, no content size: the simplest frame Kafka accepts. */
const LZ4_FLG = 0x40 | 0x20;
/** BD: 64 KB maximum block size, what Kafka's own Java producer writes. */
const LZ4_BD = 4 << 4;
const LZ4_BLOCK = 64 * 1024;
const LZ4_UNCOMPRESSED = 0x80000000;

/**
 * An LZ4 frame with independent blocks. lz4js' own `compress` writes frames whose FLG lacks the
 * block-independence bit and whose blocks reference earlier blocks (one hash table across the whole
 * input), and Kafka's broker refuses those ("Dependent block stream is unsupported"). Here every
 * block starts from an empty hash table, so a match never reaches outside its block, and the flag says so.
 */
export function lz4CompressFrame(lz4: Lz4js, src: Uint8Array): Buffer {
  const xxh32 = require('lz4js/xxh32.js') as { hash(seed: number, src: Uint8Array, index: number, length: number): number };
  const blocks = Math.max(1, Math.ceil(src.length / LZ4_BLOCK));
  const out = Buffer.allocUnsafe(7 + src.length + blocks * 4 + 4);
  out.writeUInt32LE(LZ4_MAGIC, 0);
  out[4] = LZ4_FLG;
  out[5] = LZ4_BD;
  out[6] = (xxh32.hash(0, out, 4, 2) >>> 8) & 0xff;
  let o = 7;
  const table = new Uint32Array(1 << 16);
  const blockBuf = new Uint8Array(lz4.compressBound(LZ4_BLOCK));
  for (let s = 0; s < src.length; s += LZ4_BLOCK) {
    const size = Math.min(LZ4_BLOCK, src.length - s);
    table.fill(0);
    const c = lz4.compressBlock(src, blockBuf, s, size, table);
    if (c > 0 && c < size) {
      out.writeUInt32LE(c, o);
      out.set(blockBuf.subarray(0, c), o + 4);
      o += 4 + c;
    } else {
      // Incompressible (or too short to try): stored as is, flagged by the high bit of the size.
      out.writeUInt32LE((LZ4_UNCOMPRESSED | size) >>> 0, o);
      out.set(src.subarray(s, s + size), o + 4);
      o += 4 + size;
    }
  }
  out.writeUInt32LE(0, o); // end mark
  return out.subarray(0, o + 4);
}

let registered = false;

export async function registerCodecs(): Promise<void> {
  if (registered) return;
  registered = true;
  const SnappyCodec = require('kafkajs-snappy') as () => Codec;
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;

  // Kafka's LZ4 is the LZ4 frame format: lz4js' block compressor inside our own independent-block frame;
  // lz4js' frame reader decodes frames from every producer (checksums and content size are skipped).
  const lz4 = require('lz4js') as Lz4js;
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => lz4CompressFrame(lz4, encoder.buffer),
    decompress: async (buffer: Buffer) => Buffer.from(lz4.decompress(buffer)),
  });

  const zstd = require('@bokuweb/zstd-wasm') as {
    init(): Promise<void>;
    compress(b: Uint8Array, level?: number): Uint8Array;
    decompress(b: Uint8Array): Uint8Array;
  };
  await zstd.init();
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: async (encoder: { buffer: Buffer }) => Buffer.from(zstd.compress(encoder.buffer, 3)),
    decompress: async (buffer: Buffer) => Buffer.from(zstd.decompress(buffer)),
  });
}
