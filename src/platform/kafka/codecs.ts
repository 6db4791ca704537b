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

let registered = false;

export async function registerCodecs(): Promise<void> {
  if (registered) return;
  registered = true;
  const SnappyCodec = require('kafkajs-snappy') as () => Codec;
  CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;

  // Kafka's LZ4 is the LZ4 frame format, which lz4js implements.
  const lz4 = require('lz4js') as { compress(b: Uint8Array): number[] | Uint8Array; decompress(b: Uint8Array): number[] | Uint8Array };
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => Buffer.from(lz4.compress(encoder.buffer)),
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
