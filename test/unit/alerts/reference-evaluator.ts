import { isBlockedCall, type ActionEvent } from '../../../src/events/index.ts';
import { DEFAULT_SUSTAINED_GAP_MINUTES, type AlertRule, type Matcher, type RulesFile } from '../../../src/consumers/alerts/alert-rules.ts';
import { initialState, step, type AlertState, type Observation, type RuleTimings } from '../../../src/consumers/alerts/rule-state-machine.ts';

/**
 * The alert decisions a stream should give, computed as plainly as possible: every event once (by event_id),
 * sorted by time, and every instant judged by brute force over the events before it — no windows kept, no
 * watermark, no batches. The state machine (`step`) is the rules' definition and is shared with the engine; the
 * observations fed to it are recomputed here from scratch.
 *
 * Time goes forward through every step end (ratio rules, and open count alerts) and every event instant of a
 * count rule's numerator (where a count rule fires), events before the step end at an equal instant.
 */
export interface Decision {
  rule: string;
  scope: string;
  effect: 'trigger' | 'repeat' | 'resolve' | 'action';
  at: number;
  late?: boolean;
  graceUntil?: number | null;
}

const matches = (m: Matcher | undefined, e: ActionEvent): boolean => {
  if (!m) return false;
  const names = typeof m.event === 'string' ? [m.event] : m.event;
  const rec = e as unknown as Record<string, unknown>;
  return names.includes(e.event) && Object.entries(m.where).every(([k, v]) => rec[k] === v);
};

const nodeTypeOf = (e: ActionEvent): string | undefined => (e as { node_type?: string }).node_type;

const scopeKey = (scope: Record<string, string>) => {
  const keys = Object.keys(scope).sort();
  return keys.length === 0 ? 'all' : keys.map((k) => `${k}=${scope[k]}`).join(',');
};

/** Count of sorted `ts` in [from, to). */
function countIn(ts: number[], from: number, to: number): number {
  let n = 0;
  for (const t of ts) if (t >= from && t < to) n++;
  return n;
}

