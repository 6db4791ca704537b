import { randomBytes } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48-bit millisecond time + random bits. Time-ordered so ClickHouse keys and Kafka
 * logs stay roughly sorted, unique without coordination, and 36 characters so it fits Mixpanel's
 * `$insert_id` limit unchanged — the one dedupe key everywhere downstream.
 */
let pool = Buffer.alloc(0);
let poolOffset = 0;
let lastMs = -1;
let seq = 0;
/** 12 bits of rand_a plus the 6 free bits of the variant byte: 262 144 ids per millisecond. */
const SEQ_MAX = 0x3ffff;

function random10(): Buffer {
  if (poolOffset + 10 > pool.length) {
    pool = randomBytes(10 * 512);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + 10);
  poolOffset += 10;
  return out;
}

/** ASCII codes of each byte's two lowercase hex digits, high digit first. */
const HEX_CODES = new Uint8Array(512);
for (let i = 0; i < 256; i++) HEX_CODES.set(Buffer.from(i.toString(16).padStart(2, '0'), 'latin1'), i * 2);
/** Where each of the 16 bytes' hex digits start in the 36-character text (dashes after bytes 3, 5, 7 and 9). */
const TEXT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');
const bytes = new Uint8Array(16);

/**
 * `nowMs` is the event time the id encodes (`eventIdTime` gives it back exactly). Ids for a
 * non-decreasing time are strictly increasing within a process: an 18-bit counter (rand_a and the
 * variant byte's free bits) orders ids of the same millisecond. An id for an EARLIER time than the
 * latest seen (a producer back-dating an event to when the action started, or the clock stepping
 * back) sorts by its own time and leaves the counter alone, so it cannot break the order of the
 * ids that follow.
 */
export function newEventId(nowMs: number = Date.now()): string {
  let counter = 0;
  if (nowMs > lastMs) {
    lastMs = nowMs;
    seq = 0;
  } else if (nowMs === lastMs) {
    // More than 262k ids in one millisecond is beyond a JS process; wrapping keeps ids unique (random bits).
    seq = seq === SEQ_MAX ? 0 : seq + 1;
    counter = seq;
  }
  const r = random10();
  let t = nowMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes[6] = 0x70 | (counter >> 14);
  bytes[7] = (counter >> 6) & 0xff;
  bytes[8] = 0x80 | (counter & 0x3f);
  for (let i = 9; i < 16; i++) bytes[i] = r[i - 8];
  for (let i = 0; i < 16; i++) {
    text[TEXT_AT[i]] = HEX_CODES[bytes[i] * 2];
    text[TEXT_AT[i] + 1] = HEX_CODES[bytes[i] * 2 + 1];
  }
  // One flat string: a concatenated id is a rope that every regex test downstream would first flatten.
  return text.toString('latin1', 0, 36);
}

export const EVENT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Milliseconds encoded in a UUIDv7. */
export function eventIdTime(eventId: string): number {
  return parseInt(eventId.slice(0, 8) + eventId.slice(9, 13), 16);
}
