import { isBlockedCall, type ActionEvent } from '../../events/index.ts';
import { ActionGateView } from './action-gate-view.ts';
import type { OrganizationCounts } from './blast-radius.ts';
import { DEFAULT_SUSTAINED_GAP_MINUTES, type AlertRule, type Matcher, type RulesFile, type ScopeDimension } from './alert-rules.ts';
import { CountWindow } from './count-window.ts';
import { EventDeduper } from './event-deduper.ts';
import { EventTimeWatermark } from './event-time-watermark.ts';
import { RecoveryTracker, type RecoveryState, type RecoveryStep } from './recovery.ts';
import { ScopeKeys, type ScopeKeyTable } from './scope-keys.ts';
import { changed, initialState, isBreaching, step, type AlertState, type Effect, type Observation, type Resolution, type RuleTimings } from './rule-state-machine.ts';
import { WindowSeries, type RecentFailure } from './window-series.ts';

/**
 * The evaluator's core, free of I/O. Count rules keep the exact event times of their scope and decide on every
 * event over the closed span [t − window, t]; ratio rules keep per-step counts (10 s of event time) with rolling
 * sums and are stepped as the watermark passes each step's end. Late events (up to the lateness allowance behind
 * the evaluated instant) count in the windows they belong to; a count breach they reveal pages once, saying when
 * it began. Blocked calls leave every rate. The caller persists the transitions returned and reports back what
 * the database accepted (`commit`), so several instances can never both own one transition.
 */
export interface EngineOptions {
  /** Length of one event-time minute in ms: 60 000 / timeScale. */
  minuteMs: number;
  /** Event-time minutes an event may be behind the evaluated instant and still count (default 360). */
  latenessAllowanceMinutes?: number;
}

export type IngestResult = 'counted' | 'late' | 'too_late' | 'duplicate' | 'ignored';

/** Upper bounds (event-time minutes behind the evaluated instant) of the late-event counters on /metrics. */
export const LATENESS_BUCKETS: readonly [string, number][] = [
  ['le_1m', 1],
  ['le_10m', 10],
  ['le_1h', 60],
  ['le_6h', 360],
  ['le_24h', 1440],
  ['more', Infinity],
];

export interface EngineStats {
  counted: number;
  duplicates: number;
  /** Counted although their instant was already evaluated (within the lateness allowance). */
  late: number;
  /** Beyond the lateness allowance: not counted. */
  tooLate: number;
  ignored: number;
  evaluations: number;
  /** Count rules fired when the crossing event was read. */
  earlyFirings: number;
  /** Of those, breaches that began before the evaluated instant (found through late events). */
  lateFirings: number;
  /** Late breaches inside or before an episode already paged: not paged again. */
  lateBreachesAlreadyPaged: number;
  /** Late events (counted or not) by how far behind the evaluated instant they arrived. */
  lateByLateness: Record<string, number>;
}

export interface Transition {
  rule: AlertRule;
  prev: AlertState;
  next: AlertState;
  effects: Effect[];
  observation: Observation & { topReasons: { reason: string; count: number }[]; lastFailure?: RecentFailure };
  /** Evaluation instant (event time, ms). */
  at: number;
  windowMs: number;
  /** Why a `resolve` effect closed the alert. */
  resolution?: Resolution;
  /** A breach found through late events: when it began (event time) and how far behind the stream it was found. */
  late?: { breachBeganAt: number; detectedAt: number; lateByMs: number };
  /** Kill switch: a human re-enabled the action; no automatic disable before this event time. */
  graceUntil?: number | null;
  /** Kill switch: failed and completed calls per organization of the scope's node_type in the window (blast radius). */
  organizations?: OrganizationCounts[];
}

/** The gate view's key for one organization's switch of an action (a node_type alone is the action's global switch). */
export function organizationGateKey(nodeType: string, organizationId: string): string {
  return `${nodeType}\u0000${organizationId}`;
}

interface Family {
  dims: ScopeDimension[];
  /** dims plus node_type, sorted: a part of the scope per node_type. */
  partDims: ScopeDimension[];
  hasNodeType: boolean;
  keys: ScopeKeyTable;
  partKeys: ScopeKeyTable;
}

interface ScopeEntry {
  scope: Record<string, string>;
  hasNodeType: boolean;
  parts: Set<string>;
}

interface RatioRuntime {
  kind: 'ratio';
  rule: AlertRule;
  timings: RuleTimings;
  families: Family[];
  windowSteps: number;
  spanSteps: number;
  /** Multiwindow rules: the short window that must breach too (0 = none). */
  confirmSteps: number;
  /** Rolling windows kept per part: the window, then the span and the confirmation window when the rule has them. */
  sizes: number[];
  scopes: Map<string, ScopeEntry>;
  parts: Map<string, WindowSeries>;
  /** Continuous rules: part key → oldest step already evaluated that late events have changed since the last look. */
  lateFrom: Map<string, number>;
  /** Steps a pending start needs before the rule fires (pendingMinutes in steps). */
  pendingSteps: number;
  /** Steps of counts this rule keeps: its own longest look-back, the lateness allowance and its pending span. */
  keepSteps: number;
  /** Kill-switch rules and rules routed by blast radius: node_type → organization → part key. */
  orgParts: Map<string, Map<string, string>>;
  /** The rule's transitions of a node_type scope carry the window's failures per organization (`organizations`). */
  byOrganization: boolean;
  /**
   * A rule routed by blast radius with no family of per-organization parts: the key table of the parts it keeps per
   * node_type and organization for the breakdown alone (they make no scope, so no alert of their own).
   */
  breakdownKeys?: ScopeKeyTable;
}

