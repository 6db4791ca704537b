/**
 * Kafka's LZ4 codec is the LZ4 frame format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md)
 * holding LZ4 blocks (lz4_Block_format.md). Written here rather than taken from lz4js, whose block
 * compressor breaks two rules of the block format: a match may start fewer than 12 bytes before the end of
 * a block (MFLIMIT), and its frames chain blocks through one hash table. The reference decoder (lz4 -d, and
 * lz4-java inside the broker, which decodes each block into a 64 KB buffer) refuses such a block, so a batch
 * failed as soon as one of its full 64 KB blocks happened to end in a late match: "The server experienced an
 * unexpected error" on large batches while small ones passed. Used where the native lz4-napi does not load
 * (codecs.ts), and as the reference that lz4-napi's frames are checked against (test/unit/platform/codecs.test.ts).
 */

const MAGIC = 0x184d2204;
/** FLG: version 01, independent blocks; no block checksums, no content size, no content checksum. */
const FLG_VERSION = 0x40;
const FLG_BLOCK_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_DICT_ID = 0x01;
/** BD: 64 KB blocks, what Kafka's own Java producer (KafkaLZ4BlockOutputStream) and librdkafka write. */
const BD_64KB = 4 << 4;
const BLOCK_SIZE = 64 * 1024;
const BLOCK_MAX: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };
const UNCOMPRESSED_BIT = 0x80000000;

// Block format constants (lz4_Block_format.md, "End of block conditions").
const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals. */
const LAST_LITERALS = 5;
/** The last match must start at least 12 bytes before the end of the block. */
const MF_LIMIT = 12;
const MAX_OFFSET = 65535;
const HASH_LOG = 14;

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** xxHash32 of a short input (the frame descriptor): only the tail loop of the algorithm is reached. */
function xxh32Short(b: Uint8Array, start: number, len: number): number {
  let h = (PRIME32_5 + len) | 0;
  let i = start;
  const end = start + len;
  for (; i + 4 <= end; i += 4) {
    const v = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    h = Math.imul(rotl((h + Math.imul(v, PRIME32_3)) | 0, 17), PRIME32_4);
  }
  for (; i < end; i++) h = Math.imul(rotl((h + Math.imul(b[i], PRIME32_5)) | 0, 11), PRIME32_1);
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The header checksum of a frame descriptor (FLG, BD and the optional fields, at most 14 bytes): second byte of its xxh32. */
export function descriptorChecksum(descriptor: Uint8Array): number {
  return (xxh32Short(descriptor, 0, descriptor.length) >>> 8) & 0xff;
}

/** The header checksum of a descriptor of FLG and BD alone (what this writer writes). */
export function headerChecksum(flg: number, bd: number): number {
  return descriptorChecksum(Uint8Array.of(flg, bd));
}

function read32(b: Uint8Array, i: number): number {
  return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
}

function writeLength(dst: Uint8Array, d: number, n: number): number {
  for (; n >= 255; n -= 255) dst[d++] = 255;
  dst[d++] = n;
  return d;
}

/**
 * Compresses `src[start, end)` as one LZ4 block into `dst` at `d`; returns the new write position.
 * `table` maps a hash to the last position seen; entries below `start` belong to an earlier block and are
 * ignored, which keeps every block independent without clearing the table.
 */
function compressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, d: number, table: Int32Array): number {
  let anchor = start;
  if (end - start > MF_LIMIT) {
    const mfLimit = end - MF_LIMIT; // last position a match may start at
    const matchLimit = end - LAST_LITERALS; // a match ends before the last literals
    let ip = start;
    let misses = 0;
    while (ip <= mfLimit) {
      const seq = read32(src, ip);
      const h = Math.imul(seq, PRIME32_1) >>> (32 - HASH_LOG);
      let ref = table[h];
      table[h] = ip;
      if (ref < start || ip - ref > MAX_OFFSET || read32(src, ref) !== seq) {
        // Skip faster through data that does not compress, as the reference compressor does.
        ip += 1 + (misses++ >> 6);
        continue;
      }
      misses = 0;
      // Extend backwards over literals that also match.
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let len = MIN_MATCH;
      while (ip + len < matchLimit && src[ip + len] === src[ref + len]) len++;
      const literals = ip - anchor;
      const token = d++;
      const ml = len - MIN_MATCH;
      dst[token] = ((literals >= 15 ? 15 : literals) << 4) | (ml >= 15 ? 15 : ml);
      if (literals >= 15) d = writeLength(dst, d, literals - 15);
      dst.set(src.subarray(anchor, ip), d);
      d += literals;
      const offset = ip - ref;
      dst[d++] = offset & 0xff;
      dst[d++] = offset >>> 8;
      if (ml >= 15) d = writeLength(dst, d, ml - 15);
      ip += len;
      anchor = ip;
      // The position two bytes back often starts the next match.
      if (ip - 2 >= start && ip - 2 <= mfLimit) table[Math.imul(read32(src, ip - 2), PRIME32_1) >>> (32 - HASH_LOG)] = ip - 2;
    }
  }
  const literals = end - anchor;
  dst[d++] = (literals >= 15 ? 15 : literals) << 4;
  if (literals >= 15) d = writeLength(dst, d, literals - 15);
  dst.set(src.subarray(anchor, end), d);
  return d + literals;
}

