import type { RecoveryConfig } from '../../../src/consumers/alerts/alert-rules.ts';
import type { RecoveryStepKind } from '../../../src/consumers/alerts/recovery.ts';

/**
 * The half-open recovery written as plainly as possible, for the property test: every input (disables, probes,
 * cool-down ends) in event-time order, once, each switch a few fields. Nothing incremental, no batching, no restart.
 */
export interface RefDisable {
  nodeType: string;
  organizationId: string | null;
  at: number;
}

export interface RefProbe {
  nodeType: string;
  organizationId: string;
  at: number;
  eventId: string;
  ok: boolean;
  /**
   * Read late: the watermark (newest event time read before it − the evaluation delay) had already passed its instant
   * when it was read, this far. It is taken at that instant instead of its own, after the on-time inputs there.
   */
  readAt?: number;
}

export interface RefDecision {
  switchKey: string;
  step: RecoveryStepKind;
  at: number;
  probes: number;
  coolDownMinutes: number;
  cycle: number;
}

interface Sw {
  key: string;
  phase: 'cooling' | 'probing' | 'reenabled';
  cycle: number;
  coolDownMinutes: number;
  coolUntil: number;
  probes: number;
  /** The instant (and event id) of its last step: a late probe at or before it comes after what was decided. */
  through: number;
  throughId: string;
  /** Every cycle's [disabled, ended] (ended: Infinity while it runs). */
  cycles: [number, number][];
}

const isLate = (p: RefProbe): boolean => p.readAt !== undefined && p.readAt >= p.at;

export const switchKeyOf = (nodeType: string, organizationId: string | null) => `${nodeType}/${organizationId ?? '*'}`;

export function referenceRecovery(config: RecoveryConfig, minuteMs: number, disables: RefDisable[], probes: RefProbe[], until: number): RefDecision[] {
  const out: RefDecision[] = [];
  const switches = new Map<string, Sw>();
  // The first reading of each probe, then the inputs in the order of the instant each is taken at: its own, or, read
  // late, the watermark's when it was read (late ones there after the on-time ones, in reading order).
  const firstRead = new Map<string, { p: RefProbe; read: number }>();
  probes.forEach((p, read) => firstRead.has(p.eventId) || firstRead.set(p.eventId, { p, read }));
  const takenAt = (p: RefProbe) => (isLate(p) ? p.readAt! : p.at);
  const sortedProbes = [...firstRead.values()]
    .sort((a, b) => {
      const late = Number(isLate(a.p)) - Number(isLate(b.p));
      if (takenAt(a.p) !== takenAt(b.p) || late !== 0) return takenAt(a.p) - takenAt(b.p) || late;
      return isLate(a.p) ? a.read - b.read : a.p.at - b.p.at || (a.p.eventId < b.p.eventId ? -1 : 1);
    })
    .map((x) => x.p);
  const sortedDisables = [...disables].sort((a, b) => a.at - b.at);
  const manual = (nodeType: string) => config.actions[nodeType] === 'manual';
  const record = (s: Sw, step: RecoveryStepKind, at: number) => out.push({ switchKey: s.key, step, at, probes: s.probes, coolDownMinutes: s.coolDownMinutes, cycle: s.cycle });
  let pi = 0;
  let di = 0;
  for (;;) {
    // The next input: a cool-down ending, a probe, a disable (a disable at an instant comes after that instant's others).
    let cool: Sw | undefined;
    for (const s of switches.values()) if (s.phase === 'cooling' && !manual(s.key.split('/')[0]) && (!cool || s.coolUntil < cool.coolUntil || (s.coolUntil === cool.coolUntil && s.key < cool.key))) cool = s;
    const coolAt = cool && cool.coolUntil <= until ? cool.coolUntil : Infinity;
    const probeAt = pi < sortedProbes.length && takenAt(sortedProbes[pi]) <= until ? takenAt(sortedProbes[pi]) : Infinity;
    const disableAt = di < sortedDisables.length && sortedDisables[di].at <= until ? sortedDisables[di].at : Infinity;
    const next = Math.min(coolAt, probeAt, disableAt);
    if (next === Infinity) break;
    if (coolAt === next) {
      cool!.phase = 'probing';
      cool!.probes = 0;
      cool!.through = next;
      cool!.throughId = '';
      record(cool!, 'probing', next);
      continue;
    }
    if (probeAt === next) {
      const p = sortedProbes[pi++];
      const global = switches.get(switchKeyOf(p.nodeType, null));
      const coveringGlobal = global?.cycles.findIndex(([from, to]) => from < p.at && p.at <= to) ?? -1;
      let s: Sw | undefined;
      if (global && coveringGlobal === global.cycles.length - 1) s = global;
      else if (coveringGlobal < 0) s = switches.get(switchKeyOf(p.nodeType, p.organizationId));
      if (!s || s.phase !== 'probing' || manual(p.nodeType)) continue;
      if (p.at < s.through || (p.at === s.through && p.eventId <= s.throughId)) continue; // decided past it already
      s.probes++;
      s.through = p.at;
      s.throughId = p.eventId;
      if (!p.ok) {
        s.coolDownMinutes = Math.min(s.coolDownMinutes * 2, config.maxCoolDownMinutes);
        s.coolUntil = p.at + s.coolDownMinutes * minuteMs;
        s.phase = 'cooling';
        record(s, 'back_off', p.at);
      } else if (s.probes >= config.successesToReEnable) {
        s.phase = 'reenabled';
        s.cycles[s.cycles.length - 1][1] = p.at;
        record(s, 'reenable', p.at);
      } else {
        record(s, 'probe', p.at);
      }
      continue;
    }
    const d = sortedDisables[di++];
    if (manual(d.nodeType)) continue;
    const key = switchKeyOf(d.nodeType, d.organizationId);
    const prev = switches.get(key);
    if (prev && prev.phase !== 'reenabled') continue; // already off: the kill switch has nothing to do
    // Disabled again soon after its re-enable: the back-off goes on from its last cool-down.
    const flapping = prev !== undefined && d.at - prev.cycles[prev.cycles.length - 1][1] < config.resetAfterMinutes * minuteMs;
    const coolDownMinutes = flapping ? Math.min(prev.coolDownMinutes * 2, config.maxCoolDownMinutes) : config.coolDownMinutes;
    switches.set(key, {
      key,
      phase: 'cooling',
      cycle: (prev?.cycle ?? 0) + 1,
      coolDownMinutes,
      coolUntil: d.at + coolDownMinutes * minuteMs,
      probes: 0,
      through: d.at,
      throughId: '',
      cycles: [...(prev?.cycles ?? []), [d.at, Infinity]],
    });
  }
  return out;
}