interface CountRuntime {
  kind: 'count';
  rule: AlertRule;
  timings: RuleTimings;
  families: Family[];
  windowMs: number;
  scopes: Map<string, CountWindow>;
  /**
   * Fires on the event (no pending): scope key → earliest and latest event time inserted since the last look, and
   * the instant evaluated through when they were read (a breach before it was found late).
   */
  early: boolean;
  touched: Map<string, Touched>;
  /** Scopes with a pending or firing alert: the only ones a step must look at (the others decide on events). */
  open: Set<string>;
}

type RuleRuntime = RatioRuntime | CountRuntime;

interface Touched {
  from: number;
  to: number;
  closed: number;
}

export function scopeKeyOf(scope: Record<string, string>): string {
  const keys = Object.keys(scope).sort();
  return keys.length === 0 ? 'all' : keys.map((k) => `${k}=${scope[k]}`).join(',');
}

function matches(m: Matcher | undefined, e: ActionEvent): boolean {
  if (!m) return false;
  if (typeof m.event === 'string' ? e.event !== m.event : !m.event.includes(e.event)) return false;
  const rec = e as unknown as Record<string, unknown>;
  for (const k in m.where) if (rec[k] !== m.where[k]) return false;
  return true;
}

function familiesOf(rule: AlertRule, keys: ScopeKeys): Family[] {
  return rule.groupBy.map((g) => {
    const dims = [...g].sort();
    const hasNodeType = dims.includes('node_type');
    const partDims = hasNodeType ? dims : ([...dims, 'node_type'] as ScopeDimension[]).sort();
    return { dims, hasNodeType, partDims, keys: keys.tableFor(dims), partKeys: keys.tableFor(partDims) };
  });
}

function scopeOf(dims: readonly ScopeDimension[], rec: Record<string, unknown>): Record<string, string> {
  const scope: Record<string, string> = {};
  for (const d of dims) scope[d] = rec[d] as string;
  return scope;
}

/** The three most frequent failure reasons over the parts' windows of `windowSteps` ending at step `k`. */
function topReasonsOf(parts: readonly WindowSeries[], k: number, windowSteps: number): { reason: string; count: number }[] {
  const reasons = new Map<string, number>();
  for (const p of parts) for (const r of p.topReasons(k, windowSteps, 10)) reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + r.count);
  return [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)).slice(0, 3);
}

const isOpen = (s: AlertState | undefined): boolean => s !== undefined && (s.status === 'firing' || s.status === 'pending');

/**
 * The state was last evaluated at or after `at`: by this engine, or by an earlier run whose transition (persisted with
 * its instant) it restored. Deciding `at` again would start a second episode behind the state's own last decision —
 * a restart whose checkpoint lags the evaluated steps (it is never saved ahead of the clock) re-reads them.
 */
const decidedAlready = (s: AlertState | undefined, at: number): boolean => s !== undefined && s.lastEvalAt !== null && s.lastEvalAt >= at;

const byOrganizationId = (a: OrganizationCounts, b: OrganizationCounts): number => (a.organization_id < b.organization_id ? -1 : a.organization_id > b.organization_id ? 1 : 0);

export class AlertEngine {
  readonly stats: EngineStats = {
    counted: 0,
    duplicates: 0,
    late: 0,
    tooLate: 0,
    ignored: 0,
    evaluations: 0,
    earlyFirings: 0,
    lateFirings: 0,
    lateBreachesAlreadyPaged: 0,
    lateByLateness: Object.fromEntries(LATENESS_BUCKETS.map(([k]) => [k, 0])),
  };
  readonly watermark: EventTimeWatermark;
  readonly stepMs: number;
  readonly allowanceMs: number;
  private readonly runtimes: RuleRuntime[];
  private readonly states = new Map<string, AlertState>();
  private readonly gate: ActionGateView;
  /** Half-open recovery of the switches the kill switch turned off (cool-down, probes, automatic re-enable). */
  readonly recovery: RecoveryTracker;
  /**
   * event_ids per event-time minute, for the lateness allowance: a duplicate carries its original timestamp, so one
   * minute is enough to look in. Ids our producers make are kept as sequence intervals per producer instance, in
   * memory that does not grow with the rate; any other id in a typed-array table (event-deduper.ts).
   */
  private readonly seen: EventDeduper;
  private readonly graceMs: number;
  private readonly delayMs: number;
  private readonly horizonSteps: number;
  /** Steps of the gate view kept: the longest look-back of any rule and the lateness allowance. */
  private readonly keepSteps: number;
  /** Last step evaluated; instants up to its end are "closed". */
  private closedStep = -Infinity;
  /** Instants at or before this were evaluated by an earlier run: replayed for counts only. */
  private checkpointMs = -Infinity;
  private oldestStep = Infinity;
  private newestTs = -Infinity;