/** An LZ4 frame of independent 64 KB blocks, each stored raw when compressing would not shrink it. */
export function lz4CompressFrame(src: Uint8Array): Buffer {
  const blocks = Math.max(1, Math.ceil(src.length / BLOCK_SIZE));
  const out = Buffer.allocUnsafe(7 + src.length + blocks * 4 + 4);
  out.writeUInt32LE(MAGIC, 0);
  out[4] = FLG_VERSION | FLG_BLOCK_INDEPENDENT;
  out[5] = BD_64KB;
  out[6] = headerChecksum(out[4], out[5]);
  let o = 7;
  const table = new Int32Array(1 << HASH_LOG).fill(-1);
  // Worst case of one block: every byte a literal, plus the length bytes.
  const scratch = Buffer.allocUnsafe(BLOCK_SIZE + Math.ceil(BLOCK_SIZE / 255) + 16);
  for (let s = 0; s < src.length; s += BLOCK_SIZE) {
    const e = Math.min(src.length, s + BLOCK_SIZE);
    const c = compressBlock(src, s, e, scratch, 0, table);
    if (c < e - s) {
      out.writeUInt32LE(c, o);
      scratch.copy(out, o + 4, 0, c);
      o += 4 + c;
    } else {
      out.writeUInt32LE((UNCOMPRESSED_BIT | (e - s)) >>> 0, o);
      out.set(src.subarray(s, e), o + 4);
      o += 4 + e - s;
    }
  }
  out.writeUInt32LE(0, o); // end mark
  return out.subarray(0, o + 4);
}

export class Lz4FrameError extends Error {}

function decompressBlock(src: Uint8Array, s: number, end: number, dst: Buffer, d: number, dEnd: number): number {
  while (s < end) {
    const token = src[s++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b;
      do {
        if (s >= end) throw new Lz4FrameError('lz4: literal length runs past the block');
        b = src[s++];
        literals += b;
      } while (b === 255);
    }
    if (s + literals > end || d + literals > dEnd) throw new Lz4FrameError('lz4: literals run past the block');
    dst.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s === end) break; // the last sequence has no match
    if (s + 2 > end) throw new Lz4FrameError('lz4: truncated match offset');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    let len = token & 15;
    if (len === 15) {
      let b;
      do {
        if (s >= end) throw new Lz4FrameError('lz4: match length runs past the block');
        b = src[s++];
        len += b;
      } while (b === 255);
    }
    len += MIN_MATCH;
    let ref = d - offset;
    if (offset === 0 || ref < 0 || d + len > dEnd) throw new Lz4FrameError('lz4: match outside the block');
    if (offset >= len) {
      dst.copyWithin(d, ref, ref + len);
      d += len;
    } else {
      // Overlapping match: a repeating pattern, copied byte by byte.
      for (const stop = d + len; d < stop; ) dst[d++] = dst[ref++];
    }
  }
  return d;
}

/**
 * Decodes an LZ4 frame from any producer (Java, librdkafka, kafkajs): block and content checksums and the
 * content size are skipped over (the broker and the record batch CRC already guard the bytes); a dictionary
 * or an unknown version is refused.
 */
export function lz4DecompressFrame(src: Uint8Array): Buffer {
  if (src.length < 7 || read32(src, 0) >>> 0 !== MAGIC) throw new Lz4FrameError('lz4: not an LZ4 frame');
  const flg = src[4];
  if ((flg & 0xc0) !== FLG_VERSION) throw new Lz4FrameError(`lz4: frame version ${(flg >> 6) & 3} is not supported`);
  if (flg & FLG_DICT_ID) throw new Lz4FrameError('lz4: frames with a dictionary are not supported');
  const blockMax = BLOCK_MAX[(src[5] >> 4) & 7];
  if (!blockMax) throw new Lz4FrameError('lz4: invalid block maximum size');
  let s = 6;
  let total = -1;
  if (flg & FLG_CONTENT_SIZE) {
    total = Number(Buffer.from(src.buffer, src.byteOffset + s, 8).readBigUInt64LE(0));
    s += 8;
  }
  s++; // header checksum
  // Output bound: the declared content size, or each block at most its maximum (measured in one pass).
  if (total < 0) {
    total = 0;
    for (let p = s; ; ) {
      if (p + 4 > src.length) throw new Lz4FrameError('lz4: truncated frame');
      const size = read32(src, p) >>> 0;
      p += 4;
      if (size === 0) break;
      const n = size & ~UNCOMPRESSED_BIT;
      total += size & UNCOMPRESSED_BIT ? n : blockMax;
      p += n + (flg & FLG_BLOCK_CHECKSUM ? 4 : 0);
    }
  }
  const out = Buffer.allocUnsafe(total);
  let d = 0;
  for (;;) {
    if (s + 4 > src.length) throw new Lz4FrameError('lz4: truncated frame');
    const size = read32(src, s) >>> 0;
    s += 4;
    if (size === 0) break;
    const n = size & ~UNCOMPRESSED_BIT;
    if (n > blockMax || s + n > src.length) throw new Lz4FrameError('lz4: block larger than the frame allows');
    if (size & UNCOMPRESSED_BIT) {
      if (d + n > total) throw new Lz4FrameError('lz4: more content than declared');
      out.set(src.subarray(s, s + n), d);
      d += n;
    } else {
      d = decompressBlock(src, s, s + n, out, d, Math.min(total, d + blockMax));
    }
    s += n + (flg & FLG_BLOCK_CHECKSUM ? 4 : 0);
  }
  return d === out.length ? out : out.subarray(0, d);
}
