import { createRequire } from 'node:module';
import { CompressionCodecs, CompressionTypes } from './kafkajs.ts';
import { lz4CompressFrame, lz4DecompressFrame } from './lz4-frame.ts';

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

  // Kafka's LZ4 is the LZ4 frame format with independent blocks (lz4-frame.ts).
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => lz4CompressFrame(encoder.buffer),
    decompress: async (buffer: Buffer) => lz4DecompressFrame(buffer),
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
