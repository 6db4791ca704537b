import type { RecoveryConfig } from './alert-rules.ts';

/**
 * Half-open recovery of the kill switch's automatic disables, like a circuit breaker, free of I/O and in event time
 * (so a rebuild or a replay decides the same as the first pass):
 *
 *   disable ─▶ cooling ──(cool-down over)──▶ probing ──(n successful probes in a row)──▶ re-enabled
 *                 ▲                             │
 *                 └──(a probe failed: cool-down doubled, at most the cap)──┘
 *
 * One state per switch: the action's for everyone (`organizationId` null) or the action's for one organization.
 * Probes are the outcomes the gate let through while the switch was off (`probe: true`); a probe belongs to the
 * action's switch while that one is off, otherwise to its organization's. Inputs are decided in event-time order
 * once the watermark has passed them: the cool-down ends at its instant, each probe at its own. A probe read after
 * the watermark passed its instant (more than the evaluation delay late) is taken where it was read, at that
 * watermark, and counts, like a late call in the rates, unless its switch has already decided a later instant: the
 * verdict reads only the switch's persisted `through`, so a rebuild after a restart reaches the same one. The caller
 * persists each step and `commit`s what the store accepted before asking for the next, as for the alert transitions.
 */
export type RecoveryPhase = 'cooling' | 'probing' | 'reenabled' | 'ended';

export interface ProbeResult {
  at: number;
  eventId: string;
  organizationId: string;
  ok: boolean;
  /** The failure reason of a failed probe. */
  reason?: string;
}

export interface RecoveryState {
  nodeType: string;
  /** null: the action's switch for everyone; otherwise the action's switch for this organization. */
  organizationId: string | null;
  /** The alert whose disable started the cycle: the re-enable is told to its receivers, in its episode. */
  ruleId: string;
  scopeKey: string;
  episode: number;
  /** Automatic disables of this switch followed so far (1 for the first). */
  cycle: number;
  phase: RecoveryPhase;
  /** Event time of the disable. */
  disabledAt: number;
  /** Failed probe rounds in this cycle. */
  rounds: number;
  /** The cool-down running or last run, in event-time minutes. */
  coolDownMinutes: number;
  coolUntil: number;
  probingSince: number | null;
  /** This round's probes in order (after a back-off: the failed round's, the failing probe last). */
  probes: ProbeResult[];
  /** The event time and event id through which this switch's inputs are decided. */
  through: number;
  throughId: string;
  /** Event time at which the cycle ended (re-enabled, or a person's change), and by whom. */
  endedAt: number | null;
  endedBy: string | null;
  /**
   * The switch's earlier cycles, newest last (at most PAST_CYCLES_KEPT): a probe read again after a restart belongs to
   * the switch whose cycle covered its instant then, whatever cycle runs now.
   */
  pastCycles: { disabledAt: number; endedAt: number }[];
  /** Optimistic-concurrency version of the persisted row (0 = none yet). */
  version: number;
}

/** `probing`: the cool-down ended; `probe`: a successful probe, not yet enough; `reenable`; `back_off`: a probe failed. */
export type RecoveryStepKind = 'probing' | 'probe' | 'reenable' | 'back_off';

export interface RecoveryStep {
  kind: 'recovery';
  step: RecoveryStepKind;
  /** Event time of the decision: the end of the cool-down, or the deciding probe's. */
  at: number;
  prev: RecoveryState;
  next: RecoveryState;
}

export function isRecoveryStep(d: object): d is RecoveryStep {
  return (d as { kind?: unknown }).kind === 'recovery';
}

export const isActive = (s: RecoveryState | undefined): s is RecoveryState => s !== undefined && (s.phase === 'cooling' || s.phase === 'probing');

export function recoveryKey(nodeType: string, organizationId: string | null): string {
  return `${nodeType}\u0000${organizationId ?? ''}`;
}

export function isManual(config: RecoveryConfig, nodeType: string): boolean {
  return config.actions[nodeType] === 'manual';
}

/** Earlier cycles kept per switch: a replay reaches back about a day, and the cap allows few disables a day. */
export const PAST_CYCLES_KEPT = 8;

