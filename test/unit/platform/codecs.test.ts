import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../../src/events/index.ts';
import { CODEC_NAMES, jsCodecs, nativeCodecs, registerCodecs, TRUNCATED_ZSTD_FRAME, xerialChunks, type CodecImpl, type CodecName } from '../../../src/platform/kafka/codecs.ts';
import { descriptorChecksum } from '../../../src/platform/kafka/lz4-frame.ts';
import { encodeRecord } from '../../../src/platform/kafka/record-encoder.ts';
import { recordBytes } from '../../../src/producers/record-batch.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';
import { blocksOf, sequences } from '../../helpers/lz4-blocks.ts';

/**
 * The two implementations of each codec (codecs.ts): the pure-JS / WASM one and the native one, whichever of them
 * kafkajs gets on a machine, must read each other's output, so a batch written by a process on one path is read by
 * a process on the other. The broker's acceptance of what the registered codecs write is tested against a real
 * broker in test/integration/kafka/codecs.test.ts.
 */
const wire = generateWorkload({ seed: 7, endMs: Date.UTC(2026, 0, 1), hours: 24, organizations: 6, agentsPerOrg: 5, invocations: 14_000 }).events.map(encodeEvent);

/** A batch's records section of at most `cap` record bytes, as the producer joins it before compressing. */
function records(cap: number): Buffer {
  const parts: Buffer[] = [];
  let total = 0;
  for (let i = 0; i < wire.length; i++) {
    const size = recordBytes(wire[i]);
    if (parts.length > 0 && total + size > cap) break;
    parts.push(encodeRecord({ offsetDelta: i, timestampDelta: i * 1000, key: wire[i].key, value: wire[i].value, headers: wire[i].headers }).buffer);
    total += size;
  }
  return Buffer.concat(parts);
}

/** Both sides of OFF_THREAD_FROM: native calls below it run on the main thread, from it in libuv's pool. */
const INPUTS: [string, Buffer][] = [
  ['one event', records(1)],
  ['just over one 64 KB block', records(64 * 1024 + 1)],
  ['the default 1 MiB batch', records(1024 * 1024)],
  ['the largest 8 MiB batch', records(8 * 1024 * 1024)],
  ['random bytes', randomBytes(150_000)],
];

const zlibZstd = zlib as unknown as { zstdCompress?: unknown; zstdDecompressSync?: (b: Buffer) => Buffer };
const nodeHasZstd = typeof zlibZstd.zstdCompress === 'function';
/** Node 22's zlib returns an empty buffer for a truncated zstd frame; Node 24's fails (Z_BUF_ERROR). */
function zlibRejectsTruncatedZstd(): boolean {
  try {
    zlibZstd.zstdDecompressSync!(TRUNCATED_ZSTD_FRAME);
    return false;
  } catch {
    return true;
  }
}
const nodeZstdUsable = nodeHasZstd && zlibRejectsTruncatedZstd();
/** The platforms whose native binaries the lockfile installs here and in CI. */
const nativeExpected: Record<CodecName, boolean> = {
  snappy: process.platform === 'linux' && process.arch === 'x64',
  lz4: process.platform === 'linux' && process.arch === 'x64',
  zstd: nodeZstdUsable,
};

let js: Record<CodecName, CodecImpl>;
let native: Partial<Record<CodecName, CodecImpl>>;
let unavailable: Partial<Record<CodecName, string>>;

beforeAll(async () => {
  js = await jsCodecs();
  ({ codecs: native, unavailable } = await nativeCodecs());
});

describe('native and JS codecs read each other', () => {
  it('loads every native codec this platform and Node have (snappy and lz4 on linux x64, zstd on a Node whose zlib zstd rejects a truncated frame)', () => {
    for (const name of CODEC_NAMES) {
      if (nativeExpected[name]) expect(native[name], `${name}: ${unavailable[name]}`).toBeDefined();
    }
  });

  it('registers the native codec with kafkajs where it loads, the JS one elsewhere', async () => {
    const chosen = await registerCodecs();
    for (const name of CODEC_NAMES) expect(chosen[name]).toBe((native[name] ?? js[name]).implementation);
  });

  for (const name of CODEC_NAMES) {
    for (const [label, input] of INPUTS) {
      it(`${name}, ${label}: native → JS and JS → native give back the same bytes`, async () => {
        const n = native[name];
        if (!n) return expect(nativeExpected[name]).toBe(false);
        expect((await js[name].decompress(await n.compress(input))).equals(input)).toBe(true);
        expect((await n.decompress(await js[name].compress(input))).equals(input)).toBe(true);
        expect((await n.decompress(await n.compress(input))).equals(input)).toBe(true);
        expect((await js[name].decompress(await js[name].compress(input))).equals(input)).toBe(true);
      }, 30_000);
    }
  }
});