export function referenceDecisions(rules: RulesFile, minuteMs: number, input: readonly ActionEvent[], untilTs: number): Decision[] {
  const seen = new Set<string>();
  const events = input.filter((e) => !seen.has(e.event_id) && seen.add(e.event_id)).sort((a, b) => a.timestamp - b.timestamp);
  if (events.length === 0) return [];
  const stepMs = (rules.resolutionSeconds / 60) * minuteMs;
  const graceMs = rules.reenableGraceMinutes * minuteMs;
  const stepOf = (t: number) => Math.floor(t / stepMs);
  const out: Decision[] = [];
  const states = new Map<string, AlertState>();

  // The registry gate as the calls show it, judged per step (the evaluation instants are step ends).
  const calls = (nodeType: string, before: number) =>
    events.filter((e) => e.timestamp < before && nodeTypeOf(e) === nodeType && (e.event === 'qontak_action_executed' || e.event === 'qontak_action_failed'));
  const refused = (e: ActionEvent) => isBlockedCall(e as { event: string; reason?: string });
  const disabledAt = (nodeType: string, at: number): boolean => {
    const c = calls(nodeType, at);
    if (c.length === 0) return false;
    const lastStep = stepOf(c[c.length - 1].timestamp);
    const inStep = c.filter((e) => stepOf(e.timestamp) === lastStep);
    const maxOf = (xs: ActionEvent[]) => Math.max(-Infinity, ...xs.map((e) => e.timestamp));
    return maxOf(inStep.filter(refused)) > maxOf(inStep.filter((e) => !refused(e)));
  };
  const reenabledAt = (nodeType: string, at: number): number | null => {
    if (disabledAt(nodeType, at)) return null;
    const c = calls(nodeType, at);
    const lastRefused = c.filter(refused).at(-1);
    if (!lastRefused) return null;
    const back = c.find((e) => !refused(e) && (e.timestamp > lastRefused.timestamp || (stepOf(e.timestamp) === stepOf(lastRefused.timestamp) && e.timestamp === lastRefused.timestamp)));
    return back ? (stepOf(back.timestamp) + 1) * stepMs : null;
  };
  const refusedBetween = (nodeType: string, t: number, at: number) => disabledAt(nodeType, t) || calls(nodeType, at).some((e) => refused(e) && e.timestamp >= t);

  const apply = (rule: AlertRule, timings: RuleTimings, key: string, scope: Record<string, string>, obs: Observation, at: number, graceUntil?: number | null) => {
    const id = `${rule.id}|${key}`;
    const from = states.get(id) ?? initialState(rule.id, key, scope);
    const r = step(rule, timings, from, obs, at);
    states.set(id, r.next);
    for (const effect of r.effects) out.push({ rule: rule.id, scope: key, effect, at, ...(effect === 'action' ? { graceUntil: graceUntil ?? null } : {}) });
  };
  const timingsOf = (rule: AlertRule): RuleTimings => ({
    pendingMs: rule.pendingMinutes * minuteMs,
    recoveryHoldMs: rule.recoveryHoldMinutes * minuteMs,
    repeatMs: rule.repeatMinutes * minuteMs,
    noTrafficMs: rule.noTrafficResolveMinutes * minuteMs,
    gapMs: (rule.sustainedGapMinutes ?? DEFAULT_SUSTAINED_GAP_MINUTES) * minuteMs,
  });
  const scopesOf = (rule: AlertRule, e: ActionEvent): Record<string, string>[] => {
    const rec = e as unknown as Record<string, unknown>;
    const out2: Record<string, string>[] = [];
    for (const dims of rule.groupBy) {
      if (!dims.every((d) => typeof rec[d] === 'string')) continue;
      out2.push(Object.fromEntries(dims.map((d) => [d, rec[d] as string])));
    }
    return out2;
  };

  // Every instant where something is decided: count-rule event times, and step ends.
  const firstStep = stepOf(events[0].timestamp);
  const lastStep = stepOf(untilTs) - 1;
  type Instant = { at: number; kind: 'event'; ts: number } | { at: number; kind: 'step'; k: number };
  const instants: Instant[] = [];
  for (let k = firstStep; k <= lastStep; k++) instants.push({ at: (k + 1) * stepMs, kind: 'step', k });
  for (const ts of new Set(events.map((e) => e.timestamp))) if (ts < (lastStep + 1) * stepMs) instants.push({ at: ts, kind: 'event', ts });
  instants.sort((a, b) => a.at - b.at || (a.kind === 'event' ? -1 : 1) - (b.kind === 'event' ? -1 : 1));

  for (const rule of rules.rules) {
    const timings = timingsOf(rule);
    const windowMs = rule.windowMinutes * minuteMs;
    if (rule.kind === 'count') {
      const numTs = new Map<string, { scope: Record<string, string>; ts: number[] }>();
      for (const e of events) {
        if (!matches(rule.numerator, e) || refused(e)) continue;
        for (const scope of scopesOf(rule, e)) {
          const k = scopeKey(scope);
          if (!numTs.has(k)) numTs.set(k, { scope, ts: [] });
          numTs.get(k)!.ts.push(e.timestamp);
        }
      }
      for (const inst of instants) {
        for (const [key, { scope, ts }] of numTs) {
          const s = states.get(`${rule.id}|${key}`);
          const open = s?.status === 'firing' || s?.status === 'pending';
          if (inst.kind === 'event') {
            if (open || !ts.includes(inst.ts)) continue;
            const n = ts.filter((t) => t >= inst.ts - windowMs && t <= inst.ts).length;
            if (n > rule.threshold && !(s && s.episode > 0 && s.lastNotifiedAt !== null && inst.ts <= s.lastNotifiedAt)) {
              apply(rule, timings, key, scope, { value: n, numerator: n, denominator: 0, volume: n }, inst.ts);
            }
          } else if (open && !(s!.status === 'firing' && s!.firingSince! > inst.at)) {
            const n = ts.filter((t) => t >= inst.at - windowMs && t <= inst.at).length;
            apply(rule, timings, key, scope, { value: n, numerator: n, denominator: 0, volume: n }, inst.at);
          }
        }
      }
      continue;
    }
    // Ratio: per scope, the node_types that make it up, each with its numerator, denominator and blocked times.
    const scopes = new Map<string, { scope: Record<string, string>; parts: Map<string, { num: number[]; den: number[]; blocked: number[] }> }>();
    for (const e of events) {
      const num = matches(rule.numerator, e);
      const den = matches(rule.denominator, e);
      if (!num && !den) continue;
      for (const scope of scopesOf(rule, e)) {
        const k = scopeKey(scope);
        if (!scopes.has(k)) scopes.set(k, { scope, parts: new Map() });
        const nt = nodeTypeOf(e) ?? '';
        const parts = scopes.get(k)!.parts;
        if (!parts.has(nt)) parts.set(nt, { num: [], den: [], blocked: [] });
        const p = parts.get(nt)!;
        if (refused(e)) p.blocked.push(e.timestamp);
        else {
          if (num) p.num.push(e.timestamp);
          if (den) p.den.push(e.timestamp);
        }
      }
    }
    const stepsPerMinute = 60 / rules.resolutionSeconds;
    const sustained = rule.pendingMode === 'sustained';
    for (const inst of instants) {
      if (inst.kind !== 'step') continue;
      const at = inst.at;
      for (const [key, { scope, parts }] of scopes) {
        const hasNodeType = 'node_type' in scope;
        const sum = (steps: number) => {
          const from = at - steps * stepMs;
          let num = 0;
          let den = 0;
          let blocked = 0;
          let disabled = false;
          const excluded: string[] = [];
          for (const [nt, p] of parts) {
            const off = nt !== '' && disabledAt(nt, at);
            if (hasNodeType) disabled = off;
            else if (off) {
              excluded.push(nt);
              blocked += countIn(p.blocked, from, at);
              continue;
            }
            num += countIn(p.num, from, at);
            den += countIn(p.den, from, at);
            blocked += countIn(p.blocked, from, at);
          }
          return { num, den, blocked, disabled, excluded };
        };
        const w = sum(rule.windowMinutes * stepsPerMinute);
        const obs: Observation = { value: w.den > 0 ? w.num / w.den : 0, numerator: w.num, denominator: w.den, volume: w.den, blocked: w.blocked, disabled: w.disabled, excluded: w.excluded };
        if (sustained) {
          const sp = sum(rule.pendingMinutes * stepsPerMinute);
          obs.span = { value: sp.den > 0 ? sp.num / sp.den : 0, volume: sp.den };
        }
        if (rule.confirmWindowMinutes) {
          const c = sum(rule.confirmWindowMinutes * stepsPerMinute);
          obs.confirm = { value: c.den > 0 ? c.num / c.den : 0, volume: c.den };
        }
        const s = states.get(`${rule.id}|${key}`) ?? initialState(rule.id, key, scope);
        let graceUntil: number | null = null;
        if (rule.action !== 'none' && scope.node_type !== undefined) {
          const nt = scope.node_type;
          let after: number | null = null;
          if (s.actionAt !== null && s.status === 'firing' && refusedBetween(nt, s.actionAt, at)) {
            const back = reenabledAt(nt, at);
            after = back !== null && back > s.actionAt ? back : null;
          }
          obs.reenabledAt = after;
          const evidence = Math.max(reenabledAt(nt, at) ?? -Infinity, after ?? -Infinity);
          graceUntil = evidence === -Infinity ? null : evidence + graceMs;
        }
        apply(rule, timings, key, scope, obs, at, graceUntil);
      }
    }
  }
  return out.sort(byDecision);
}

export function byDecision(a: Decision, b: Decision): number {
  return a.at - b.at || a.rule.localeCompare(b.rule) || a.scope.localeCompare(b.scope) || a.effect.localeCompare(b.effect);
}