/**
 * The first cool-down of a cycle starting at `at`: the configured one, or, when the switch flaps (disabled again less
 * than `resetAfterMinutes` after its automatic re-enable), twice the cool-down its last cycle ended with, at most the cap.
 */
export function firstCoolDownMinutes(config: RecoveryConfig, minuteMs: number, at: number, previous: RecoveryState | undefined): number {
  const flapping = previous?.phase === 'reenabled' && previous.endedBy === 'recovery' && previous.endedAt !== null && at - previous.endedAt < config.resetAfterMinutes * minuteMs;
  return flapping ? Math.min(previous.coolDownMinutes * 2, config.maxCoolDownMinutes) : config.coolDownMinutes;
}

/** The state an automatic disable of one switch starts, at event time `at` (`previous`: the switch's last cycle). */
export function startCycle(
  config: RecoveryConfig,
  minuteMs: number,
  d: { nodeType: string; organizationId: string | null; ruleId: string; scopeKey: string; episode: number; at: number },
  previous: RecoveryState | undefined,
): RecoveryState {
  const coolDownMinutes = firstCoolDownMinutes(config, minuteMs, d.at, previous);
  return {
    ...d,
    cycle: (previous?.cycle ?? 0) + 1,
    phase: 'cooling',
    disabledAt: d.at,
    rounds: 0,
    coolDownMinutes,
    coolUntil: d.at + coolDownMinutes * minuteMs,
    probingSince: null,
    probes: [],
    through: d.at,
    throughId: '',
    endedAt: null,
    endedBy: null,
    pastCycles: previous ? [...previous.pastCycles, { disabledAt: previous.disabledAt, endedAt: previous.endedAt ?? d.at }].slice(-PAST_CYCLES_KEPT) : [],
    version: previous?.version ?? 0,
  };
}

const covers = (from: number, to: number | null, at: number): boolean => from < at && (to === null || at <= to);

/** (at, id) order: probes at one instant are taken in event id order, whatever order they were read in. */
const after = (at: number, id: string, t: number, tid: string): boolean => at > t || (at === t && id > tid);

/** A probe not yet decided on, and the instant it is taken at: its own, or (read late) the watermark's when read. */
interface PendingProbe {
  p: ProbeResult;
  takenAt: number;
  late: boolean;
  /** Reading order, for late probes taken at one instant. */
  seq: number;
}

/** Order of taking: by instant; at one instant the on-time probes (by event time and id), then the late ones as read. */
const before = (a: PendingProbe, b: PendingProbe): boolean => {
  if (a.takenAt !== b.takenAt) return a.takenAt < b.takenAt;
  if (a.late !== b.late) return !a.late;
  return a.late ? a.seq < b.seq : after(b.p.at, b.p.eventId, a.p.at, a.p.eventId);
};

export class RecoveryTracker {
  private readonly states = new Map<string, RecoveryState>();
  /** Probes not yet decided on, per node_type, in the order they are taken. */
  private readonly pending = new Map<string, PendingProbe[]>();
  private reads = 0;
  /** `lateProbes`: probes read after the watermark passed their instant (counted or not, as above). */
  readonly stats = { probes: 0, lateProbes: 0 };

  constructor(
    private readonly config: RecoveryConfig,
    private readonly minuteMs: number,
  ) {}

  /** Loads the persisted states before a rebuild. */
  restore(states: Iterable<RecoveryState>): void {
    for (const s of states) this.commit(s);
  }

  /** Records what the store persisted (or what it found instead: another instance's step, a person's change). */
  commit(state: RecoveryState): void {
    this.states.set(recoveryKey(state.nodeType, state.organizationId), state);
  }

  state(nodeType: string, organizationId: string | null): RecoveryState | undefined {
    return this.states.get(recoveryKey(nodeType, organizationId));
  }

  all(): RecoveryState[] {
    return [...this.states.values()];
  }

