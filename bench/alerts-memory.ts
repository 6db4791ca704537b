/**
 * The alert engine's memory at steady state with the shipped rules (the spec's three and the SLO burn-rate
 * rules, the longest looking back 3 days), printed, never asserted. Targets: RSS under 256 MB at 10k events/s and
 * under 512 MB at 20k events/s of event time, held for the whole lateness allowance (6 h).
 *
 * One child process per rate, so each RSS is that rate's alone. A child first fills the long windows cheaply (3
 * days + 6 h of event time, 20 calls per 10 s step per node_type: step memory grows with the steps that have
 * traffic, not with the rate), then feeds the full rate for 6 h 15 min (the allowance and a margin: the dedupe
 * horizon and the count windows fill up and are pruned). Calls (invoked, then executed or failed, 5 % failing),
 * token refreshes over 2,000 organizations (those with broken credentials fail and page), 8 producers with an
 * EventIdGenerator each, 0.1 % ids made by another client, 1 % of events up to 30 min late, 0.5 % sent again up to
 * 3 h later; read as 12 partitions, decided every window of 6,000 events as the evaluator does. Heap, array
 * buffers and RSS after full collections every 15 min of event time (every 6 h during the fill).
 *
 *   node --expose-gc --import tsx bench/alerts-memory.ts            # 10k then 20k, one child each
 *   BENCH_ALERT_RATES=20000 npx tsx bench/alerts-memory.ts          # one rate
 *   node --expose-gc --import tsx bench/alerts-memory.ts --child 10000
 * BENCH_ALERT_FULL_MINUTES (375) and BENCH_ALERT_FILL_HOURS (78) shorten a trial run.
 *
 * Under tsx the process carries tsx's module loader (a thread with its own V8 heap, transformed sources): on Node
 * 20 it started at 100 MB RSS where the same code bundled to plain JavaScript started at 65 MB, and stayed 25–35 MB
 * above it after collections. The alerts process runs compiled JavaScript; for its figure, bundle the bench and
 * run the child:
 *   npx esbuild bench/alerts-memory.ts --bundle --platform=node --format=esm --packages=external --outfile=/tmp/am/alerts-memory.mjs
 *   cp src/consumers/alerts/*.json /tmp/am/ && ln -s "$PWD/node_modules" /tmp/am/node_modules
 *   node --expose-gc /tmp/am/alerts-memory.mjs --child 10000
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setImmediate, setTimeout } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { AlertEngine } from '../src/consumers/alerts/alert-engine.ts';
import { isRecoveryStep } from '../src/consumers/alerts/recovery.ts';
import { loadRulesFile, withSloRules } from '../src/consumers/alerts/alert-rules.ts';
import type { ActionEvent } from '../src/events/index.ts';
import { census, entryBytes } from './lib/alert-engine-census.ts';
import { AlertTraffic, DeliveryQueue } from './lib/alert-traffic.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const PARTITIONS = 12;
const WINDOW = PARTITIONS * 500;
const FULL_MINUTES = Number(process.env.BENCH_ALERT_FULL_MINUTES ?? 375);
const FILL_HOURS = Number(process.env.BENCH_ALERT_FILL_HOURS ?? 78);
const TARGET_MB: Record<number, number> = { 10_000: 256, 20_000: 512 };

const args = process.argv.slice(2);
const childAt = args.indexOf('--child');
if (childAt >= 0) await child(Number(args[childAt + 1]));
else await parent();

async function parent(): Promise<void> {
  const rates = (process.env.BENCH_ALERT_RATES ?? '10000,20000').split(',').map(Number);
  if (rates.some((r) => !(r > 0))) throw new Error(`BENCH_ALERT_RATES must list positive rates, not ${process.env.BENCH_ALERT_RATES}`);
  const self = fileURLToPath(import.meta.url);
  const tsx = import.meta.resolve('tsx');
  // One after another: two at once would share the two cores and each other's page cache.
  for (const rate of rates) {
    const started = Date.now();
    const code = await new Promise<number>((done) => {
      const c = spawn(process.execPath, ['--expose-gc', '--import', tsx, self, '--child', String(rate)], { stdio: 'inherit', env: process.env });
      c.on('exit', (exitCode, signal) => done(exitCode ?? (signal ? 1 : 0)));
    });
    console.log(`alerts memory ${rate.toLocaleString('en')} events/s: child exited ${code} after ${((Date.now() - started) / 60_000).toFixed(1)} min wall\n`);
    if (code !== 0) process.exitCode = 1;
  }
}

interface Sample {
  full: boolean;
  /** Event time since the full rate began (negative during the fill), ms. */
  sinceFullMs: number;
  rss: number;
  heap: number;
}