  constructor(
    readonly rules: RulesFile,
    readonly options: EngineOptions,
  ) {
    const m = options.minuteMs;
    this.stepMs = (rules.resolutionSeconds / 60) * m;
    this.allowanceMs = (options.latenessAllowanceMinutes ?? 360) * m;
    this.delayMs = rules.evaluationDelayMinutes * m;
    this.graceMs = rules.reenableGraceMinutes * m;
    this.watermark = new EventTimeWatermark(this.delayMs);
    this.gate = new ActionGateView(this.stepMs);
    this.recovery = new RecoveryTracker(rules.recovery, m);
    this.seen = new EventDeduper({ bucketMs: m });
    const stepsPerMinute = 60 / rules.resolutionSeconds;
    const scopeKeys = new ScopeKeys();
    this.runtimes = rules.rules.map((rule): RuleRuntime => {
      const timings: RuleTimings = {
        pendingMs: rule.pendingMinutes * m,
        recoveryHoldMs: rule.recoveryHoldMinutes * m,
        repeatMs: rule.repeatMinutes * m,
        noTrafficMs: rule.noTrafficResolveMinutes * m,
        gapMs: (rule.sustainedGapMinutes ?? DEFAULT_SUSTAINED_GAP_MINUTES) * m,
      };
      const families = familiesOf(rule, scopeKeys);
      if (rule.kind === 'count') {
        return { kind: 'count', rule, timings, families, windowMs: rule.windowMinutes * m, scopes: new Map(), early: rule.pendingMinutes === 0, touched: new Map(), open: new Set() };
      }
      const spanSteps = rule.pendingMode === 'sustained' ? rule.pendingMinutes * stepsPerMinute : 0;
      const confirmSteps = (rule.confirmWindowMinutes ?? 0) * stepsPerMinute;
      const windowSteps = rule.windowMinutes * stepsPerMinute;
      const sizes = [windowSteps, ...(spanSteps > 0 ? [spanSteps] : []), ...(confirmSteps > 0 ? [confirmSteps] : [])];
      const pendingSteps = rule.pendingMinutes * stepsPerMinute;
      // A late event re-checks a continuous rule's windows back to the allowance, each window ending up to
      // pendingSteps before it: enough steps for that, and no more than this rule needs.
      const keepSteps = Math.max(windowSteps, spanSteps) + Math.ceil(this.allowanceMs / this.stepMs) + (rule.pendingMode === 'continuous' ? pendingSteps : 0) + 1;
      const byOrganization = rule.action !== 'none' || rule.routeByBlastRadius;
      const breakdownKeys = rule.routeByBlastRadius && !families.some((f) => f.partDims.includes('organization_id')) ? scopeKeys.tableFor(['node_type', 'organization_id']) : undefined;
      return {
        kind: 'ratio', rule, timings, families, windowSteps, spanSteps, confirmSteps, sizes, scopes: new Map(), parts: new Map(), lateFrom: new Map(), pendingSteps, keepSteps,
        orgParts: new Map(), byOrganization, breakdownKeys,
      };
    });
    this.horizonSteps = Math.max(...rules.rules.map((r) => (r.windowMinutes + (r.pendingMode === 'sustained' ? r.pendingMinutes : 0) + r.recoveryHoldMinutes) * stepsPerMinute)) + 1;
    this.keepSteps = Math.max(...rules.rules.map((r) => (r.windowMinutes + (r.pendingMode === 'sustained' ? r.pendingMinutes : 0)) * stepsPerMinute)) + Math.ceil(this.allowanceMs / this.stepMs) + 1;
  }

  stepOf(ts: number): number {
    return Math.floor(ts / this.stepMs);
  }

  /** The evaluation instant of step `step`: its end. */
  instantOf(step: number): number {
    return Math.round((step + 1) * this.stepMs);
  }

  /** Loads persisted states (and the evaluated-through checkpoint) before a rebuild. */
  restore(states: Iterable<AlertState>, checkpointMs: number | null): void {
    for (const s of states) this.commit(s);
    if (checkpointMs !== null) this.checkpointMs = checkpointMs;
  }

  /** An open alert is evaluated even before (or without) new events for its scope. */
  private ensureScope(s: AlertState): void {
    const rt = this.runtimes.find((r) => r.rule.id === s.ruleId);
    if (!rt || rt.scopes.has(s.scopeKey)) return;
    if (rt.kind === 'count') rt.scopes.set(s.scopeKey, new CountWindow({ ...s.scope }));
    else {
      const hasNodeType = 'node_type' in s.scope;
      rt.scopes.set(s.scopeKey, { scope: { ...s.scope }, hasNodeType, parts: new Set(hasNodeType ? [s.scopeKey] : []) });
    }
  }

  state(ruleId: string, scopeKey: string): AlertState | undefined {
    return this.states.get(`${ruleId}|${scopeKey}`);
  }

  allStates(): AlertState[] {
    return [...this.states.values()];
  }

