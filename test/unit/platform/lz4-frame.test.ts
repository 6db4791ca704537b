import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../../../src/events/index.ts';
import { headerChecksum, lz4CompressFrame, lz4DecompressFrame } from '../../../src/platform/kafka/lz4-frame.ts';
import { generateWorkload } from '../../../src/workload/workload-generator.ts';
import { blocksOf, sequences } from '../../helpers/lz4-blocks.ts';

const BLOCK = 64 * 1024;
const events = generateWorkload({ seed: 11, endMs: Date.UTC(2026, 0, 1), hours: 24, organizations: 4, agentsPerOrg: 5, invocations: 2500 }).events;
const json = Buffer.concat(events.map((e) => encodeEvent(e).value));

describe('LZ4 frame writer (Kafka codec)', () => {
  it('writes the frame header Kafka expects: magic, version 01 with independent blocks, 64 KB blocks, header checksum', () => {
    const frame = lz4CompressFrame(json);
    expect(frame.readUInt32LE(0)).toBe(0x184d2204);
    expect(frame[4]).toBe(0x60);
    expect(frame[5]).toBe(0x40);
    // Kafka's own Java producer writes exactly these seven bytes: 04 22 4d 18 60 40 82.
    expect(frame[6]).toBe(0x82);
    expect(headerChecksum(0x60, 0x40)).toBe(0x82);
  });

  it('keeps the end-of-block rules in every block: last match starts ≥ 12 bytes before the end, last 5 bytes are literals', () => {
    const frame = lz4CompressFrame(json);
    const blocks = blocksOf(frame);
    expect(blocks.length).toBe(Math.ceil(json.length / BLOCK));
    let checked = 0;
    const broken: string[] = [];
    for (const [i, block] of blocks.entries()) {
      if (!block.compressed) continue;
      const decodedLength = Math.min(BLOCK, json.length - i * BLOCK);
      const seqs = sequences(block.data);
      const last = seqs[seqs.length - 1];
      if (last.matchLength !== 0 || last.literals < 5) broken.push(`block ${i}: ends with ${last.literals} literals`);
      for (const q of seqs) {
        if (q.matchLength === 0) continue;
        if (q.matchStart > decodedLength - 12) broken.push(`block ${i}: match at ${q.matchStart} of ${decodedLength}`);
        if (q.matchStart + q.matchLength > decodedLength - 5) broken.push(`block ${i}: match into the last 5 bytes`);
      }
      checked++;
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(5);
  });

  it('never lets a match reach into an earlier block: each block decodes on its own', () => {
    const frame = lz4CompressFrame(json);
    const blocks = blocksOf(frame);
    for (const [i, block] of blocks.entries()) {
      // A frame holding only this block decodes to this block's bytes.
      const single = Buffer.concat([frame.subarray(0, 7), Buffer.alloc(4), block.data, Buffer.alloc(4)]);
      single.writeUInt32LE(block.compressed ? block.data.length : (0x80000000 | block.data.length) >>> 0, 7);
      expect(Buffer.compare(lz4DecompressFrame(single), json.subarray(i * BLOCK, (i + 1) * BLOCK))).toBe(0);
    }
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from('x')],
    ['13 bytes, the shortest block a match fits in', Buffer.from('abcdabcdabcda')],
    ['one block exactly', json.subarray(0, BLOCK)],
    ['one block and a byte', json.subarray(0, BLOCK + 1)],
    ['a long run of one byte', Buffer.alloc(300_000, 0x61)],
    ['random bytes (stored raw)', randomBytes(150_000)],
    ['events with an incompressible block in between', Buffer.concat([json.subarray(0, 100_000), randomBytes(70_000), json])],
  ])('round-trips %s', (_name, input) => {
    const frame = lz4CompressFrame(input);
    expect(Buffer.compare(lz4DecompressFrame(frame), input)).toBe(0);
    expect(frame.length).toBeLessThanOrEqual(7 + input.length + 4 * Math.max(1, Math.ceil(input.length / BLOCK)) + 4);
  });

  it('compresses JSON events to well under half their size', () => {
    expect(lz4CompressFrame(json).length).toBeLessThan(json.length / 2);
  });
});

describe('LZ4 frame reader', () => {
  it('reads frames with content size, block checksums and a content checksum (what other producers may write)', () => {
    const plain = lz4CompressFrame(json);
    const blocks = blocksOf(plain);
    const flg = 0x60 | 0x10 | 0x08 | 0x04;
    const header = Buffer.alloc(15);
    header.writeUInt32LE(0x184d2204, 0);
    header[4] = flg;
    header[5] = 0x40;
    header.writeBigUInt64LE(BigInt(json.length), 6);
    header[14] = headerChecksum(flg, 0x40); // the reader skips it; written right all the same
    const parts: Buffer[] = [header];
    for (const b of blocks) {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(b.compressed ? b.data.length : (0x80000000 | b.data.length) >>> 0);
      parts.push(size, b.data, Buffer.from('ckck'));
    }
    parts.push(Buffer.alloc(4), Buffer.from('sum!'));
    expect(Buffer.compare(lz4DecompressFrame(Buffer.concat(parts)), json)).toBe(0);
  });

  it('refuses what is not a frame it can read, with a reason', () => {
    expect(() => lz4DecompressFrame(Buffer.from('not lz4 at all'))).toThrow(/not an LZ4 frame/);
    const truncated = lz4CompressFrame(json).subarray(0, 1000);
    expect(() => lz4DecompressFrame(truncated)).toThrow(/truncated|past|block/);
    const badOffset = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82, 3, 0, 0, 0, 0x00, 0x09, 0x00, 0, 0, 0, 0]);
    expect(() => lz4DecompressFrame(badOffset)).toThrow(/match outside the block/);
  });
});
