import { mixIn } from '../../events/event-id.ts';
/**
 * An exact set of event_ids, compact for UUIDs. The alert engine remembers every event_id it counted for the
 * lateness allowance (6 h): as strings in a Set that is about 100 bytes of V8 heap per event, which at 20k
 * events/s is 120 MB per minute of traffic. A canonical lowercase UUID (what `newEventId` makes and the schema
 * asks for) is 128 bits, so it is kept as four 32-bit words in an open-addressing table (linear probing) over
 * one Int32Array: 16 bytes per slot, outside the V8 heap, and nothing per event for the garbage collector.
 *
 * Exact, not probabilistic: a hit compares all 128 bits, so a "duplicate" is always the same id (a false one
 * would drop a real event from every rate). Any other string (uppercase, braces, another format) goes to a plain
 * Set<string>: the set stays exact for any input, and a UUID in two spellings stays two ids, as in a Set<string>.
 */

/** Value of a lowercase hex digit by character code, -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[0x61 + c] = 10 + c;

/** Hex digit value of a character code: -1 for anything but 0-9 and a-f. */
const digit = (c: number): number => (c < 128 ? HEX_VALUE[c] : -1);

/**
 * The four words of a canonical lowercase UUID (8-4-4-4-12 lowercase hex digits), big-endian, as int32s (which V8
 * keeps unboxed) into `out`; false (and `out` unspecified) for any other string. One pass of charCodeAt: a regex
 * or parseInt over slices was 2–5 times slower here.
 */
export function uuidWords(id: string, out: Int32Array): boolean {
  if (id.length !== 36) return false;
  // A bad digit is -1: or-ing every digit into `bad` leaves it negative, checked once at the end.
  let bad = 0;
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  let w3 = 0;
  for (let i = 0; i < 8; i++) {
    const d = digit(id.charCodeAt(i));
    bad |= d;
    w0 = (w0 << 4) | (d & 15);
  }
  for (let i = 9; i < 18; i++) {
    if (i === 13) continue;
    const d = digit(id.charCodeAt(i));
    bad |= d;
    w1 = (w1 << 4) | (d & 15);
  }
  for (let i = 19; i < 28; i++) {
    if (i === 23) continue;
    const d = digit(id.charCodeAt(i));
    bad |= d;
    w2 = (w2 << 4) | (d & 15);
  }
  for (let i = 28; i < 36; i++) {
    const d = digit(id.charCodeAt(i));
    bad |= d;
    w3 = (w3 << 4) | (d & 15);
  }
  if (bad < 0 || id.charCodeAt(8) !== 0x2d || id.charCodeAt(13) !== 0x2d || id.charCodeAt(18) !== 0x2d || id.charCodeAt(23) !== 0x2d) return false;
  out[0] = w0;
  out[1] = w1;
  out[2] = w2;
  out[3] = w3;
  return true;
}

/**
 * MurmurHash3's 32-bit mixing over the four words. Every word goes in: ids of the same millisecond share their
 * first 48 bits, and another producer's UUIDv7 may put a counter where ours has random bits. The seed differs per
 * process, so a producer cannot choose ids that all land in one probe run.
 */
export function hashUuidWords(w0: number, w1: number, w2: number, w3: number, seed: number): number {
  let h = seed | 0;
  h = mixIn(h, w0);
  h = mixIn(h, w1);
  h = mixIn(h, w2);
  h = mixIn(h, w3);
  h ^= 16;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}


/**
 * Gives a table's memory back at the next scavenge instead of the next full collection. A table in use for more
 * than a moment is in the old generation, so a dropped one (replaced when growing, or a pruned minute's) would hold
 * its megabytes until a mark-compact; transferring its buffer moves the memory to a fresh, young ArrayBuffer that
 * nothing references (zero-copy), and the table is left detached.
 */
function release(table: Int32Array): void {
  const buffer = table.buffer as ArrayBuffer; // made by `new Int32Array(length)`: never shared
  structuredClone(buffer, { transfer: [buffer] });
}

const PROCESS_SEED = (Math.random() * 0x100000000) | 0;
const MIN_BITS = 4;
/** Grow past this share of occupied slots: linear probing slows down sharply above it. */
const MAX_LOAD = 0.75;
/** Scratch for the words of the id being looked up (one engine per thread; nothing here is re-entrant). */
const scratch = new Int32Array(4);

