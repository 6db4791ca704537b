import { crc32 } from 'node:zlib';

/**
 * One spool record on disk: [u32 payload length][u32 CRC32 of payload][payload], big-endian.
 * The CRC lets a reader tell a torn write (the process died mid-append) from a good record, so recovery
 * can skip exactly the damaged tail instead of replaying garbage into Kafka.
 */
export const FRAME_HEADER_BYTES = 8;
/** A record larger than this is a corrupt length field, not an event (events are capped at 16 KB). */
export const MAX_FRAME_PAYLOAD_BYTES = 1024 * 1024;

export function encodeFrames(payloads: readonly Buffer[]): Buffer {
  let total = 0;
  for (const p of payloads) total += FRAME_HEADER_BYTES + p.length;
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const p of payloads) {
    out.writeUInt32BE(p.length, at);
    out.writeUInt32BE(crc32(p), at + 4);
    p.copy(out, at + FRAME_HEADER_BYTES);
    at += FRAME_HEADER_BYTES + p.length;
  }
  return out;
}

export type FrameProblem = 'truncated' | 'bad_length' | 'crc_mismatch';

export interface DecodedFrames {
  records: Buffer[];
  /** Bytes of `buf` consumed by whole, valid records. */
  consumed: number;
  /** Set when decoding stopped on a damaged record rather than at the end of the data or `maxRecords`. */
  problem?: FrameProblem;
}

/**
 * Decodes whole records from `buf`. A record cut off at the end of `buf` is reported as `truncated`
 * (the caller decides whether more bytes could follow: only at the end of a file is it damage).
 */
export function decodeFrames(buf: Buffer, maxRecords = Number.MAX_SAFE_INTEGER): DecodedFrames {
  const records: Buffer[] = [];
  let at = 0;
  while (records.length < maxRecords && at < buf.length) {
    if (buf.length - at < FRAME_HEADER_BYTES) return { records, consumed: at, problem: 'truncated' };
    const len = buf.readUInt32BE(at);
    if (len === 0 || len > MAX_FRAME_PAYLOAD_BYTES) return { records, consumed: at, problem: 'bad_length' };
    if (buf.length - at - FRAME_HEADER_BYTES < len) return { records, consumed: at, problem: 'truncated' };
    const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + len);
    if (crc32(payload) !== buf.readUInt32BE(at + 4)) return { records, consumed: at, problem: 'crc_mismatch' };
    records.push(payload);
    at += FRAME_HEADER_BYTES + len;
  }
  return { records, consumed: at };
}