  /**
   * Counts one event. `decide` = false replays an event an earlier run already decided on (before its
   * checkpoint): it counts, and reveals no breach.
   */
  ingest(e: ActionEvent, partition = 0, decide = true): IngestResult {
    const ts = e.timestamp;
    this.watermark.observe(partition, ts);
    const closed = this.closedThroughMs;
    if (ts < closed - this.allowanceMs) {
      this.stats.tooLate++;
      this.stats.lateByLateness.more++;
      return 'too_late';
    }
    if (!this.seen.add(e.event_id, ts)) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    if (ts > this.newestTs) this.newestTs = ts;
    const st = this.stepOf(ts);
    if (st < this.oldestStep) this.oldestStep = st;
    const late = ts < closed;
    if (late) {
      const behind = (closed - ts) / this.options.minuteMs;
      const bucket = LATENESS_BUCKETS.find(([, max]) => behind <= max)![0];
      this.stats.lateByLateness[bucket]++;
    }
    const rec = e as unknown as Record<string, unknown>;
    const nodeType = typeof rec.node_type === 'string' ? rec.node_type : undefined;
    const blocked = isBlockedCall(e as { event: string; reason?: string });
    // A probe's outcome reached the action through a switch that is still off: it counts in every rate like any call,
    // but does not show the action on again (only the registry's re-enable does).
    const outcome = nodeType !== undefined && !blocked && rec.probe !== true && (e.event === 'qontak_action_executed' || e.event === 'qontak_action_failed');
    if (nodeType !== undefined && rec.probe === true && !blocked && (e.event === 'qontak_action_executed' || e.event === 'qontak_action_failed')) {
      this.recovery.probe(nodeType, {
        at: ts,
        eventId: e.event_id,
        organizationId: rec.organization_id as string,
        ok: e.event === 'qontak_action_executed',
        ...(typeof rec.reason === 'string' ? { reason: rec.reason } : {}),
      }, this.watermark.peek()); // read late when the watermark has passed it (probes are few: no cost per event)
    }
    if (nodeType !== undefined) {
      // A call refused by one organization's switch says nothing about the action's global flag: it leaves the
      // rates like any blocked call, but does not make the action look disabled for everyone.
      const org = rec.organization_id as string;
      if (blocked) {
        if (rec.registry_scope !== 'organization') this.gate.blocked(nodeType, ts);
        else this.gate.blocked(organizationGateKey(nodeType, org), ts);
      } else if (outcome) {
        this.gate.outcome(nodeType, ts);
        // An organization's switch is followed only once it has refused a call: the view keeps no series for the
        // many organizations never switched off.
        const orgKey = organizationGateKey(nodeType, org);
        if (this.gate.has(orgKey)) this.gate.outcome(orgKey, ts);
      }
    }
    let used = false;
    for (const rt of this.runtimes) {
      const num = matches(rt.rule.numerator, e);
      if (rt.kind === 'count') {
        if (!num || blocked) continue; // a refused call is not a failure of anything
        for (const f of rt.families) {
          const key = f.keys.keyOf(rec);
          if (key === undefined) continue;
          let w = rt.scopes.get(key);
          if (!w) {
            w = new CountWindow(scopeOf(f.dims, rec));
            rt.scopes.set(key, w);
          }
          w.insert(ts);
          // A replayed event whose instant the checkpoint has not reached may still make a breach held back
          // before the restart (its alert was open then): it is looked at again; one already paged is known.
          if (rt.early && (decide || ts > this.checkpointMs)) {
            const t = rt.touched.get(key);
            if (!t) rt.touched.set(key, { from: ts, to: ts, closed });
            else if (ts < t.from) t.from = ts;
            else if (ts > t.to) t.to = ts;
          }
          used = true;
        }
        continue;
      }
      const den = matches(rt.rule.denominator, e);
      if (!num && !den) continue;
      let lastPart: string | undefined;
      for (const f of rt.families) {
        const key = f.keys.keyOf(rec);
        if (key === undefined) continue;
        const partKey = f.hasNodeType || nodeType === undefined ? key : f.partKeys.keyOf(rec)!;
        let entry = rt.scopes.get(key);
        if (!entry) {
          entry = { scope: scopeOf(f.dims, rec), hasNodeType: f.hasNodeType, parts: new Set() };
          rt.scopes.set(key, entry);
        }
        entry.parts.add(partKey);
        if (partKey === lastPart) continue; // the node_type scope and the overall scope share one part
        lastPart = partKey;
        this.countInPart(rt, partKey, e, st, nodeType, f.partDims.includes('organization_id'), blocked, num, den);
        if (late && decide && rt.rule.pendingMode === 'continuous' && (rt.lateFrom.get(partKey) ?? Infinity) > st) rt.lateFrom.set(partKey, st);
      }
      if (rt.breakdownKeys && nodeType !== undefined) {
        const partKey = rt.breakdownKeys.keyOf(rec);
        if (partKey !== undefined) this.countInPart(rt, partKey, e, st, nodeType, true, blocked, num, den);
      }
      if (num || den) used = true;
    }
    if (late) this.stats.late++;
    if (used) this.stats.counted++;
    else this.stats.ignored++;
    return !used ? 'ignored' : late ? 'late' : 'counted';
  }

  /** Counts one event in one part of a ratio rule, creating the part (and its place in `orgParts`) on first use. */
  private countInPart(rt: RatioRuntime, partKey: string, e: ActionEvent, st: number, nodeType: string | undefined, perOrganization: boolean, blocked: boolean, num: boolean, den: boolean): void {
    let part = rt.parts.get(partKey);
    if (!part) {
      part = new WindowSeries(nodeType, rt.sizes);
      rt.parts.set(partKey, part);
      if (rt.byOrganization && nodeType !== undefined && perOrganization) {
        let byOrg = rt.orgParts.get(nodeType);
        if (!byOrg) rt.orgParts.set(nodeType, (byOrg = new Map()));
        byOrg.set((e as unknown as Record<string, unknown>).organization_id as string, partKey);
      }
    }
    // A refused call is counted once, on its own: it is neither a failure nor a completed call.
    if (blocked) part.add(st, 'blocked');
    else {
      if (num) {
        part.add(st, 'num', typeof (e as { reason?: unknown }).reason === 'string' ? (e as { reason?: string }).reason : undefined);
        if (e.event === 'qontak_action_failed' && (!part.lastFailure || e.timestamp >= part.lastFailure.timestamp)) {
          part.lastFailure = { event_id: e.event_id, trace_id: e.trace_id, timestamp: e.timestamp };
        }
      }
      if (den) part.add(st, 'den');
    }
  }