export class EventIdSet {
  /** Four words per slot; an all-zero slot is empty (the nil UUID, all zero bits, is kept in `hasNil`). */
  private slots: Int32Array;
  private bits: number;
  private count = 0;
  private hasNil = false;
  private others: Set<string> | undefined;
  private readonly seed: number;

  /** `seed`: a fixed hash seed (tests); by default one per process. */
  constructor(options: { seed?: number } = {}) {
    this.seed = options.seed ?? PROCESS_SEED;
    this.bits = MIN_BITS;
    this.slots = new Int32Array(4 * 2 ** MIN_BITS);
  }

  /** Adds `id`; true when it was not in the set yet. */
  add(id: string): boolean {
    if (!uuidWords(id, scratch)) {
      this.others ??= new Set();
      if (this.others.has(id)) return false;
      this.others.add(id);
      return true;
    }
    const w0 = scratch[0];
    const w1 = scratch[1];
    const w2 = scratch[2];
    const w3 = scratch[3];
    if ((w0 | w1 | w2 | w3) === 0) {
      if (this.hasNil) return false;
      this.hasNil = true;
      return true;
    }
    const j = this.find(w0, w1, w2, w3);
    const s = this.slots;
    if ((s[j] | s[j + 1] | s[j + 2] | s[j + 3]) !== 0) return false;
    if (this.count + 1 > MAX_LOAD * 2 ** this.bits) {
      this.grow();
      this.put(w0, w1, w2, w3);
    } else {
      s[j] = w0;
      s[j + 1] = w1;
      s[j + 2] = w2;
      s[j + 3] = w3;
    }
    this.count++;
    return true;
  }

  has(id: string): boolean {
    if (!uuidWords(id, scratch)) return this.others?.has(id) ?? false;
    const w0 = scratch[0];
    const w1 = scratch[1];
    const w2 = scratch[2];
    const w3 = scratch[3];
    if ((w0 | w1 | w2 | w3) === 0) return this.hasNil;
    const j = this.find(w0, w1, w2, w3);
    const s = this.slots;
    return (s[j] | s[j + 1] | s[j + 2] | s[j + 3]) !== 0;
  }

  get size(): number {
    return this.count + (this.hasNil ? 1 : 0) + (this.others?.size ?? 0);
  }

  /** Forgets every id; the table's memory goes back at the next scavenge (see `release`). */
  clear(): void {
    release(this.slots);
    this.bits = MIN_BITS;
    this.slots = new Int32Array(4 * 2 ** MIN_BITS);
    this.count = 0;
    this.hasNil = false;
    this.others = undefined;
  }

  /** Bytes of the slot table (the fallback Set's strings are not counted): for memory figures. */
  get tableBytes(): number {
    return this.slots.byteLength;
  }

  /** Word index of the slot holding the id, or of the empty slot where it would go. */
  private find(w0: number, w1: number, w2: number, w3: number): number {
    const s = this.slots;
    const mask = (1 << this.bits) - 1;
    // The top bits of the hash: MurmurHash3's finalizer mixes every input bit into them.
    let i = hashUuidWords(w0, w1, w2, w3, this.seed) >>> (32 - this.bits);
    for (;;) {
      const j = i << 2;
      const a = s[j];
      const b = s[j + 1];
      const c = s[j + 2];
      const d = s[j + 3];
      if (a === w0 && b === w1 && c === w2 && d === w3) return j;
      if ((a | b | c | d) === 0) return j;
      i = (i + 1) & mask;
    }
  }

  /** Stores an id known to be absent. */
  private put(w0: number, w1: number, w2: number, w3: number): void {
    const j = this.find(w0, w1, w2, w3);
    const s = this.slots;
    s[j] = w0;
    s[j + 1] = w1;
    s[j + 2] = w2;
    s[j + 3] = w3;
  }

  private grow(): void {
    const old = this.slots;
    // 2^28 slots are 4 GB; slot indexes stay within int32 arithmetic below that (a Set<string> stops at 2^24 ids).
    if (this.bits >= 28) throw new RangeError('EventIdSet: more than 201 million ids');
    this.bits++;
    this.slots = new Int32Array(4 * 2 ** this.bits);
    for (let j = 0; j < old.length; j += 4) {
      if ((old[j] | old[j + 1] | old[j + 2] | old[j + 3]) !== 0) this.put(old[j], old[j + 1], old[j + 2], old[j + 3]);
    }
    release(old);
  }
}
