import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { EventDeduper } from '../../../src/consumers/alerts/event-deduper.ts';
import { SequenceIntervals } from '../../../src/consumers/alerts/sequence-intervals.ts';
import { EventIdGenerator, SEQUENCE_MAX, eventIdParts } from '../../../src/events/event-id.ts';

const T0 = Date.UTC(2026, 0, 1, 12);
const PARTITIONS = 12;

/** A canonical UUID of `version` with the time (or first 48 bits) `ms` and the given bits elsewhere. */
function foreignId(version: number, ms: number, a: number, b: number, c: number): string {
  const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);
  const time = ms.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8)}-${version}${hex(a, 3)}-${hex(0x8000 | (b & 0x3fff), 4)}-${hex(c, 8)}${hex(a >>> 12, 4)}`;
}

/** Events as they were sent (ids made in this order), and the order a consumer of several partitions reads them. */
interface Sent {
  id: string;
  ts: number;
  partition: number;
}

/**
 * A consumer's read order: `reads` picks the partition of each fetch (up to `batch` records, in order within the
 * partition); records are sent between fetches as `sentPerFetch` says; what is left at the end is read
 * partition by partition.
 */
function readOrder(sent: Sent[], reads: number[], batch: number, sentPerFetch: number): Sent[] {
  const queues: Sent[][] = Array.from({ length: PARTITIONS }, () => []);
  const out: Sent[] = [];
  let next = 0;
  for (const p of reads) {
    for (const end = Math.min(sent.length, next + sentPerFetch); next < end; next++) queues[sent[next].partition].push(sent[next]);
    out.push(...queues[p % PARTITIONS].splice(0, batch));
  }
  for (; next < sent.length; next++) queues[sent[next].partition].push(sent[next]);
  for (const q of queues) out.push(...q);
  return out;
}

describe('SequenceIntervals', () => {
  it('answers as a Set<number> does and keeps its intervals sorted, disjoint and merged', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(200), { maxLength: 400, size: 'max' }), fc.nat(SEQUENCE_MAX - 200), (seqs, base) => {
        const set = new SequenceIntervals();
        const truth = new Set<number>();
        for (const s of seqs) {
          expect(set.add(base + s)).toBe(!truth.has(base + s));
          truth.add(base + s);
        }
        const ivs = set.toArray();
        for (let i = 0; i < ivs.length; i++) {
          expect(ivs[i][0]).toBeLessThanOrEqual(ivs[i][1]);
          if (i > 0) expect(ivs[i][0]).toBeGreaterThan(ivs[i - 1][1] + 1);
        }
        // one interval per run of consecutive numbers: the fewest that can hold the set
        const sorted = [...truth].sort((x, y) => x - y);
        const runs = sorted.filter((s, i) => i === 0 || s !== sorted[i - 1] + 1).length;
        expect(set.intervals).toBe(runs);
        expect(set.size).toBe(truth.size);
        for (let s = base - 2; s < base + 203; s++) expect(set.has(s)).toBe(truth.has(s));
      }),
      { numRuns: 300 },
    );
  });

  it('gives back the room its holes took once they close', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    const sets = (n: number) => Array.from({ length: n }, () => new SequenceIntervals());
    // 200 sets of one interval each, reached directly or after 2,000 holes (every other number first)
    const h0 = heap();
    const direct = sets(200);
    for (const set of direct) for (let s = 0; s < 4_000; s++) set.add(s);
    const h1 = heap();
    const afterHoles = sets(200);
    for (const set of afterHoles) {
      for (let s = 0; s < 4_000; s += 2) set.add(s);
      expect(set.intervals).toBe(2_000);
      for (let s = 1; s < 4_000; s += 2) set.add(s);
      expect(set.intervals).toBe(1);
    }
    const h2 = heap();
    // 2,000 intervals held 32 kB per set: kept, that would be 6.4 MB more
    expect(h2 - h1).toBeLessThan(2 * Math.max(h1 - h0, 0) + 200_000);
    expect(direct.length + afterHoles.length).toBe(400);
  });
});

describe('EventDeduper', () => {
  it('answers every add() as a Set<string> that forgets by event time does, over streams with duplicates, producers, partitions and foreign ids', () => {
    const BUCKET_MS = 1_000;
    const event = fc.record({
      producer: fc.nat(3),
      stepMs: fc.nat(120),
      backdateMs: fc.oneof(fc.constant(0), fc.constant(0), fc.nat(2_500)),
      kind: fc.constantFrom('producer', 'producer', 'producer', 'producer', 'restart', 'v7', 'v4', 'uppercase', 'string'),
      partition: fc.nat(PARTITIONS - 1),
      bits: fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff)),
    });
    const input = fc.record({
      // where each producer's sequence starts: 0 (a fresh process), anywhere, or just before it runs out
      starts: fc.array(fc.oneof(fc.constant(0), fc.nat(SEQUENCE_MAX), fc.integer({ min: SEQUENCE_MAX - 30, max: SEQUENCE_MAX })), { minLength: 4, maxLength: 4 }),
      producers: fc.integer({ min: 1, max: 4 }),
      t0: fc.nat(BUCKET_MS - 1),
      events: fc.array(event, { minLength: 1, maxLength: 300, size: 'max' }),
      // a duplicate of sent record `of`, sent again `later` records on, to partition `partition`
      dups: fc.array(fc.record({ of: fc.nat(), later: fc.nat(400), partition: fc.nat(PARTITIONS - 1) }), { maxLength: 150, size: 'max' }),
      reads: fc.array(fc.nat(PARTITIONS - 1), { maxLength: 200, size: 'max' }),
      batch: fc.integer({ min: 1, max: 40 }),
      sentPerFetch: fc.integer({ min: 1, max: 30 }),
      // forgetBefore after read record `at`, `slackMs` before the oldest event time still to come
      forgets: fc.array(fc.record({ at: fc.nat(), slackMs: fc.nat(2 * BUCKET_MS) }), { maxLength: 12, size: 'max' }),
    });
    fc.assert(
      fc.property(input, (x) => {
        const gens = x.starts.slice(0, x.producers).map((sequence) => new EventIdGenerator({ sequence }));
        let t = T0 + x.t0;
        const sent: Sent[] = [];
        for (const e of x.events) {
          t += e.stepMs;
          const ts = t - e.backdateMs;
          const p = e.producer % gens.length;
          const [a, b, c] = e.bits;
          let id: string;
          if (e.kind === 'restart') {
            gens[p] = new EventIdGenerator();
            id = gens[p].next(ts);
          } else if (e.kind === 'producer') id = gens[p].next(ts);
          else if (e.kind === 'v7') id = foreignId(7, ts, a, b, c);
          else if (e.kind === 'v4') id = foreignId(4, a * 0x10000 + (b & 0xffff), a, b, c);
          else if (e.kind === 'uppercase') id = gens[p].next(ts).toUpperCase();
          else id = `evt-${a % 50}`;
          sent.push({ id, ts, partition: e.partition });
        }
        // string ids repeat on purpose (50 values): the same id always carries the same event time
        const firstTs = new Map<string, number>();
        for (const s of sent) s.ts = firstTs.get(s.id) ?? (firstTs.set(s.id, s.ts), s.ts);
        const withDups = [...sent];
        for (const d of [...x.dups].sort((m, n) => m.later - n.later)) {
          const o = sent[d.of % sent.length];
          withDups.splice(Math.min(withDups.length, withDups.indexOf(o) + 1 + d.later), 0, { ...o, partition: d.partition });
        }
        const arrivals = readOrder(withDups, x.reads, x.batch, x.sentPerFetch);
        const forgetAt = new Map(x.forgets.map((f) => [f.at % arrivals.length, f.slackMs]));

        const deduper = new EventDeduper({ bucketMs: BUCKET_MS });
        // the reference: a Set<string> of the ids, each with its event time to forget it by
        const truth = new Map<string, number>();
        // what the deduper should still count: it forgets whole buckets only
        const held = new Map<string, number>();
        let horizon = -Infinity;
        arrivals.forEach((a, i) => {
          const expected = !truth.has(a.id);
          truth.set(a.id, a.ts);
          if (expected) held.set(a.id, a.ts);
          if (deduper.add(a.id, a.ts) !== expected) throw new Error(`add #${i} ${a.id} at ${a.ts}: expected ${expected}`);
          const slack = forgetAt.get(i);
          if (slack === undefined || i + 1 === arrivals.length) return;
          let oldest = Infinity;
          for (let j = i + 1; j < arrivals.length; j++) oldest = Math.min(oldest, arrivals[j].ts);
          const before = oldest - slack;
          deduper.forgetBefore(before);
          horizon = Math.max(horizon, before);
          for (const [id, ts] of truth) if (ts < horizon) truth.delete(id);
          for (const [id, ts] of held) if (Math.floor(ts / BUCKET_MS) < Math.floor(horizon / BUCKET_MS)) held.delete(id);
          if (deduper.size !== held.size) throw new Error(`size ${deduper.size} after forgetBefore(${before}), expected ${held.size}`);
        });
        const stats = deduper.stats();
        expect(stats.ids).toBe(deduper.size);
        expect(stats.buckets).toBe([...deduper.bucketIndexes()].length);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps ids apart across a sequence that runs out (a new instance from 0) and across a restart of the producer', () => {
    const deduper = new EventDeduper({ bucketMs: 60_000 });
    const before = new EventIdGenerator({ sequence: SEQUENCE_MAX - 3 });
    const ids: [string, number][] = [];
    for (let i = 0; i < 8; i++) ids.push([before.next(T0 + i), T0 + i]);
    const instances = new Set(ids.map(([id]) => eventIdParts(id)!.instance));
    expect(instances.size).toBe(2);
    // the process restarts: a new generator, a new instance, its sequence from 0 again, in the same minute
    const after = new EventIdGenerator();
    for (let i = 0; i < 8; i++) ids.push([after.next(T0 + 100 + i), T0 + 100 + i]);
    expect(ids.map(([id]) => eventIdParts(id)!.sequence)).toEqual([SEQUENCE_MAX - 3, SEQUENCE_MAX - 2, SEQUENCE_MAX - 1, SEQUENCE_MAX, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7]);
    for (const [id, ts] of ids) expect(deduper.add(id, ts)).toBe(true);
    // the emitter's spool re-sends what the old process left unacknowledged, after the restart
    for (const [id, ts] of ids) expect(deduper.add(id, ts)).toBe(false);
    expect(deduper.size).toBe(16);
    expect(deduper.stats()).toMatchObject({ buckets: 1, producerBuckets: 3, intervals: 3, fallbackIds: 0 });
  });

  it('keeps one interval per producer and minute for a million in-order ids from 4 producers read from 12 partitions', () => {
    const BUCKET_MS = 60_000;
    const deduper = new EventDeduper({ bucketMs: BUCKET_MS });
    const gens = Array.from({ length: 4 }, () => new EventIdGenerator());
    // a small LCG: the same interleaving every run
    let r = 12345;
    const rand = (n: number) => {
      r = (Math.imul(r, 1103515245) + 12345) >>> 0;
      return (r >>> 8) % n;
    };
    const queues: Sent[][] = Array.from({ length: PARTITIONS }, () => []);
    const heads = new Array<number>(PARTITIONS).fill(0);
    let unread = 0;
    let maxUnread = 0;
    let maxIntervals = 0;
    const total = 1_000_000;
    for (let i = 0; i < total; ) {
      // producers send 1,000 events (0.1 s at 10k events/s), each to a partition by its key
      for (const end = Math.min(total, i + 1_000); i < end; i++) {
        const ts = T0 + Math.floor(i / 10);
        queues[rand(PARTITIONS)].push({ id: gens[rand(4)].next(ts), ts, partition: 0 });
        unread++;
      }
      // the consumer fetches up to 500 records from a few partitions; the others lag behind
      for (let f = 0; f < 3; f++) {
        const p = rand(PARTITIONS);
        const q = queues[p];
        const end = Math.min(q.length, heads[p] + 500);
        for (; heads[p] < end; heads[p]++) {
          if (!deduper.add(q[heads[p]].id, q[heads[p]].ts)) throw new Error('a new id taken for a duplicate');
          unread--;
        }
        if (heads[p] > 50_000) {
          q.splice(0, heads[p]);
          heads[p] = 0;
        }
      }
      const s = deduper.stats();
      // every interval beyond the first of its producer and minute starts after a hole: an id not read yet
      expect(s.intervals - s.producerBuckets).toBeLessThanOrEqual(unread);
      maxIntervals = Math.max(maxIntervals, s.intervals);
      maxUnread = Math.max(maxUnread, unread);
    }
    for (let p = 0; p < PARTITIONS; p++) {
      for (; heads[p] < queues[p].length; heads[p]++) {
        if (!deduper.add(queues[p][heads[p]].id, queues[p][heads[p]].ts)) throw new Error('a new id taken for a duplicate');
      }
    }
    const s = deduper.stats();
    expect(s.ids).toBe(total);
    // 100 s of event time from T0 (a whole hour): minutes 0 and 1, and every hole closed
    expect(s.buckets).toBe(2);
    expect(s.producerBuckets).toBe(8);
    expect(s.intervals).toBe(8);
    // the lagging partitions' backlog leaves holes, and only while it lasts
    expect(maxIntervals).toBeGreaterThan(8);
    expect(maxIntervals).toBeLessThanOrEqual(8 + maxUnread);
    expect(s.bytes).toBeLessThan(10_000);
  });

  it('keeps ids of other layouts in its fallback, a UUID in two spellings as two ids', () => {
    const deduper = new EventDeduper({ bucketMs: 60_000 });
    const ours = new EventIdGenerator().next(T0);
    const foreign = ['0190f2a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6', crypto.randomUUID(), ours.toUpperCase(), `{${ours}}`, 'evt-1', ''];
    for (const id of [ours, ...foreign]) expect(deduper.add(id, T0)).toBe(true);
    for (const id of [ours, ...foreign]) expect(deduper.add(id, T0)).toBe(false);
    expect(deduper.stats()).toMatchObject({ ids: 7, producerBuckets: 1, intervals: 1, fallbackIds: 6 });
    expect(deduper.stats().bytes).toBeGreaterThan(0);
  });

  it('forgets whole buckets before the horizon, refuses adds before it, and never moves it back', () => {
    const deduper = new EventDeduper({ bucketMs: 60_000 });
    const g = new EventIdGenerator();
    const a = g.next(T0 + 1_000);
    const b = g.next(T0 + 61_000);
    const d = g.next(T0 + 95_000);
    const c = g.next(T0 + 125_000);
    expect(deduper.add(a, T0 + 1_000)).toBe(true);
    expect(deduper.add(b, T0 + 61_000)).toBe(true);
    expect(deduper.add(d, T0 + 95_000)).toBe(true);
    expect(deduper.add(c, T0 + 125_000)).toBe(true);
    expect(deduper.add('evt-old', T0 + 2_000)).toBe(true);
    expect(new Set(deduper.bucketIndexes())).toEqual(new Set([T0 / 60_000, T0 / 60_000 + 1, T0 / 60_000 + 2]));
    deduper.forgetBefore(T0 + 90_000);
    // minute 0 went; minute 1 holds the horizon and stays whole
    expect(deduper.size).toBe(3);
    expect(new Set(deduper.bucketIndexes())).toEqual(new Set([T0 / 60_000 + 1, T0 / 60_000 + 2]));
    expect(() => deduper.add(a, T0 + 1_000)).toThrow(RangeError);
    expect(() => deduper.add(b, T0 + 61_000)).toThrow(RangeError);
    expect(() => deduper.add(d, NaN)).toThrow(RangeError);
    expect(deduper.add(d, T0 + 95_000)).toBe(false);
    expect(deduper.add(g.next(T0 + 90_000), T0 + 90_000)).toBe(true);
    deduper.forgetBefore(T0); // back: ignored
    expect(() => deduper.add(a, T0 + 1_000)).toThrow(RangeError);
    expect(deduper.add(c, T0 + 125_000)).toBe(false);
    deduper.forgetBefore(T0 + 180_000);
    expect(deduper.size).toBe(0);
    expect(deduper.stats()).toMatchObject({ ids: 0, buckets: 0, producerBuckets: 0, intervals: 0 });
    expect(deduper.add(g.next(T0 + 180_000), T0 + 180_000)).toBe(true);
    expect(() => new EventDeduper({ bucketMs: 0 })).toThrow(RangeError);
  });
});
