import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { EventIdSet, hashUuidWords, uuidWords } from '../../../src/consumers/alerts/event-id-set.ts';
import { EVENT_ID_PATTERN, newEventId } from '../../../src/events/event-id.ts';

const SEED = 0x5eed;

/** The canonical string of four 32-bit words. */
function uuidOf(w: ArrayLike<number>): string {
  const hex = Array.from(w, (x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function wordsOf(id: string): Int32Array {
  const w = new Int32Array(4);
  if (!uuidWords(id, w)) throw new Error(`not a UUID: ${id}`);
  return w;
}

let pool = Buffer.alloc(0);
let poolAt = 0;

/** A random UUIDv7 for an arbitrary millisecond (not this process's monotonic generator). */
function randomV7(ms: number): string {
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(16 * 65_536);
    poolAt = 0;
  }
  const b = pool.subarray(poolAt, poolAt + 16);
  poolAt += 16;
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

describe('uuidWords', () => {
  it('reads a canonical lowercase UUID as four big-endian words and gives the same string back', () => {
    const id = '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6';
    const w = wordsOf(id);
    expect(Array.from(w, (x) => x >>> 0)).toEqual([0x0190f2a4, 0x5b6c7d8e, 0x9fa0b1c2, 0xd3e4f5a6]);
    expect(uuidOf(w)).toBe(id);
    expect(uuidOf(wordsOf('ffffffff-ffff-ffff-ffff-ffffffffffff'))).toBe('ffffffff-ffff-ffff-ffff-ffffffffffff');
    for (let i = 0; i < 1000; i++) {
      const v7 = newEventId();
      expect(uuidOf(wordsOf(v7))).toBe(v7);
    }
  });

  it('refuses anything that is not 8-4-4-4-12 lowercase hex', () => {
    const w = new Int32Array(4);
    for (const id of [
      '0190F2A4-5B6C-7D8E-9FA0-B1C2D3E4F5A6',
      '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5aA',
      '0190f2a45b6c7d8e9fa0b1c2d3e4f5a6',
      '{0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6}',
      '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5a',
      '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5a66',
      '0190f2a4_5b6c-7d8e-9fa0-b1c2d3e4f5a6',
      '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5g6',
      '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5/6',
      '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5:6',
      '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5`6',
      '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5\u0166',
      '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5\u{1f600}',
      '-0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5a',
      '',
      'evt-1',
    ]) {
      expect(uuidWords(id, w), id).toBe(false);
    }
  });
});

describe('EventIdSet', () => {
  it('is exact for 2 million UUIDv7s made in a burst (ids of one millisecond differ in a few bits), through 17 growths', { timeout: 120_000 }, () => {
    const n = 2_000_000;
    const ids: string[] = new Array(n);
    for (let i = 0; i < n; i++) ids[i] = newEventId();
    const set = new EventIdSet({ seed: SEED });
    for (let i = 0; i < n; i++) {
      if (!set.add(ids[i])) throw new Error(`new id ${ids[i]} (#${i}) reported as a duplicate`);
    }
    expect(set.size).toBe(n);
    for (let i = 0; i < n; i++) {
      if (set.add(ids[i])) throw new Error(`id ${ids[i]} (#${i}) added twice`);
    }
    expect(set.size).toBe(n);
    // 2^22 slots: grown from 16 while staying at most 3/4 full
    expect(set.tableBytes).toBe(16 * 2 ** 22);
    // ids never added, from the same generator (the next counter values) and from other milliseconds
    for (let i = 0; i < 500_000; i++) {
      const id = i % 2 === 0 ? newEventId() : randomV7(Date.now() - (i % 100_000));
      if (set.has(id)) throw new Error(`absent id ${id} reported present`);
    }
  });

  it('agrees with a Set<string> over a million adds with repeats, random UUIDv7s of few milliseconds', { timeout: 120_000 }, () => {
    const ids = Array.from({ length: 300_000 }, (_, i) => randomV7(1_700_000_000_000 + (i % 7)));
    const truth = new Set<string>();
    const set = new EventIdSet();
    for (let i = 0; i < 1_000_000; i++) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      const expected = !truth.has(id);
      truth.add(id);
      if (set.add(id) !== expected) throw new Error(`add(${id}) at #${i} disagrees with a Set<string>`);
    }
    expect(set.size).toBe(truth.size);
    for (const id of ids) if (set.has(id) !== truth.has(id)) throw new Error(`has(${id}) disagrees with a Set<string>`);
  });

  it('tells apart ids whose 32-bit hashes are equal, and ids one bit apart in any word', { timeout: 120_000 }, () => {
    // Full 32-bit hash collisions: among 200k random ids, group by hash (about n²/2³³ ≈ 5 pairs expected) — and
    // ids that share the hash's top bits (one probe start) are most of a small table anyway.
    const byHash = new Map<number, string[]>();
    const w = new Int32Array(4);
    let colliding: string[] = [];
    while (colliding.length < 20) {
      for (let i = 0; i < 200_000; i++) {
        const id = randomV7(1_700_000_000_000 + (i % 3));
        uuidWords(id, w);
        const h = hashUuidWords(w[0], w[1], w[2], w[3], SEED);
        const same = byHash.get(h);
        if (same) same.push(id);
        else byHash.set(h, [id]);
      }
      colliding = [...byHash.values()].filter((ids) => ids.length > 1).flat();
    }
    const set = new EventIdSet({ seed: SEED });
    for (const id of colliding) expect(set.add(id)).toBe(true);
    for (const id of colliding) expect(set.add(id)).toBe(false);
    expect(set.size).toBe(colliding.length);

    // Every single-bit neighbour of an id (128 of them), and words moved to another position.
    const base = wordsOf(newEventId());
    const near = new EventIdSet({ seed: SEED });
    expect(near.add(uuidOf(base))).toBe(true);
    for (let word = 0; word < 4; word++) {
      for (let bit = 0; bit < 32; bit++) {
        const v = Int32Array.from(base);
        v[word] ^= 1 << bit;
        expect(near.has(uuidOf(v))).toBe(false);
        expect(near.add(uuidOf(v))).toBe(true);
      }
    }
    const swapped = [
      [base[1], base[0], base[2], base[3]],
      [base[0], base[1], base[3], base[2]],
      [base[3], base[2], base[1], base[0]],
      [base[0], base[0], base[2], base[3]],
    ];
    for (const s of swapped) expect(near.add(uuidOf(s))).toBe(true);
    expect(near.size).toBe(1 + 128 + swapped.length);
    expect(near.add(uuidOf(base))).toBe(false);
  });

  it('keeps the nil UUID and ids with zero words (an all-zero slot means empty)', () => {
    const set = new EventIdSet();
    const nil = '00000000-0000-0000-0000-000000000000';
    expect(set.has(nil)).toBe(false);
    expect(set.add(nil)).toBe(true);
    expect(set.add(nil)).toBe(false);
    for (const id of ['00000000-0000-0000-0000-000000000001', '10000000-0000-0000-0000-000000000000', '00000000-0000-0000-0001-000000000000', '00000000-0000-7000-8000-000000000000']) {
      expect(set.has(id)).toBe(false);
      expect(set.add(id)).toBe(true);
      expect(set.add(id)).toBe(false);
    }
    expect(set.size).toBe(5);
  });

  it('keeps ids that are not canonical lowercase UUIDs exactly, as strings, apart from the lowercase spelling', () => {
    const set = new EventIdSet();
    const lower = '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6';
    const odd = ['evt-1', 'evt-2', '', lower.toUpperCase(), `{${lower}}`, lower.replaceAll('-', ''), `${lower} `, '0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5\u00e6', 'ünïcødé'];
    expect(set.add(lower)).toBe(true);
    for (const id of odd) {
      expect(EVENT_ID_PATTERN.test(id)).toBe(false);
      expect(set.has(id)).toBe(false);
      expect(set.add(id)).toBe(true);
    }
    for (const id of [lower, ...odd]) {
      expect(set.has(id)).toBe(true);
      expect(set.add(id)).toBe(false);
    }
    expect(set.size).toBe(1 + odd.length);
    // the UUID table did not see them: one id in 16 slots
    expect(set.tableBytes).toBe(16 * 16);
  });

  it('grows at three quarters full and keeps every id across each growth', () => {
    const set = new EventIdSet({ seed: SEED });
    const ids: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const slotsBefore = set.tableBytes / 16;
      ids.push(randomV7(1_700_000_000_000));
      set.add(ids[i]);
      const slots = set.tableBytes / 16;
      if (slots !== slotsBefore) {
        // grew exactly when the next id would pass 3/4 of the old table
        expect(i + 1).toBe(Math.floor(0.75 * slotsBefore) + 1);
        expect(ids.filter((id) => !set.has(id))).toEqual([]);
      }
      if (set.size > 0.75 * slots) throw new Error(`${set.size} ids in ${slots} slots`);
    }
    expect(set.tableBytes).toBe(16 * 2 ** 18);
  });

  it('forgets everything on clear() and stays usable', () => {
    const set = new EventIdSet();
    const ids = Array.from({ length: 1000 }, () => newEventId());
    for (const id of [...ids, 'evt-1', '00000000-0000-0000-0000-000000000000']) set.add(id);
    set.clear();
    expect(set.size).toBe(0);
    expect(set.tableBytes).toBe(16 * 16);
    for (const id of [...ids, 'evt-1', '00000000-0000-0000-0000-000000000000']) expect(set.has(id)).toBe(false);
    for (const id of ids) expect(set.add(id)).toBe(true);
    expect(set.size).toBe(ids.length);
  });

  it('gives a replaced or cleared table back at the next scavenge, not at the next full collection', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (o?: { type: 'minor' | 'major' }) => void;
    const arrays = () => process.memoryUsage().arrayBuffers;
    // V8 may finish sweeping young array buffers in the background, after the scavenge returns: a second one waits
    const scavenge = () => {
      gc({ type: 'minor' });
      gc({ type: 'minor' });
    };
    // 393,216 ids fill 2^19 slots (8 MiB) to 3/4, the next one grows the table; made first, so that no buffer of
    // the id generator is counted below
    const ids = Array.from({ length: 393_217 }, () => randomV7(1_700_000_000_000));
    const set = new EventIdSet();
    for (let i = 0; i < 393_216; i++) set.add(ids[i]);
    // full collections make the table old, as a table in use is
    gc();
    gc();
    expect(set.tableBytes).toBe(8 * 2 ** 20);
    const before = arrays();
    set.add(ids[393_216]); // grows to 16 MiB
    scavenge();
    // the new table only: the old 8 MiB are gone without a mark-compact
    expect(arrays() - before).toBeLessThan(8.5 * 2 ** 20);
    gc();
    gc();
    const full = arrays();
    set.clear();
    scavenge();
    expect(full - arrays()).toBeGreaterThan(15.5 * 2 ** 20);
  });
});
