/**
 * The alert engine's event_id dedupe (EventDeduper) over hours of event time (printed, never asserted): adds/s,
 * and V8 heap and RSS after a full collection, every simulated hour.
 *
 * Producers (EventIdGenerators, one per executor process) make ids at `--rate` events/s of event time; each id goes
 * to one of 12 partitions by a hash, and the consumer reads a window of 12 × 500 records partition by partition,
 * so every producer's ids arrive interleaved and out of order. 1 % of the events are sent again: half within 10 s
 * (consumer redelivery, client retries), half 1–5.5 h later (the emitter's spool, dead-letter replays), with their
 * original id and time. 0.1 % are foreign UUIDv7s (HTTP clients' own ids). The horizon moves with the event time,
 * 6 h behind, as the engine's lateness allowance does. The bench knows every answer and counts wrong ones.
 *
 *   node --expose-gc --import tsx bench/alerts-dedupe.ts [--rate 10000] [--hours 6] [--producers 8]
 */
import { EventDeduper } from '../src/consumers/alerts/event-deduper.ts';
import { EventIdGenerator } from '../src/events/event-id.ts';
import { mix } from './lib/alert-traffic.ts';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const RATE = arg('rate', 10_000);
const HOURS = arg('hours', 6);
const PRODUCERS = arg('producers', 8);
const PARTITIONS = 12;
const BATCH = 500;
const BUCKET_MS = 60_000;
const ALLOWANCE_MS = 6 * 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const total = Math.round(RATE * HOURS * 3600);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

/** MurmurHash3's finalizer: a well-mixed, reproducible 32-bit value for each event index and salt. */

const tsOf = (i: number): number => T0 + Math.floor((i * 1000) / RATE);
const isForeign = (i: number): boolean => mix(i, 1) % 1000 === 0;

function foreignId(i: number): string {
  const time = tsOf(i).toString(16).padStart(12, '0');
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const tail = hex(mix(i, 5)) + hex(mix(i, 6)) + hex(mix(i, 7));
  return `${time.slice(0, 8)}-${time.slice(8)}-7${tail.slice(0, 3)}-${(8 + (mix(i, 8) & 3)).toString(16)}${tail.slice(3, 6)}-${tail.slice(6, 18)}`;
}

const gens = Array.from({ length: PRODUCERS }, () => new EventIdGenerator());
const instances = gens.map((g) => g.instance);
/** Event i is producer (i mod P)'s (i div P)-th id: the same id again for a duplicate, without keeping it. */
const producerId = (i: number): string => new EventIdGenerator({ instance: instances[i % PRODUCERS], sequence: Math.floor(i / PRODUCERS) }).next(tsOf(i));

function memory(): { heap: number; rss: number; arrays: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, arrays: m.arrayBuffers };
}
const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;

// One window of records, reused: ids, event times, partitions and the answer each add() must give.
const WINDOW = PARTITIONS * BATCH;
const ids: string[] = [];
const times: number[] = [];
const parts: number[] = [];
const answers: boolean[] = [];
const order = new Int32Array(4 * WINDOW);
const perPartition = new Int32Array(PARTITIONS + 1);

const base = memory();
let addMs = 0;
let adds = 0;
let wrong = 0;
let duplicates = 0;
let foreign = 0;
let nextReport = 3_600_000;
const started = performance.now();
process.stdout.write(
  `EventDeduper: ${RATE} events/s for ${HOURS} h of event time (${total.toLocaleString('en')} ids), ${PRODUCERS} producers, ` +
    `${PARTITIONS} partitions read ${BATCH} at a time, 1 % sent again, 0.1 % foreign ids; Node ${process.version}\n` +
    `baseline before the deduper: heap ${mb(base.heap)}, RSS ${mb(base.rss)}\n`,
);

/**
 * Sends and reads every record. A function of its own: once it returns, no optimized frame of its loop can keep
 * the deduper alive (the figure at the end measures what goes with it).
 */