  /**
   * A probe's outcome (an executed or failed event marked `probe: true`), read when the watermark was `watermark`:
   * at or past its instant, it is late and taken at the watermark's instant instead of its own.
   */
  probe(nodeType: string, p: ProbeResult, watermark = -Infinity): void {
    const late = p.at <= watermark;
    if (late) this.stats.lateProbes++;
    this.stats.probes++;
    let list = this.pending.get(nodeType);
    if (!list) this.pending.set(nodeType, (list = []));
    if (list.some((x) => x.p.eventId === p.eventId)) return;
    const entry: PendingProbe = { p, takenAt: late ? watermark : p.at, late, seq: this.reads++ };
    let i = list.length;
    while (i > 0 && before(entry, list[i - 1])) i--;
    list.splice(i, 0, entry);
  }

  /**
   * Whose probe this is: the action's switch when one of its cycles (the current or an earlier one) covered the probe's
   * instant — the gate lets an organization's probes through only while the action is on for everyone — else its
   * organization's switch.
   */
  private ownerOf(nodeType: string, p: ProbeResult): RecoveryState | undefined {
    const global = this.states.get(recoveryKey(nodeType, null));
    if (global && covers(global.disabledAt, global.endedAt, p.at)) return global;
    if (global?.pastCycles.some((c) => covers(c.disabledAt, c.endedAt, p.at))) return undefined;
    return this.states.get(recoveryKey(nodeType, p.organizationId));
  }

  /** The next step of `s` at or before `through`, if any. */
  private nextStep(s: RecoveryState, through: number): RecoveryStep | undefined {
    if (isManual(this.config, s.nodeType)) return undefined;
    if (s.phase === 'cooling') {
      if (s.coolUntil > through) return undefined;
      const at = s.coolUntil;
      return { kind: 'recovery', step: 'probing', at, prev: s, next: { ...s, phase: 'probing', probingSince: at, probes: [], through: at, throughId: '' } };
    }
    if (s.phase !== 'probing') return undefined;
    for (const { p, takenAt } of this.pending.get(s.nodeType) ?? []) {
      if (takenAt > through) break;
      if (!after(p.at, p.eventId, s.through, s.throughId) || this.ownerOf(s.nodeType, p) !== s) continue;
      const probes = [...s.probes, p];
      const moved = { ...s, probes, through: p.at, throughId: p.eventId };
      if (!p.ok) {
        const coolDownMinutes = Math.min(s.coolDownMinutes * 2, this.config.maxCoolDownMinutes);
        const next: RecoveryState = { ...moved, phase: 'cooling', rounds: s.rounds + 1, coolDownMinutes, coolUntil: p.at + coolDownMinutes * this.minuteMs, probingSince: null };
        return { kind: 'recovery', step: 'back_off', at: p.at, prev: s, next };
      }
      if (probes.length >= this.config.successesToReEnable) {
        return { kind: 'recovery', step: 'reenable', at: p.at, prev: s, next: { ...moved, phase: 'reenabled', endedAt: p.at, endedBy: 'recovery' } };
      }
      return { kind: 'recovery', step: 'probe', at: p.at, prev: s, next: moved };
    }
    return undefined;
  }

  /**
   * Every step decidable through `through` (event time), oldest first. Lazy: each is persisted and committed before
   * the next is looked for; a step the caller did not commit stops the round (it is looked for again next time).
   */
  *decide(through: number): Generator<RecoveryStep, void, undefined> {
    for (;;) {
      let best: RecoveryStep | undefined;
      let bestKey = '';
      for (const [key, s] of this.states) {
        const st = this.nextStep(s, through);
        if (st && (!best || st.at < best.at || (st.at === best.at && key < bestKey))) {
          best = st;
          bestKey = key;
        }
      }
      if (!best) break;
      yield best;
      const now = this.states.get(recoveryKey(best.prev.nodeType, best.prev.organizationId));
      if (now === best.prev) return; // not committed: decided again next time, nothing dropped
    }
    // Every probe taken up to `through` has been looked at: a probe no cycle took belongs to none.
    for (const [nodeType, list] of this.pending) {
      let n = 0;
      while (n < list.length && list[n].takenAt <= through) n++;
      if (n === 0) continue;
      list.splice(0, n);
      if (list.length === 0) this.pending.delete(nodeType);
    }
  }
}