  /**
   * Count rules without a pending duration decide at the exact instant of an event: the first instant at or after
   * the earliest event read since the last look at which [s − window, s] holds more than the threshold fires, at
   * s — once the watermark has passed s (`through`, default the watermark), so an event that arrives within the
   * evaluation delay cannot make an earlier instant the true start afterwards. The caller looks again before each
   * step it evaluates, with that step's end. A breach that began before the evaluated instant was found through late
   * events: it pages once, saying when it began and how late it was found; a breach at or before the scope's last
   * resolve belongs to an episode already paged.
   */
  evaluateEarly(through: number = this.watermark.current): Transition[] {
    const out: Transition[] = [];
    const closed = this.closedThroughMs;
    for (const rt of this.runtimes) {
      if (rt.kind !== 'count' || rt.touched.size === 0) continue;
      const again = new Map<string, Touched>();
      for (const [key, range] of rt.touched) {
        const w = rt.scopes.get(key);
        if (!w) continue;
        const prev = this.states.get(`${rt.rule.id}|${key}`);
        if (isOpen(prev)) {
          // The open alert may still resolve at a step not evaluated yet, before a breach these events make: look
          // again after the steps up to the last instant they can reach are evaluated.
          if (range.to + rt.windowMs > closed) again.set(key, range);
          continue;
        }
        let breach = w.firstBreach(range.from, range.to, rt.windowMs, rt.rule.threshold);
        const pagedUntil = prev && prev.episode > 0 ? prev.lastNotifiedAt : null;
        if (breach && pagedUntil !== null && breach.at <= pagedUntil) {
          this.stats.lateBreachesAlreadyPaged++;
          breach = range.to + rt.windowMs > pagedUntil ? w.firstBreach(Math.max(range.from, pagedUntil + 1), range.to, rt.windowMs, rt.rule.threshold) : undefined;
        }
        if (!breach) continue;
        if (breach.at > through) {
          again.set(key, range); // not decidable yet: an earlier event may still arrive
          continue;
        }
        const obs: Observation = { value: breach.count, numerator: breach.count, denominator: 0, volume: breach.count };
        const from0 = prev ?? initialState(rt.rule.id, key, { ...w.scope });
        const r = step(rt.rule, rt.timings, from0, obs, breach.at);
        if (!r.effects.includes('trigger')) continue;
        this.stats.evaluations++;
        this.stats.earlyFirings++;
        const late = breach.at < range.closed ? { breachBeganAt: breach.at, detectedAt: this.newestTs, lateByMs: this.newestTs - breach.at } : undefined;
        if (late) this.stats.lateFirings++;
        out.push({ rule: rt.rule, prev: from0, next: r.next, effects: r.effects, observation: { ...obs, topReasons: [] }, at: breach.at, windowMs: rt.windowMs, late });
        // Later instants of the same read may breach again after this episode resolves: looked at again then.
        if (range.to + rt.windowMs > breach.at) again.set(key, { ...range, from: breach.at + 1 });
      }
      rt.touched = again;
    }
    return out;
  }

  /**
   * Ratio rules with a continuous pending: steps already evaluated that late events changed are looked at again.
   * A breach they reveal (every step of the pending duration breaching, starting after the scope's last
   * notification) pages once, at the instant it would have fired, marked late, as a count rule's late breach
   * does. An alert already firing is not paged again; whatever the late events change afterwards is seen at the
   * next steps (pending, recovery) as for any event.
   */
  evaluateLate(): Transition[] {
    const out: Transition[] = [];
    if (this.closedStep === -Infinity) return out;
    const k = this.closedStep;
    for (const rt of this.runtimes) {
      if (rt.kind !== 'ratio' || rt.lateFrom.size === 0) continue;
      for (const [key, entry] of rt.scopes) {
        let from = Infinity;
        for (const pk of entry.parts) from = Math.min(from, rt.lateFrom.get(pk) ?? Infinity);
        if (from > k) continue;
        const prev = this.states.get(`${rt.rule.id}|${key}`);
        if (prev?.status === 'firing') continue;
        const t = this.lateBreach(rt, entry, key, prev, Math.max(from, k - Math.ceil(this.allowanceMs / this.stepMs)), k);
        if (t) out.push(t);
      }
      rt.lateFrom.clear();
    }
    return out;
  }