function feed(deduper: EventDeduper): void {
  for (let start = 0; start < total; start += WINDOW) {
    const end = Math.min(total, start + WINDOW);
    ids.length = times.length = parts.length = answers.length = 0;
    const push = (id: string, ts: number, partition: number, answer: boolean) => {
      ids.push(id);
      times.push(ts);
      parts.push(partition);
      answers.push(answer);
    };
    for (let i = start; i < end; i++) {
      const ts = tsOf(i);
      const partition = mix(i, 2) % PARTITIONS;
      push(gens[i % PRODUCERS].next(ts), ts, partition, true);
      if (isForeign(i)) {
        push(foreignId(i), ts, partition, true);
        foreign++;
      }
      const dup = mix(i, 3);
      if (dup % 100 === 0) {
        // half soon (within 10 s, but from an earlier window, so the first copy is read first), half hours later
        // (1–5.5 h): never behind the 6 h horizon
        const back = (dup >>> 8) % 2 === 0 ? WINDOW + (mix(i, 4) % (10 * RATE)) : Math.round(RATE * 3600) + (mix(i, 4) % Math.round(RATE * 4.5 * 3600));
        const j = i - back;
        if (j >= 0) {
          const again = mix(i, 9) % PARTITIONS;
          push(producerId(j), tsOf(j), again, false);
          duplicates++;
          if (isForeign(j)) {
            push(foreignId(j), tsOf(j), again, false);
            duplicates++;
          }
        }
      }
    }
    // the consumer reads partition by partition: a counting sort of the window by partition, stable within each
    perPartition.fill(0);
    for (let k = 0; k < parts.length; k++) perPartition[parts[k] + 1]++;
    for (let p = 0; p < PARTITIONS; p++) perPartition[p + 1] += perPartition[p];
    for (let k = 0; k < parts.length; k++) order[perPartition[parts[k]]++] = k;

    const t0 = performance.now();
    deduper.forgetBefore(tsOf(start) - ALLOWANCE_MS);
    for (let n = 0; n < ids.length; n++) {
      const k = order[n];
      if (deduper.add(ids[k], times[k]) !== answers[k]) wrong++;
    }
    addMs += performance.now() - t0;
    adds += ids.length;

    if (tsOf(end) - T0 >= nextReport || end === total) {
      nextReport += 3_600_000;
      const m = memory();
      const s = deduper.stats();
      process.stdout.write(
        `${((tsOf(end) - T0) / 3_600_000).toFixed(2)} h: ${(adds / (addMs / 1000) / 1e6).toFixed(2)}M adds/s (add() alone; ${((performance.now() - started) / 1000).toFixed(0)} s wall), ` +
          `heap ${mb(m.heap)} (+${mb(m.heap - base.heap)}), RSS ${mb(m.rss)} (+${mb(m.rss - base.rss)}), array buffers ${mb(m.arrays)}; ` +
          `deduper ${s.ids.toLocaleString('en')} ids in ${s.buckets} buckets, ${s.producerBuckets} producer-buckets, ${s.intervals} intervals, ` +
          `${s.fallbackIds.toLocaleString('en')} fallback ids, ~${mb(s.bytes)} estimated; ` +
          `${duplicates.toLocaleString('en')} duplicates and ${foreign.toLocaleString('en')} foreign ids sent, ${wrong} wrong answers\n`,
      );
    }
  }
}

let deduper: EventDeduper | undefined = new EventDeduper({ bucketMs: BUCKET_MS });
feed(deduper);
// What the deduper itself holds: the memory that goes when it does.
const held = memory();
deduper = undefined;
const gone = memory();
process.stdout.write(`the deduper held heap ${mb(held.heap - gone.heap)}, array buffers ${mb(held.arrays - gone.arrays)}, RSS ${mb(held.rss - gone.rss)} (RSS: what the allocator gave back at once)\n`);
