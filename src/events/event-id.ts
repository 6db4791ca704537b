import { randomBytes } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48-bit millisecond time first, so ClickHouse keys and Kafka logs stay roughly sorted; 36
 * characters, so it fits Mixpanel's `$insert_id` limit unchanged — the one dedupe key everywhere downstream.
 *
 * The 74 bits RFC 9562 leaves to the generator carry a producer instance and a dense sequence instead of random
 * bits, so that a consumer can remember "every id this producer made up to n" as a few intervals instead of one
 * entry per event (the alert engine's EventDeduper). Bit 0 is the most significant:
 *
 *    0–47   unix_ts_ms                  event time; `eventIdTime` reads it back
 *   48–51   version 0111
 *   52–63   sequence bits 27–16         (rand_a)
 *   64–65   variant 10
 *   66–81   sequence bits 15–0
 *   82–87   check: 6 bits of a hash of all the other bits
 *   88–127  instance: 40 random bits, drawn once per generator (process) and again when the sequence runs out
 *
 * The sequence sits right after the time so that ids of one millisecond sort in the order they were made. The
 * check only tells this layout from other UUIDv7s (random ones pass one time in 64): it is no secret, anyone can
 * make ids that pass, and a producer's next id is its last one plus one, so nothing may treat an event_id as
 * unguessable. A consumer that keys on (instance, sequence) relies on the instance being unique among the
 * generators it remembers: two that draw the same 40 bits within one lateness allowance (6 h) could give the same
 * pair to two events — about n²/2⁴¹ for n instances, 5·10⁻⁷ for a thousand.
 */
export const SEQUENCE_BITS = 28;
export const SEQUENCE_MAX = 2 ** SEQUENCE_BITS - 1;
export const INSTANCE_MAX = 2 ** 40 - 1;

const CHECK_SEED = 0x1d5eed07;

/** One 32-bit word into a MurmurHash3 (x86, 32-bit) state: the event-id check bits and the EventIdSet's hash. */
export function mixIn(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * The 6 check bits for an id's four big-endian words with its check field (w2 bits 13–8) zero. MurmurHash3's
 * mixing: every other bit of the id changes the result, the time included, so ids that differ only in their
 * millisecond pass or fail independently.
 */
export function eventIdCheck(w0: number, w1: number, w2: number, w3: number): number {
  let h = CHECK_SEED;
  h = mixIn(h, w0);
  h = mixIn(h, w1);
  h = mixIn(h, w2);
  h = mixIn(h, w3);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 26;
}

/**
 * The sequence of an id in the layout above, from its four big-endian words (as `uuidWords` reads them); -1 for
 * any other UUID (wrong version, variant or check bits).
 */
export function producerSequence(w0: number, w1: number, w2: number, w3: number): number {
  if ((w1 & 0xf000) !== 0x7000 || w2 >>> 30 !== 2) return -1;
  if (((w2 >>> 8) & 0x3f) !== eventIdCheck(w0, w1, w2 & ~0x3f00, w3)) return -1;
  return ((w1 & 0xfff) << 16) | ((w2 >>> 14) & 0xffff);
}

/** The 40-bit instance of an id in the layout above, from its last two words. */
export function producerInstance(w2: number, w3: number): number {
  return (w2 & 0xff) * 0x100000000 + (w3 >>> 0);
}

/** Time, instance and sequence of an id made by an EventIdGenerator; undefined for any other string. */
export function eventIdParts(eventId: string): { timeMs: number; instance: number; sequence: number } | undefined {
  if (!EVENT_ID_PATTERN.test(eventId)) return undefined;
  const hex = eventId.replaceAll('-', '');
  const w = [0, 8, 16, 24].map((at) => parseInt(hex.slice(at, at + 8), 16) | 0);
  const sequence = producerSequence(w[0], w[1], w[2], w[3]);
  if (sequence < 0) return undefined;
  return { timeMs: eventIdTime(eventId), instance: producerInstance(w[2], w[3]), sequence };
}

/** ASCII codes of each byte's two lowercase hex digits, high digit first. */
const HEX_CODES = new Uint8Array(512);
for (let i = 0; i < 256; i++) HEX_CODES.set(Buffer.from(i.toString(16).padStart(2, '0'), 'latin1'), i * 2);
/** Where each of the 16 bytes' hex digits start in the 36-character text (dashes after bytes 3, 5, 7 and 9). */
const TEXT_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

function writeByte(text: Buffer, i: number, byte: number): void {
  text[TEXT_AT[i]] = HEX_CODES[byte * 2];
  text[TEXT_AT[i] + 1] = HEX_CODES[byte * 2 + 1];
}

function writeWord(text: Buffer, firstByte: number, w: number): void {
  writeByte(text, firstByte, w >>> 24);
  writeByte(text, firstByte + 1, (w >>> 16) & 0xff);
  writeByte(text, firstByte + 2, (w >>> 8) & 0xff);
  writeByte(text, firstByte + 3, w & 0xff);
}

function randomInstance(): number {
  return randomBytes(5).readUIntBE(0, 5);
}

export class EventIdGenerator {
  private inst = 0;
  /** Instance bits in word 2 (bits 7–0) and word 3. */
  private instHi = 0;
  private instLo = 0;
  private seq: number;
  /** This generator's id text; the instance's ten hex digits are written once per instance. */
  private readonly text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

  /**
   * `instance` and `sequence` (the next one to use) are for tests and tools; by default a random instance
   * and 0.
   */
  constructor(options: { instance?: number; sequence?: number } = {}) {
    const { instance = randomInstance(), sequence = 0 } = options;
    if (!Number.isInteger(instance) || instance < 0 || instance > INSTANCE_MAX) throw new RangeError(`instance ${instance} is not a 40-bit integer`);
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > SEQUENCE_MAX) throw new RangeError(`sequence ${sequence} is not a ${SEQUENCE_BITS}-bit integer`);
    this.useInstance(instance);
    this.seq = sequence;
  }

  get instance(): number {
    return this.inst;
  }

  /** The sequence the next id gets. */
  get sequence(): number {
    return this.seq;
  }

  /**
   * `nowMs` is the event time the id encodes (`eventIdTime` gives it back exactly). Every id takes the next
   * sequence number, whatever its time, so ids for a non-decreasing time are strictly increasing, and an id
   * for an earlier time (an event back-dated to when the action started, the clock stepping back) sorts by its
   * own time without disturbing the order of the ids after it. The one exception is the id after the sequence
   * runs out (2²⁸ ids, 7.5 h at 10k ids/s): the generator draws a new instance and starts again at 0, so that id
   * sorts before the ids made earlier in the same millisecond. The sequence must not wrap under the
   * same instance: a consumer would take the repeated numbers for duplicates.
   */
  next(nowMs: number): string {
    const seq = this.seq;
    const w0 = (nowMs / 0x10000) | 0;
    const w1 = ((nowMs % 0x10000) << 16) | 0x7000 | (seq >>> 16);
    const w2 = (0x80000000 | ((seq & 0xffff) << 14) | this.instHi) | 0;
    const w3 = this.instLo;
    const text = this.text;
    writeWord(text, 0, w0);
    writeWord(text, 4, w1);
    writeByte(text, 8, w2 >>> 24);
    writeByte(text, 9, (w2 >>> 16) & 0xff);
    writeByte(text, 10, ((w2 >>> 8) & 0xc0) | eventIdCheck(w0, w1, w2, w3));
    // One flat string: a concatenated id is a rope that every regex test downstream would first flatten.
    const id = text.toString('latin1', 0, 36);
    if (seq === SEQUENCE_MAX) {
      let fresh = randomInstance();
      while (fresh === this.inst) fresh = randomInstance();
      this.useInstance(fresh);
      this.seq = 0;
    } else this.seq = seq + 1;
    return id;
  }

  private useInstance(instance: number): void {
    this.inst = instance;
    this.instHi = Math.floor(instance / 0x100000000);
    this.instLo = instance % 0x100000000 | 0;
    writeByte(this.text, 11, this.instHi);
    writeWord(this.text, 12, this.instLo);
  }
}

/** The process's generator: one instance per process (and per worker thread: each loads its own modules). */
const processIds = new EventIdGenerator();

/** A new event id for event time `nowMs`, from the process's generator (see EventIdGenerator.next). */
export function newEventId(nowMs: number = Date.now()): string {
  return processIds.next(nowMs);
}

export const EVENT_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Milliseconds encoded in a UUIDv7. */
export function eventIdTime(eventId: string): number {
  return parseInt(eventId.slice(0, 8) + eventId.slice(9, 13), 16);
}