  private lateBreach(rt: RatioRuntime, entry: ScopeEntry, key: string, prev: AlertState | undefined, from: number, k: number): Transition | undefined {
    const P = rt.pendingSteps;
    const pagedUntil = prev && prev.episode > 0 && prev.lastNotifiedAt !== null ? prev.lastNotifiedAt : -Infinity;
    // A run of P + 1 breaching steps ending at j ≥ from; its first step ends after the last notification.
    const lo = Math.max(from - P, this.stepOf(pagedUntil));
    if (lo > k) return undefined;
    const confirmIdx = rt.confirmSteps > 0 ? rt.sizes.length - 1 : -1;
    const parts = [...entry.parts].map((pk) => rt.parts.get(pk)).filter((p): p is WindowSeries => p !== undefined);
    const wins = parts.map((p) => p.windowsBetween(lo, k, 0));
    const confirms = confirmIdx > 0 ? parts.map((p) => p.windowsBetween(lo, k, confirmIdx)) : [];
    let run = 0;
    for (let i = lo; i <= k; i++) {
      const at = this.instantOf(i);
      let num = 0;
      let den = 0;
      let cNum = 0;
      let cDen = 0;
      let disabled = false;
      parts.forEach((p, n) => {
        const off = p.nodeType !== undefined && this.gate.disabledAt(p.nodeType, at);
        if (entry.hasNodeType) disabled = off;
        else if (off) return;
        num += wins[n].num[i - lo];
        den += wins[n].den[i - lo];
        if (confirmIdx > 0) {
          cNum += confirms[n].num[i - lo];
          cDen += confirms[n].den[i - lo];
        }
      });
      const obs: Observation = { value: den > 0 ? num / den : 0, numerator: num, denominator: den, volume: den, disabled };
      if (confirmIdx > 0) obs.confirm = { value: cDen > 0 ? cNum / cDen : 0, volume: cDen };
      run = !disabled && at > pagedUntil && isBreaching(rt.rule, obs) ? run + 1 : 0;
      if (run <= P || i < from) continue;
      const pendingSince = this.instantOf(i - P);
      const from0 = prev ?? initialState(rt.rule.id, key, { ...entry.scope });
      const r = step(rt.rule, rt.timings, { ...from0, status: 'pending', pendingSince }, obs, at);
      if (!r.effects.includes('trigger')) return undefined;
      this.stats.evaluations++;
      this.stats.lateFirings++;
      const topReasons = topReasonsOf(parts, i, rt.windowSteps);
      return {
        rule: rt.rule,
        prev: from0,
        next: r.next,
        effects: r.effects,
        observation: { ...obs, topReasons },
        at,
        windowMs: rt.windowSteps * this.stepMs,
        late: { breachBeganAt: at, detectedAt: this.newestTs, lateByMs: this.newestTs - at },
        organizations: this.breakdownOf(rt, entry.scope, i, at),
      };
    }
    return undefined;
  }

  /**
   * Everything decidable now, in time order: count breaches and late breaches, then per step the count breaches up
   * to its end and the step itself, then the count breaches up to the watermark. Lazy: the caller persists each
   * transition and `commit`s what the store accepted before asking for the next, so each decision sees the last.
   */
  *decide(): Generator<Transition | RecoveryStep, void, undefined> {
    yield* this.evaluateEarly();
    yield* this.evaluateLate();
    for (const k of this.pendingSteps()) {
      // Recovery steps up to the step's end come first: a re-enable at an instant is in force when the rules look at it.
      yield* this.recovery.decide(this.instantOf(k));
      yield* this.evaluateEarly(this.instantOf(k));
      yield* this.evaluate(k);
    }
    yield* this.evaluateEarly();
  }

  /** Steps the watermark has closed and that still await evaluation, oldest first. */
  pendingSteps(): number[] {
    const wm = this.watermark.update();
    if (wm === -Infinity) return [];
    const last = this.stepOf(wm) - 1; // the step containing the watermark is still open
    if (last <= this.closedStep) return [];
    // The very first evaluation starts at the oldest step read (a rebuild reads a bounded range); a jump over
    // steps without data skips to what a rule can still see, and steps with data are never skipped.
    let nextData = Infinity;
    const closedMinute = this.closedStep === -Infinity ? -Infinity : Math.floor(this.closedThroughMs / this.options.minuteMs);
    for (const mi of this.seen.bucketIndexes()) if (mi >= closedMinute && mi < nextData) nextData = mi;
    const nextDataStep = nextData === Infinity ? Infinity : Math.max(this.closedStep + 1, this.stepOf(nextData * this.options.minuteMs));
    const first = this.closedStep === -Infinity ? Math.min(last, this.oldestStep) : Math.max(this.closedStep + 1, Math.min(nextDataStep, last - this.horizonSteps));
    const out: number[] = [];
    for (let b = first; b <= last; b++) out.push(b);
    return out;
  }

  /**
   * Evaluates every rule at the end of step `k` and marks it closed. Returns the transitions to persist; instants
   * evaluated before a restart (checkpoint) yield none.
   */
  evaluate(k: number): Transition[] {
    this.closedStep = Math.max(this.closedStep, k);
    const at = this.instantOf(k);
    const out: Transition[] = [];
    const replay = at <= this.checkpointMs;
    const prune = k % 36 === 0;
    for (const rt of this.runtimes) {
      if (rt.kind === 'count') this.evaluateCount(rt, at, replay, prune, out);
      else this.evaluateRatio(rt, k, at, replay, prune, out);
    }
    if (prune) {
      const oldestMinute = Math.floor((at - this.allowanceMs - this.delayMs) / this.options.minuteMs) - 1;
      this.seen.forgetBefore(oldestMinute * this.options.minuteMs);
      this.gate.forgetBefore(at - this.keepSteps * this.stepMs);
    }
    return out;
  }

  private evaluateCount(rt: CountRuntime, at: number, replay: boolean, prune: boolean, out: Transition[]): void {
    if (prune) {
      for (const [key, w] of rt.scopes) {
        w.dropBefore(at - rt.windowMs - this.allowanceMs);
        if (w.size === 0 && !rt.open.has(key)) rt.scopes.delete(key);
      }
    }
    // Breaches of an early rule are found on the event: a step looks only at open alerts (recovery, repeats).
    for (const [key, w] of rt.early ? [...rt.open].map((k) => [k, rt.scopes.get(k)] as const) : rt.scopes) {
      if (!w) continue;
      const prev = this.states.get(`${rt.rule.id}|${key}`);
      if (replay || decidedAlready(prev, at)) continue;
      const from = prev ?? initialState(rt.rule.id, key, { ...w.scope });
      if (from.status === 'firing' && from.firingSince !== null && from.firingSince > at) continue; // fired on an event ahead of this instant
      const n = w.count(at - rt.windowMs, at);
      this.push(rt, from, { value: n, numerator: n, denominator: 0, volume: n }, at, rt.windowMs, out, () => ({ topReasons: [] }));
    }
  }

