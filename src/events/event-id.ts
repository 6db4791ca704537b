import { randomBytes } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48-bit millisecond time + random bits. Time-ordered so ClickHouse keys and Kafka
 * logs stay roughly sorted, unique without coordination, and 36 characters so it fits Mixpanel's
 * `$insert_id` limit unchanged — the one dedupe key everywhere downstream.
 */
let pool = Buffer.alloc(0);
let poolOffset = 0;
let lastMs = 0;
let seq = 0;

function random10(): Buffer {
  if (poolOffset + 10 > pool.length) {
    pool = randomBytes(10 * 512);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + 10);
  poolOffset += 10;
  return out;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function newEventId(nowMs: number = Date.now()): string {
  // A 12-bit counter in rand_a keeps ids monotonic within one millisecond of one process.
  if (nowMs === lastMs) {
    seq = (seq + 1) & 0xfff;
  } else {
    lastMs = nowMs;
    seq = 0;
  }
  const r = random10();
  const b = new Array<string>(16);
  let t = nowMs;
  for (let i = 5; i >= 0; i--) {
    b[i] = HEX[t % 256];
    t = Math.floor(t / 256);
  }
  b[6] = HEX[0x70 | (seq >> 8)];
  b[7] = HEX[seq & 0xff];
  b[8] = HEX[0x80 | (r[0] & 0x3f)];
  for (let i = 9; i < 16; i++) b[i] = HEX[r[i - 8]];
  return `${b[0]}${b[1]}${b[2]}${b[3]}-${b[4]}${b[5]}-${b[6]}${b[7]}-${b[8]}${b[9]}-${b[10]}${b[11]}${b[12]}${b[13]}${b[14]}${b[15]}`;
}

export const EVENT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Milliseconds encoded in a UUIDv7. */
export function eventIdTime(eventId: string): number {
  return parseInt(eventId.slice(0, 8) + eventId.slice(9, 13), 16);
}
