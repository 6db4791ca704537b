import type { ActionEvent } from '../../events/index.ts';
import type { AlertRule, RulesFile } from './alert-rules.ts';
import { EventTimeWatermark } from './event-time-watermark.ts';
import { changed, initialState, isBreaching, step, type AlertState, type Effect, type Observation, type RuleTimings } from './rule-state-machine.ts';
import { WindowSeries, type RecentFailure } from './window-series.ts';

/**
 * The evaluator's core, free of I/O: counts events into per-rule, per-scope minute rings (event time,
 * deduplicated by event_id), and when the watermark closes a minute, steps every rule's state machine
 * at that minute's end. The caller persists the transitions it returns and reports back what the
 * database accepted (`commit`), so several instances can never both own one transition.
 */
export interface EngineOptions {
  /** Length of one "minute" bucket in ms: 60 000 / timeScale. */
  bucketMs: number;
}

export interface EngineStats {
  counted: number;
  duplicates: number;
  tooLate: number;
  ignored: number;
  evaluations: number;
  /** Count rules fired before their minute closed (see evaluateEarly). */
  earlyFirings: number;
}

export interface Transition {
  rule: AlertRule;
  prev: AlertState;
  next: AlertState;
  effects: Effect[];
  observation: Observation & { topReasons: { reason: string; count: number }[]; lastFailure?: RecentFailure };
  /** Evaluation instant (event time, ms): the end of the closed minute. */
  at: number;
  windowMs: number;
}

interface RuleRuntime {
  rule: AlertRule;
  timings: RuleTimings;
  windowBuckets: number;
  series: Map<string, WindowSeries>;
  /**
   * A count rule that fires without a pending duration may fire before its minute closes: late events
   * and redeliveries (deduplicated) can only add to a count, so a count already above the threshold is
   * what the closed minute will show too. Ratios can fall with late events and wait for the watermark.
   */
  early: boolean;
  /** Scopes whose count grew since the last early look: scope key → newest bucket counted. */
  touched: Map<string, number>;
}

export function scopeKeyOf(scope: Record<string, string>): string {
  const keys = Object.keys(scope).sort();
  return keys.length === 0 ? 'all' : keys.map((k) => `${k}=${scope[k]}`).join(',');
}

function matches(m: { event: string; where: Record<string, string> }, e: ActionEvent): boolean {
  if (e.event !== m.event) return false;
  const rec = e as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(m.where)) if (rec[k] !== v) return false;
  return true;
}

export class AlertEngine {
  readonly stats: EngineStats = { counted: 0, duplicates: 0, tooLate: 0, ignored: 0, evaluations: 0, earlyFirings: 0 };
  readonly watermark: EventTimeWatermark;
  private readonly runtimes: RuleRuntime[];
  private readonly states = new Map<string, AlertState>();
  /** event_ids per minute bucket: a duplicate carries its original timestamp, so one bucket is enough to look in. */
  private readonly seen = new Map<number, Set<string>>();
  private readonly retainBuckets: number;
  /** Last minute bucket that was evaluated; events at or before it are too late. */
  private closedBucket = -Infinity;
  /** Minutes ending at or before this instant were evaluated by an earlier run: replayed for counts only. */
  private checkpointMs = -Infinity;
  private oldestBucket = Infinity;

  constructor(
    readonly rules: RulesFile,
    readonly options: EngineOptions,
  ) {
    const b = options.bucketMs;
    this.watermark = new EventTimeWatermark(rules.latenessMinutes * b);
    this.runtimes = rules.rules.map((rule) => ({
      rule,
      windowBuckets: rule.windowMinutes,
      timings: { pendingMs: rule.pendingMinutes * b, recoveryHoldMs: rule.recoveryHoldMinutes * b, repeatMs: rule.repeatMinutes * b },
      series: new Map(),
      early: rule.kind === 'count' && rule.pendingMinutes === 0,
      touched: new Map(),
    }));
    this.retainBuckets = Math.max(...rules.rules.map((r) => r.windowMinutes)) + rules.latenessMinutes + 1;
  }

  bucketOf(ts: number): number {
    return Math.floor(ts / this.options.bucketMs);
  }