async function child(rate: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the child with node --expose-gc');
  const wallStart = performance.now();
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  const hm = (ms: number) => `${ms < 0 ? '-' : ''}${Math.floor(Math.abs(ms) / HOUR)}:${String(Math.floor((Math.abs(ms) % HOUR) / MIN)).padStart(2, '0')}`;
  // After the collections, a pause: the pages they freed go back to the system from V8's worker threads.
  const memory = async () => {
    gc();
    gc();
    await setTimeout(100);
    return process.memoryUsage();
  };

  // Linux: the anonymous part of the RSS (heaps, malloc) without the mapped binary and libraries.
  const rssAnon = () => {
    try {
      const kb = /RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      return kb === undefined ? '?' : mb(Number(kb) * 1024);
    } catch {
      return '?';
    }
  };
  const rules = withSloRules(loadRulesFile());
  const t0 = Date.UTC(2026, 0, 1);
  const traffic = new AlertTraffic({ t0, fillMs: FILL_HOURS * HOUR, rate, fullMs: FULL_MINUTES * MIN });
  const base = await memory();
  const engine = new AlertEngine(rules, { minuteMs: MIN });
  console.log(
    `alerts memory at ${rate.toLocaleString('en')} events/s (target RSS < ${TARGET_MB[rate] ?? '?'} MB): ${rules.rules.length} rules (${rules.rules.map((r) => `${r.id} ${r.windowMinutes} min`).join(', ')}), ` +
      `fill ${FILL_HOURS} h at ${Math.round(traffic.fillEvents / (FILL_HOURS * 3600))} events/s, then ${FULL_MINUTES} min at ${rate.toLocaleString('en')} events/s: ` +
      `${traffic.total.toLocaleString('en')} events made; Node ${process.version}, pid ${process.pid}\n` +
      `before the engine: heap ${mb(base.heapUsed)} MB, array buffers ${mb(base.arrayBuffers)} MB, RSS ${mb(base.rss)} MB`,
  );
  console.log('phase | event time | since full rate | events fed | heapUsed MB | heapTotal MB | arrayBuffers MB | RSS MB | RssAnon MB | peak RSS MB | series | ratio steps | gate steps | count times | dedupe ids | producer-buckets | intervals | fallback ids | dedupe est. MB | queued');

  const queue = new DeliveryQueue();
  const ids: string[] = [];
  const indexes: number[] = [];
  const events: ActionEvent[] = new Array(4 * WINDOW);
  const perPartition = new Int32Array(PARTITIONS + 1);
  const partitions: number[] = [];
  const samples: Sample[] = [];
  let fed = 0;
  let fedFull = 0;
  let transitions = 0;
  let engineMsFill = 0;
  let engineMsFull = 0;
  let nextSample = t0 + 6 * HOUR;

  const sample = async (ts: number, full: boolean) => {
    const m = await memory();
    const c = census(engine);
    const peak = process.resourceUsage().maxRSS * 1024;
    const d = c.dedupe;
    samples.push({ full, sinceFullMs: ts - traffic.t1, rss: m.rss, heap: m.heapUsed });
    console.log(
      [
        full ? 'full' : 'fill',
        hm(ts - t0),
        hm(ts - traffic.t1),
        fed.toLocaleString('en'),
        mb(m.heapUsed),
        mb(m.heapTotal),
        mb(m.arrayBuffers),
        mb(m.rss),
        rssAnon(),
        mb(peak),
        engine.seriesCount(),
        c.ratioSteps.toLocaleString('en'),
        c.gateSteps.toLocaleString('en'),
        c.countTimes.toLocaleString('en'),
        d ? d.ids.toLocaleString('en') : '?',
        d ? d.producerBuckets : '?',
        d ? d.intervals : '?',
        d ? d.fallbackIds.toLocaleString('en') : '?',
        d ? mb(d.bytes) : '?',
        queue.size.toLocaleString('en'),
      ].join(' | '),
    );
  };

  for (let start = 0; start < traffic.total; start += WINDOW) {
    const end = Math.min(traffic.total, start + WINDOW);
    ids.length = indexes.length = 0;
    for (let i = start; i < end; i++) {
      const id = traffic.makeId(i); // made now, in order, also for an event that arrives later
      const ts = traffic.tsOf(i);
      const late = traffic.lateByMs(i);
      if (late > 0) queue.push(ts + late, i);
      else {
        indexes.push(i);
        ids.push(id);
      }
      const again = traffic.resentAfterMs(i);
      if (again > 0) queue.push(ts + again, i);
    }
    const now = traffic.tsOf(end - 1);
    queue.take(now, (i) => {
      indexes.push(i);
      ids.push(traffic.idAgain(i));
    });
    // The consumer reads partition by partition (Kafka keys by organization): producers' ids arrive interleaved.
    perPartition.fill(0);
    const partitionOf = (k: number) => traffic.orgOf(indexes[k]) % PARTITIONS;
    for (let k = 0; k < indexes.length; k++) perPartition[partitionOf(k) + 1]++;
    for (let p = 0; p < PARTITIONS; p++) perPartition[p + 1] += perPartition[p];
    for (let k = 0; k < indexes.length; k++) {
      const p = partitionOf(k);
      const at = perPartition[p]++;
      events[at] = traffic.event(indexes[k], ids[k]);
      partitions[at] = p;
    }

    const t = performance.now();
    for (let k = 0; k < indexes.length; k++) engine.ingest(events[k], partitions[k]);
    for (let p = 0; p < PARTITIONS; p++) engine.watermark.setCaughtUp(p, true);
    for (const tr of engine.decide()) {
      transitions++;
      if (isRecoveryStep(tr)) engine.commitRecovery({ ...tr.next, version: tr.prev.version + 1 });
      else engine.commit({ ...tr.next, version: tr.prev.version + 1 });
    }
    const ms = performance.now() - t;
    const full = start >= traffic.fillEvents;
    if (full) {
      engineMsFull += ms;
      fedFull += indexes.length;
    } else engineMsFill += ms;
    fed += indexes.length;
    events.fill(undefined as unknown as ActionEvent, 0, indexes.length);
    // The evaluator awaits its next Kafka batch between reads, so V8's tasks on the main thread (finishing a
    // collection, giving memory back) get their turn; a loop that never yields would hold on to more.
    await setImmediate();

    if (now >= nextSample || end === traffic.total) {
      await sample(now, end > traffic.fillEvents);
      nextSample = now < traffic.t1 ? Math.min(nextSample + 6 * HOUR, traffic.t1) : Math.max(nextSample, traffic.t1) + 15 * MIN;
      while (nextSample <= now) nextSample += 15 * MIN;
    }
  }

  const full = samples.filter((s) => s.full);
  const last = full.length > 0 ? full[full.length - 1].sinceFullMs : 0;
  const firstHour = full.filter((s) => s.sinceFullMs <= HOUR);
  const lastTwo = full.filter((s) => s.sinceFullMs >= last - 2 * HOUR);
  const max = (xs: Sample[], f: (s: Sample) => number) => Math.max(...xs.map(f));
  const st = engine.stats;
  console.log(
    `steady state: RSS max ${mb(max(lastTwo, (s) => s.rss))} MB over the last 2 h of event time vs ${mb(max(firstHour, (s) => s.rss))} MB in the first hour of full rate; ` +
      `heapUsed max ${mb(max(lastTwo, (s) => s.heap))} MB vs ${mb(max(firstHour, (s) => s.heap))} MB; ` +
      `peak RSS of the process (before collections too) ${mb(process.resourceUsage().maxRSS * 1024)} MB; target < ${TARGET_MB[rate] ?? '?'} MB`,
  );
  console.log(
    `throughput (ingest + decide only): full rate ${Math.round(fedFull / (engineMsFull / 1000)).toLocaleString('en')} events/s (${fedFull.toLocaleString('en')} events, ${(engineMsFull / 1000).toFixed(0)} s), ` +
      `fill ${Math.round((fed - fedFull) / (engineMsFill / 1000)).toLocaleString('en')} events/s; ${transitions} transitions; counted ${st.counted.toLocaleString('en')}, ` +
      `duplicates ${st.duplicates.toLocaleString('en')}, late ${st.late.toLocaleString('en')}, too late ${st.tooLate}, ignored ${st.ignored}; wall ${((performance.now() - wallStart) / 60_000).toFixed(1)} min`,
  );

  await memory();
  console.log(`V8 heap spaces at the end (committed / used MB): ${v8.getHeapSpaceStatistics().filter((x) => x.space_size > 0).map((x) => `${x.space_name} ${mb(x.space_size)} / ${mb(x.space_used_size)}`).join(', ')}`);
  // Which structure holds the memory: entries counted in the engine × the bytes each takes.
  const c = census(engine);
  const per = entryBytes(gc);
  console.log(
    `held at the end: ratio steps ${c.ratioSteps.toLocaleString('en')} in typed arrays of ${mb(c.ratioBytes)} MB (${(c.ratioBytes / Math.max(1, c.ratioSteps)).toFixed(0)} B a step with the arrays' room) ` +
      `[${c.ratio.map((r) => `${r.rule} ${r.parts} parts ${r.steps.toLocaleString('en')} steps ${mb(r.bytes)} MB`).join('; ')}]; ` +
      `gate steps ${c.gateSteps.toLocaleString('en')} × ${per.gateStep.toFixed(0)} B ≈ ${mb(c.gateSteps * per.gateStep)} MB; ` +
      `count-rule times ${c.countTimes.toLocaleString('en')} in ${c.countScopes} scopes × ${per.countTime.toFixed(0)} B ≈ ${mb(c.countTimes * per.countTime)} MB; ` +
      `dedupe ≈ ${c.dedupe ? mb(c.dedupe.bytes) : '?'} MB (its own estimate); alert states ${c.states}`,
  );
}