  private evaluateRatio(rt: RatioRuntime, k: number, at: number, replay: boolean, prune: boolean, out: Transition[]): void {
    const keepFrom = prune ? k - rt.keepSteps : -Infinity;
    for (const [pk, part] of rt.parts) {
      part.advance(k, keepFrom);
      if (prune && part.expired(k) && part.newestStep < keepFrom) rt.parts.delete(pk);
    }
    if (prune) for (const byOrg of rt.orgParts.values()) for (const [org, pk] of byOrg) if (!rt.parts.has(pk)) byOrg.delete(org);
    for (const [key, entry] of rt.scopes) {
      const prev = this.states.get(`${rt.rule.id}|${key}`);
      let live = false;
      let num = 0;
      let den = 0;
      let blocked = 0;
      let spanNum = 0;
      let spanDen = 0;
      let confirmNum = 0;
      let confirmDen = 0;
      const spanIdx = rt.spanSteps > 0 ? 1 : -1;
      const confirmIdx = rt.confirmSteps > 0 ? rt.sizes.length - 1 : -1;
      let disabled = false;
      const excluded: string[] = [];
      const used: WindowSeries[] = [];
      const org = entry.scope.organization_id;
      for (const pk of entry.parts) {
        const part = rt.parts.get(pk);
        if (!part) continue;
        if (!part.expired(k)) live = true;
        const off = part.nodeType !== undefined && (this.gate.disabledAt(part.nodeType, at) || (org !== undefined && this.gate.disabledAt(organizationGateKey(part.nodeType, org), at)));
        if (entry.hasNodeType) disabled = off;
        else if (off) {
          excluded.push(part.nodeType!);
          blocked += part.rolls[0].blocked;
          continue;
        }
        used.push(part);
        num += part.rolls[0].num;
        den += part.rolls[0].den;
        blocked += part.rolls[0].blocked;
        if (spanIdx > 0) {
          spanNum += part.rolls[spanIdx].num;
          spanDen += part.rolls[spanIdx].den;
        }
        if (confirmIdx > 0) {
          confirmNum += part.rolls[confirmIdx].num;
          confirmDen += part.rolls[confirmIdx].den;
        }
      }
      if (!live && !isOpen(prev)) {
        if (prune) rt.scopes.delete(key);
        continue;
      }
      if (replay || decidedAlready(prev, at)) continue;
      const from = prev ?? initialState(rt.rule.id, key, { ...entry.scope });
      if (from.status === 'firing' && from.firingSince !== null && from.firingSince > at) continue;
      const obs: Observation = { value: den > 0 ? num / den : 0, numerator: num, denominator: den, volume: den, blocked, disabled, excluded };
      if (rt.spanSteps > 0) obs.span = { value: spanDen > 0 ? spanNum / spanDen : 0, volume: spanDen };
      if (rt.confirmSteps > 0) obs.confirm = { value: confirmDen > 0 ? confirmNum / confirmDen : 0, volume: confirmDen };
      const nodeType = entry.scope.node_type;
      let graceUntil: number | null = null;
      if (rt.rule.action !== 'none' && nodeType !== undefined) {
        // An organization's scope follows its own switch; the action's scope the global one.
        const gateKey = org === undefined ? nodeType : organizationGateKey(nodeType, org);
        obs.reenabledAt = this.reenabledAfterAction(gateKey, from, at);
        // An automatic re-enable is known at its own instant, even when no refused call lets the stream show it: it
        // starts the grace period there, and a failure that goes on may disable again once the grace is over.
        const auto = this.recovery.state(nodeType, org ?? null);
        const autoAt = auto?.phase === 'reenabled' && auto.endedAt !== null && auto.endedAt <= at ? auto.endedAt : -Infinity;
        if (from.status === 'firing' && from.actionAt !== null && autoAt > from.actionAt) obs.reenabledAt = Math.max(obs.reenabledAt ?? -Infinity, autoAt);
        const evidence = Math.max(this.gate.reenabledAt(gateKey, at) ?? -Infinity, obs.reenabledAt ?? -Infinity, autoAt);
        graceUntil = evidence === -Infinity ? null : evidence + this.graceMs;
      }
      this.push(rt, from, obs, at, rt.windowSteps * this.stepMs, out, () => {
        let lastFailure: RecentFailure | undefined;
        for (const p of used) if (p.lastFailure && (!lastFailure || p.lastFailure.timestamp > lastFailure.timestamp)) lastFailure = p.lastFailure;
        const organizations = this.breakdownOf(rt, entry.scope, k, at);
        return { topReasons: topReasonsOf(used, k, rt.windowSteps), lastFailure, graceUntil, organizations };
      });
    }
  }