  /** Loads persisted states (and the evaluated-through checkpoint) before a rebuild. */
  restore(states: Iterable<AlertState>, checkpointMs: number | null): void {
    for (const s of states) this.states.set(`${s.ruleId}|${s.scopeKey}`, s);
    if (checkpointMs !== null) this.checkpointMs = checkpointMs;
  }

  state(ruleId: string, scopeKey: string): AlertState | undefined {
    return this.states.get(`${ruleId}|${scopeKey}`);
  }

  allStates(): AlertState[] {
    return [...this.states.values()];
  }

  /** Counts one event. Returns what happened to it, for metrics and tests. */
  ingest(e: ActionEvent, partition = 0): 'counted' | 'duplicate' | 'late' | 'ignored' {
    const bucket = this.bucketOf(e.timestamp);
    this.watermark.observe(partition, e.timestamp);
    if (bucket < this.oldestBucket) this.oldestBucket = bucket;
    if (bucket <= this.closedBucket) {
      this.stats.tooLate++;
      return 'late';
    }
    let ids = this.seen.get(bucket);
    if (!ids) {
      ids = new Set();
      this.seen.set(bucket, ids);
    }
    if (ids.has(e.event_id)) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    ids.add(e.event_id);
    let used = false;
    for (const rt of this.runtimes) {
      const num = matches(rt.rule.numerator, e);
      const den = rt.rule.denominator ? matches(rt.rule.denominator, e) : false;
      if (!num && !den) continue;
      const rec = e as unknown as Record<string, unknown>;
      for (const dims of rt.rule.groupBy) {
        const scope: Record<string, string> = {};
        let complete = true;
        for (const d of dims) {
          const v = rec[d];
          if (typeof v !== 'string') complete = false;
          else scope[d] = v;
        }
        if (!complete) continue;
        const key = scopeKeyOf(scope);
        let series = rt.series.get(key);
        if (!series) {
          series = new WindowSeries(scope, rt.windowBuckets);
          rt.series.set(key, series);
        }
        if (num) {
          series.addNumerator(bucket, typeof rec.reason === 'string' ? rec.reason : undefined);
          if (rt.early && (rt.touched.get(key) ?? -Infinity) < bucket) rt.touched.set(key, bucket);
          if (e.event === 'qontak_action_failed' && (!series.lastFailure || e.timestamp >= series.lastFailure.timestamp)) {
            series.lastFailure = { event_id: e.event_id, trace_id: e.trace_id, timestamp: e.timestamp };
          }
        }
        if (den) series.addDenominator(bucket);
        used = true;
      }
    }
    if (used) this.stats.counted++;
    else this.stats.ignored++;
    return used ? 'counted' : 'ignored';
  }

  /**
   * Fires count rules whose window, ending at a still-open minute, already holds more than the
   * threshold: the page goes out when the crossing event is read, not minutes later when the
   * watermark closes the minute. The evaluation instant is that minute's end, as the closed
   * evaluation would use, so a restart that replays the same events decides the same.
   */
  evaluateEarly(): Transition[] {
    const out: Transition[] = [];
    for (const rt of this.runtimes) {
      if (rt.touched.size === 0) continue;
      for (const [key, bucket] of rt.touched) {
        const at = (bucket + 1) * this.options.bucketMs;
        const series = rt.series.get(key);
        const prev = this.states.get(`${rt.rule.id}|${key}`);
        if (!series || bucket <= this.closedBucket || at <= this.checkpointMs) continue;
        if (prev && prev.status !== 'inactive' && prev.status !== 'resolved') continue;
        // A resolve decided at or after this minute's end stands: the episode after it starts later.
        if (prev?.lastEvalAt != null && prev.lastEvalAt >= at) continue;
        const { numerator } = series.sum(bucket, false);
        const obs: Observation = { value: numerator, numerator, denominator: 0, volume: numerator };
        if (!isBreaching(rt.rule, obs)) continue;
        const from = prev ?? initialState(rt.rule.id, key, { ...series.scope });
        this.stats.evaluations++;
        this.stats.earlyFirings++;
        const { next, effects } = step(rt.rule, rt.timings, from, obs, at);
        out.push({ rule: rt.rule, prev: from, next, effects, observation: { ...obs, topReasons: series.topReasons(bucket), lastFailure: series.lastFailure }, at, windowMs: rt.windowBuckets * this.options.bucketMs });
      }
      rt.touched.clear();
    }
    return out;
  }