describe('corrupt input', () => {
  /** An LZ4 frame header declaring a 2^50-byte content, with its header checksum right, then one stored byte. */
  function lz4ClaimingPetabytes(): Buffer {
    const h = Buffer.alloc(15);
    h.writeUInt32LE(0x184d2204, 0);
    h[4] = 0x60 | 0x08;
    h[5] = 0x40;
    h.writeBigUInt64LE(1n << 50n, 6);
    h[14] = descriptorChecksum(h.subarray(4, 14));
    return Buffer.concat([h, Buffer.from([1, 0, 0, 0x80, 0x61]), Buffer.alloc(4)]);
  }
  const CORRUPT: Record<CodecName, [string, Buffer][]> = {
    snappy: [
      ['garbage', Buffer.from('not snappy at all, just bytes')],
      ['a header claiming 4 GB', Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61])],
    ],
    lz4: [
      ['garbage', Buffer.from('not lz4 at all, just bytes')],
      ['a frame claiming 2^50 bytes', lz4ClaimingPetabytes()],
    ],
    zstd: [
      ['garbage', Buffer.from('not zstd at all, just bytes')],
      ['a truncated frame', TRUNCATED_ZSTD_FRAME],
    ],
  };
  for (const name of CODEC_NAMES) {
    for (const [label, input] of CORRUPT[name]) {
      it(`${name}, ${label}: both implementations reject it (a hostile batch fails, it does not take the process down)`, async () => {
        await expect(js[name].decompress(input)).rejects.toThrow();
        if (native[name]) await expect(native[name].decompress(input)).rejects.toThrow();
      });
    }
  }
});

describe('snappy', () => {
  it('both read xerial framing (how Java clients write snappy): a header, then sized raw chunks', async () => {
    const input = records(1024 * 1024);
    const half = input.length >> 1;
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const chunk = async (b: Buffer) => {
      const c = await js.snappy.compress(b);
      const size = Buffer.alloc(4);
      size.writeUInt32BE(c.length);
      return [size, c];
    };
    const framed = Buffer.concat([header, ...(await chunk(input.subarray(0, half))), ...(await chunk(input.subarray(half)))]);
    expect(xerialChunks(framed)).toHaveLength(2);
    for (const impl of [js.snappy, native.snappy]) if (impl) expect((await impl.decompress(framed)).equals(input)).toBe(true);
    expect(xerialChunks(await js.snappy.compress(input))).toBeUndefined();
  });
});

describe('lz4', () => {
  it('native frames have independent blocks that keep the end-of-block rules (what the broker’s lz4-java checks)', async () => {
    if (!native.lz4) return expect(nativeExpected.lz4).toBe(false);
    const input = records(8 * 1024 * 1024);
    const frame = await native.lz4.compress(input);
    expect(frame.readUInt32LE(0)).toBe(0x184d2204);
    expect(frame[4] & 0xc0).toBe(0x40); // version 01
    expect(frame[4] & 0x20).toBe(0x20); // independent blocks
    expect(frame[4] & 0x09).toBe(0); // no content size in the header (7 bytes), no dictionary
    const blockMax = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 }[(frame[5] >> 4) & 7]!;
    const broken: string[] = [];
    let at = 0;
    for (const [i, block] of blocksOf(frame).entries()) {
      const length = Math.min(blockMax, input.length - at);
      if (block.compressed) {
        const seqs = sequences(block.data);
        const last = seqs[seqs.length - 1];
        if (last.matchLength !== 0 || last.literals < 5) broken.push(`block ${i}: ends with ${last.literals} literals`);
        for (const q of seqs) if (q.matchLength > 0 && (q.matchStart > length - 12 || q.matchStart + q.matchLength > length - 5)) broken.push(`block ${i}: late match`);
        // Independent: the block decodes alone into its own bytes.
        const single = Buffer.concat([frame.subarray(0, 7), Buffer.alloc(4), block.data, Buffer.alloc(4)]);
        single.writeUInt32LE(block.data.length, 7);
        expect((await js.lz4.decompress(single)).equals(input.subarray(at, at + length))).toBe(true);
      }
      at += length;
    }
    expect(at).toBe(input.length);
    expect(broken).toEqual([]);
  });
});

describe('zstd', () => {
  it('Node\'s zlib zstd is used only where it rejects a truncated frame (Node 22 returns an empty buffer for one)', async () => {
    const { codecs, unavailable } = await nativeCodecs();
    if (!nodeHasZstd) expect(unavailable.zstd).toMatch(/no zstd/);
    else if (zlibRejectsTruncatedZstd()) expect(codecs.zstd?.implementation).toMatch(/^node:zlib zstd/);
    else expect(unavailable.zstd).toMatch(/accepts a truncated frame without an error/);
  });

  /** A zstd frame of raw blocks whose header omits the content size, as a streaming compressor writes it. */
  function streamedFrame(input: Buffer): Buffer {
    const BLOCK = 128 * 1024;
    const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // magic; no content size, no checksum; 128 KB window
    for (let at = 0; at < input.length; at += BLOCK) {
      const data = input.subarray(at, at + BLOCK);
      const last = at + BLOCK >= input.length ? 1 : 0;
      const header = Buffer.alloc(3);
      header.writeUIntLE((data.length << 3) | last, 0, 3); // block type 0: raw
      parts.push(header, data);
    }
    return Buffer.concat(parts);
  }

  it.each([
    ['200 KB', 200 * 1024],
    ['3 MiB, more than zstd-wasm gives a frame without its size', 3 * 1024 * 1024],
  ])('both read a frame without its content size (Java clients stream zstd): %s', async (_label, size) => {
    const input = records(size);
    const frame = streamedFrame(input);
    expect((await js.zstd.decompress(frame)).equals(input)).toBe(true);
    if (native.zstd) expect((await native.zstd.decompress(frame)).equals(input)).toBe(true);
  });
});