  /**
   * The window's failures per organization behind a scope's observation: an action's scope, its organizations' calls
   * of that action; the overall scope of a rule routed by blast radius, each organization's calls summed over every
   * action switched on at `at` (so one organization failing cannot page global on-call through the overall rate
   * either). Other scopes: none.
   */
  private breakdownOf(rt: RatioRuntime, scope: AlertState['scope'], k: number, at: number): OrganizationCounts[] | undefined {
    if (scope.node_type !== undefined) return rt.byOrganization ? this.organizationsOf(rt, scope.node_type, k) : undefined;
    if (scope.organization_id !== undefined || !rt.rule.routeByBlastRadius) return undefined;
    const by = new Map<string, { failed: number; completed: number; reasons: Map<string, number> }>();
    for (const nodeType of rt.orgParts.keys()) {
      if (this.gate.disabledAt(nodeType, at)) continue; // left out of the overall rate too, as its calls are refused
      for (const o of this.organizationsOf(rt, nodeType, k)) {
        let c = by.get(o.organization_id);
        if (!c) by.set(o.organization_id, (c = { failed: 0, completed: 0, reasons: new Map() }));
        c.failed += o.failed;
        c.completed += o.completed;
        for (const r of o.topReasons ?? []) c.reasons.set(r.reason, (c.reasons.get(r.reason) ?? 0) + r.count);
      }
    }
    return [...by].map(([organization_id, c]) => {
      const topReasons = [...c.reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1)).slice(0, 3);
      return { organization_id, failed: c.failed, completed: c.completed, ...(c.failed > 0 ? { topReasons } : {}) };
    }).sort(byOrganizationId);
  }

  /** Failed and completed calls (and the top failure reasons) per organization of `nodeType` in the rule's window at step k. */
  private organizationsOf(rt: RatioRuntime, nodeType: string, k: number): OrganizationCounts[] {
    const out: OrganizationCounts[] = [];
    const byOrg = rt.orgParts.get(nodeType);
    if (!byOrg) return out;
    for (const [organization_id, pk] of byOrg) {
      const part = rt.parts.get(pk);
      if (!part) {
        byOrg.delete(organization_id); // forgotten with its part
        continue;
      }
      // A late breach is decided at a step behind the one the window stands at: its counts are walked back to it.
      let r: { num: number; den: number } = part.rolls[0];
      if (part.rolls[0].end !== k) {
        const w = part.windowsBetween(k, k, 0);
        r = { num: w.num[0], den: w.den[0] };
      }
      if (r.den > 0) out.push({ organization_id, failed: r.num, completed: r.den, ...(r.num > 0 ? { topReasons: part.topReasons(k, rt.windowSteps) } : {}) });
    }
    return out.sort(byOrganizationId);
  }

  /**
   * After an automatic disable, the first call that reached the action again after calls were refused. Only that
   * pattern in the stream counts: events read after the disable that were produced before the gate saw it (a
   * backfill, a replay) are not a re-enable.
   */
  private reenabledAfterAction(nodeType: string, s: AlertState, at: number): number | null {
    if (s.actionAt === null || s.status !== 'firing' || !this.gate.refusedBetween(nodeType, s.actionAt, at)) return null;
    const back = this.gate.reenabledAt(nodeType, at);
    return back !== null && back > s.actionAt ? back : null;
  }

  private push(
    rt: RuleRuntime,
    from: AlertState,
    obs: Observation,
    at: number,
    windowMs: number,
    out: Transition[],
    details: () => { topReasons: { reason: string; count: number }[]; lastFailure?: RecentFailure; graceUntil?: number | null; organizations?: OrganizationCounts[] },
  ): void {
    this.stats.evaluations++;
    const { next, effects, resolution } = step(rt.rule, rt.timings, from, obs, at);
    const key = `${rt.rule.id}|${from.scopeKey}`;
    if (effects.length === 0 && !changed(from, next)) {
      if (from.version > 0 || from.status !== 'inactive') this.states.set(key, { ...from, lastEvalAt: at, lastValue: obs.value });
      return;
    }
    const d = details();
    out.push({
      rule: rt.rule,
      prev: from,
      next,
      effects,
      observation: { ...obs, topReasons: d.topReasons, lastFailure: d.lastFailure },
      at,
      windowMs,
      resolution,
      graceUntil: d.graceUntil,
      organizations: d.organizations,
    });
  }

  /** Records a recovery state the store persisted (a step, a cycle a disable started, or what it found instead). */
  commitRecovery(state: RecoveryState): void {
    this.recovery.commit(state);
  }

  /** Records what the store persisted (or what it found instead, when another instance won). */
  commit(state: AlertState): void {
    this.states.set(`${state.ruleId}|${state.scopeKey}`, state);
    if (isOpen(state)) this.ensureScope(state);
    const rt = this.runtimes.find((r) => r.rule.id === state.ruleId);
    if (rt?.kind === 'count') {
      if (isOpen(state)) rt.open.add(state.scopeKey);
      else rt.open.delete(state.scopeKey);
    }
  }

  get closedThroughMs(): number {
    return this.closedStep === -Infinity ? -Infinity : this.instantOf(this.closedStep);
  }

  /**
   * A ratio rule's figures per scope at the last evaluated step: calls (blocked ones left out) and failures in its
   * window. The error budget API serves them for the SLO rule.
   */
  windowFigures(ruleId: string): { scopeKey: string; scope: Record<string, string>; calls: number; failures: number; blocked: number }[] {
    const rt = this.runtimes.find((r) => r.rule.id === ruleId);
    if (!rt || rt.kind !== 'ratio') return [];
    const out = [];
    for (const [key, entry] of rt.scopes) {
      let calls = 0;
      let failures = 0;
      let blocked = 0;
      for (const pk of entry.parts) {
        const r = rt.parts.get(pk)?.rolls[0];
        if (!r) continue;
        calls += r.den;
        failures += r.num;
        blocked += r.blocked;
      }
      out.push({ scopeKey: key, scope: entry.scope, calls, failures, blocked });
    }
    return out;
  }

  /** Number of live scope series across rules (memory figure for benchmarks). */
  seriesCount(): number {
    return this.runtimes.reduce((n, r) => n + r.scopes.size, 0);
  }
}