  /** Minute buckets the watermark has closed and that still await evaluation, oldest first. */
  pendingBuckets(): number[] {
    const wm = this.watermark.update();
    if (wm === -Infinity) return [];
    const last = this.bucketOf(wm) - 1; // the bucket containing the watermark is still open
    if (last <= this.closedBucket) return [];
    // A jump (first event, or a quiet period) evaluates only as far back as any rule can still see.
    const horizon = Math.max(...this.runtimes.map((r) => r.windowBuckets + Math.ceil(r.timings.recoveryHoldMs / this.options.bucketMs))) + 1;
    // The very first evaluation starts at the oldest minute read (a rebuild reads a bounded range), so
    // a first batch that already spans an hour does not skip that hour's decisions.
    // A jump over minutes without data skips to what a rule can still see; minutes with data are never skipped.
    let nextData = Infinity;
    for (const b of this.seen.keys()) if (b > this.closedBucket && b < nextData) nextData = b;
    const first =
      this.closedBucket === -Infinity ? Math.min(last, this.oldestBucket) : Math.max(this.closedBucket + 1, Math.min(nextData, last - horizon));
    const out: number[] = [];
    for (let b = first; b <= last; b++) out.push(b);
    return out;
  }

  /**
   * Evaluates every rule at the end of `bucket` and marks it closed. Returns the transitions to
   * persist; minutes already evaluated before a restart (checkpoint) yield none.
   */
  evaluate(bucket: number): Transition[] {
    this.closedBucket = Math.max(this.closedBucket, bucket);
    const at = (bucket + 1) * this.options.bucketMs;
    const out: Transition[] = [];
    const replay = at <= this.checkpointMs;
    for (const rt of this.runtimes) {
      const keys = new Set(rt.series.keys());
      for (const s of this.states.values()) if (s.ruleId === rt.rule.id && s.status !== 'inactive' && s.status !== 'resolved') keys.add(s.scopeKey);
      for (const key of keys) {
        const series = rt.series.get(key);
        if (series?.expired(bucket)) {
          const st = this.states.get(`${rt.rule.id}|${key}`);
          if (!st || st.status === 'inactive' || st.status === 'resolved') {
            rt.series.delete(key); // nothing counted, nothing open: forget the scope
            continue;
          }
        }
        if (replay) continue;
        const { numerator, denominator } = series ? series.sum(bucket) : { numerator: 0, denominator: 0 };
        const value = rt.rule.kind === 'ratio' ? (denominator > 0 ? numerator / denominator : 0) : numerator;
        const volume = rt.rule.kind === 'ratio' ? denominator : numerator;
        const obs: Observation = { value, numerator, denominator, volume };
        const prev = this.states.get(`${rt.rule.id}|${key}`) ?? initialState(rt.rule.id, key, series ? { ...series.scope } : {});
        // Fired early at a later minute's end: minutes before it have nothing to change.
        if (prev.status === 'firing' && prev.firingSince !== null && prev.firingSince > at) continue;
        this.stats.evaluations++;
        const { next, effects } = step(rt.rule, rt.timings, prev, obs, at);
        if (effects.length === 0 && !changed(prev, next)) {
          if (prev.version > 0 || prev.status !== 'inactive') this.states.set(`${rt.rule.id}|${key}`, { ...prev, lastEvalAt: at, lastValue: value });
          continue;
        }
        out.push({
          rule: rt.rule,
          prev,
          next,
          effects,
          observation: { ...obs, topReasons: series?.topReasons(bucket) ?? [], lastFailure: series?.lastFailure },
          at,
          windowMs: rt.windowBuckets * this.options.bucketMs,
        });
      }
    }
    for (const b of this.seen.keys()) if (b <= bucket - this.retainBuckets) this.seen.delete(b);
    return out;
  }

  /** Records what the store persisted (or what it found instead, when another instance won). */
  commit(state: AlertState): void {
    this.states.set(`${state.ruleId}|${state.scopeKey}`, state);
  }

  get closedThroughMs(): number {
    return this.closedBucket === -Infinity ? -Infinity : (this.closedBucket + 1) * this.options.bucketMs;
  }

  /** Number of live scope series across rules (memory figure for benchmarks). */
  seriesCount(): number {
    return this.runtimes.reduce((n, r) => n + r.series.size, 0);
  }
}
