import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { EVENT_NAMES, isNodeType, parseBoundedJson } from '../../events/index.ts';

/**
 * Alert rules are data, declared in a validated JSON file (`alerts.rulesFile`, shipped defaults in
 * default-rules.json). Durations are in *minutes of event time*; `timeScale` shrinks a minute for demos
 * and tests, so a rule's shape never changes between production and a 30-second demo.
 */
const scopeDimension = z.enum(['node_type', 'organization_id']);

const eventName = z.enum(EVENT_NAMES as [string, ...string[]]);

const matcher = z.strictObject({
  /** One event name, or several (a completed call is `["qontak_action_executed", "qontak_action_failed"]`). */
  event: z.union([eventName, z.array(eventName).min(1)]),
  /** Extra field equalities, e.g. `{ "outcome": "failed" }`. */
  where: z.record(z.string(), z.string()).default({}),
});

export type Matcher = z.infer<typeof matcher>;

export function matcherEvents(m: Matcher): string[] {
  return typeof m.event === 'string' ? [m.event] : m.event;
}

/**
 * Every event the numerator matches, the denominator matches too: each of its events is among the denominator's
 * and it asks at least the denominator's field equalities. That makes the numerator a subset of the denominator,
 * so a rate can never pass 100 %.
 */
function numeratorWithinDenominator(num: Matcher, den: Matcher): boolean {
  const denEvents = matcherEvents(den);
  return matcherEvents(num).every((e) => denEvents.includes(e)) && Object.entries(den.where).every(([k, v]) => num.where[k] === v);
}

export const ruleSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase id, digits and dashes'),
    title: z.string().min(1),
    kind: z.enum(['ratio', 'count']),
    numerator: matcher,
    /** Ratio rules only: the events the numerator is a share of. */
    denominator: matcher.optional(),
    /** Each entry is one family of scopes; `[]` is the overall scope. */
    groupBy: z.array(z.array(scopeDimension).max(2)).min(1),
    windowMinutes: z.number().int().min(1).max(4320),
    /** Multiwindow (burn-rate) rules: a shorter window that must be above the threshold too (ratio rules). */
    confirmWindowMinutes: z.number().int().min(1).max(1440).optional(),
    /** Fires when value > threshold (strictly: exactly-at-threshold does not fire). */
    threshold: z.number().min(0),
    /** Resolves when value <= recoveryThreshold (default: the threshold) for `recoveryHoldMinutes`. */
    recoveryThreshold: z.number().min(0).optional(),
    /** No decision below this many denominator events (ratio) or numerator events (count). */
    minVolume: z.number().int().min(0).default(0),
    pendingMinutes: z.number().int().min(0).max(10_080).default(0),
    recoveryHoldMinutes: z.number().int().min(0).max(10_080).default(0),
    /** While firing, re-notify this often (0 = never). */
    repeatMinutes: z.number().int().min(0).max(10_080).default(0),
    severity: z.enum(['info', 'warning', 'error', 'critical']).default('warning'),
    receivers: z.array(z.string().min(1)).min(1),
    /** Kill switch: disable the scope's node_type in node_registries when the rule fires. */
    action: z.enum(['none', 'disable_node_type']).default('none'),
    /**
     * Ratio rules without an action, grouped by node_type: a trigger of a node_type scope pages the organizations the
     * failures are concentrated in (their routes, see blastRadiusSchema) instead of `receivers` when the window's
     * failures per organization say so (blast-radius.ts pageRouteOf); the episode's repeats and resolve follow it.
     */
    routeByBlastRadius: z.boolean().default(false),
    /** A firing alert of a node_type the registry refuses (blocked calls) closes "disabled by the kill switch"; none starts. */
    inhibitWhenDisabled: z.boolean().default(false),
    /**
     * `continuous`: pending needs every evaluation to breach. `sustained` (the kill switch): a window with at least
     * `minVolume` calls at or below the threshold resets it, a window above the threshold continues it, a window
     * with too few calls neither; it fires after `pendingMinutes` when that whole span has `minVolume` calls above
     * the threshold.
     */
    pendingMode: z.enum(['continuous', 'sustained']).default('continuous'),
    /**
     * `sustained` only: the longest stretch without a window above the threshold (hours without calls, or too few
     * calls) that keeps a pending start; longer, and the start is forgotten (default 480 = a night).
     */
    sustainedGapMinutes: z.number().int().min(1).max(10_080).optional(),
    /** While firing with fewer than `minVolume` calls in the window for this long, close it saying "no traffic" (0 = never). */
    noTrafficResolveMinutes: z.number().int().min(0).max(10_080).default(0),
  })
  .superRefine((r, ctx) => {
    if (r.kind === 'ratio' && !r.denominator) ctx.addIssue({ code: 'custom', path: ['denominator'], message: 'ratio rules need a denominator' });
    if (r.kind === 'ratio' && r.denominator && !numeratorWithinDenominator(r.numerator, r.denominator))
      ctx.addIssue({ code: 'custom', path: ['numerator'], message: 'a ratio\'s numerator must count a subset of its denominator\'s events (every numerator event is a denominator event), so the rate cannot pass 100 %' });
    if (r.sustainedGapMinutes !== undefined && r.pendingMode !== 'sustained')
      ctx.addIssue({ code: 'custom', path: ['sustainedGapMinutes'], message: 'only for pendingMode "sustained"' });
    if (r.kind === 'ratio' && r.threshold > 1) ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'a ratio threshold is a fraction (0..1)' });
    if (r.recoveryThreshold !== undefined && r.recoveryThreshold > r.threshold)
      ctx.addIssue({ code: 'custom', path: ['recoveryThreshold'], message: 'must not exceed threshold' });
    if (r.confirmWindowMinutes !== undefined && (r.kind !== 'ratio' || r.confirmWindowMinutes >= r.windowMinutes))
      ctx.addIssue({ code: 'custom', path: ['confirmWindowMinutes'], message: 'a ratio rule\'s confirmation window is shorter than its window' });
    if (r.pendingMode === 'sustained' && r.kind !== 'ratio') ctx.addIssue({ code: 'custom', path: ['pendingMode'], message: 'sustained pending is for ratio rules' });
    if (r.routeByBlastRadius && (r.kind !== 'ratio' || r.action !== 'none' || !r.groupBy.some((g) => g.includes('node_type'))))
      ctx.addIssue({
        code: 'custom',
        path: ['routeByBlastRadius'],
        message: 'only for ratio rules without an action (a kill-switch rule routes by blast radius already) that group by node_type',
      });
    if (r.action === 'disable_node_type' && !r.groupBy.every((g) => g.includes('node_type')))
      ctx.addIssue({ code: 'custom', path: ['groupBy'], message: 'a kill-switch rule must be grouped by node_type, or by node_type and organization_id' });
  });

/**
 * How the kill switch scopes a disable (blast-radius.ts). At the decision instant it takes the failures per
 * organization in the rule's window; the smallest set of organizations whose removal leaves the rest healthy is
 * disabled for those organizations only when it has at most `maxOrganizations` members, and their receivers are
 * paged; a breach that needs more is spread, and the action is disabled for everyone (the rule's receivers).
 */
export const blastRadiusSchema = z.strictObject({
  /** The largest number of organizations disabled one by one; a breach that needs more is global (1–100, default 2). */
  maxOrganizations: z.number().int().min(1, 'at least 1: one organization alone must never disable an action for everyone').max(100).default(2),
  /** Receivers paged for an organization-scoped disable of an organization without a route of its own. */
  organizationReceivers: z.array(z.string().min(1)).min(1).default(['crm-oncall']),
  /**
   * An organization's own receivers (its customer-success / CRM channel), by organization_id: paged instead of
   * `organizationReceivers` when the decision switches that organization off or its own scope alerts.
   */
  organizationRoutes: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
});

export type BlastRadiusConfig = z.infer<typeof blastRadiusSchema>;

/** Who is paged about these organizations: each one's own route, or `organizationReceivers` when it has none. */
export function organizationReceiversOf(b: BlastRadiusConfig, organizations: readonly string[]): string[] {
  const out = new Set<string>();
  for (const org of organizations) for (const r of b.organizationRoutes[org] ?? b.organizationReceivers) out.add(r);
  return [...out];
}

/**
 * Half-open recovery after an automatic disable (recovery.ts). Durations are minutes of event time. After the
 * disable the switch cools down for `coolDownMinutes`; then the gate lets one call in `probeEvery` of that switch
 * through as a probe; `successesToReEnable` successful probes in a row switch it back on, a failed probe ends the
 * round and the next cool-down is twice the last, at most `maxCoolDownMinutes`. A switch disabled again less than
 * `resetAfterMinutes` after its automatic re-enable (it flaps) starts from twice its last cool-down, at most the cap,
 * instead of `coolDownMinutes`. `actions` names the actions (node_types) that stay off until a person turns them back
 * on (`manual`).
 */
export const recoverySchema = z
  .strictObject({
    coolDownMinutes: z.number().int().min(1).max(10_080).default(30),
    maxCoolDownMinutes: z.number().int().min(1).max(10_080).default(480),
    /** One call in this many of a disabled switch (each executor process counts its own) goes through as a probe. */
    probeEvery: z.number().int().min(1).max(1_000_000).default(10),
    successesToReEnable: z.number().int().min(1).max(1000).default(5),
    /** A disable this long (event time) after an automatic re-enable starts fresh; sooner, the back-off goes on (0: always fresh). */
    resetAfterMinutes: z.number().int().min(0).max(43_200).default(1440),
    /** Per action: `manual` keeps an automatic disable until a person re-enables it; `automatic` (the default) recovers. */
    actions: z.record(z.string(), z.enum(['automatic', 'manual'])).default({}),
  })
  .superRefine((r, ctx) => {
    if (r.maxCoolDownMinutes < r.coolDownMinutes) ctx.addIssue({ code: 'custom', path: ['maxCoolDownMinutes'], message: 'must be at least coolDownMinutes' });
    for (const nodeType of Object.keys(r.actions)) {
      if (!isNodeType(nodeType)) ctx.addIssue({ code: 'custom', path: ['actions', nodeType], message: 'not a known action (node_type)' });
    }
  });

export type RecoveryConfig = z.infer<typeof recoverySchema>;

export const DEFAULT_RECOVERY: RecoveryConfig = { coolDownMinutes: 30, maxCoolDownMinutes: 480, probeEvery: 10, successesToReEnable: 5, resetAfterMinutes: 1440, actions: {} };

export const rulesFileSchema = z.strictObject({
  /**
   * Ratio rules are evaluated once the watermark (newest event time − this delay) passes an instant, so events a
   * little out of order are in before the first look. Later events still count (see the lateness allowance).
   */
  evaluationDelayMinutes: z.number().int().min(0).max(120).default(2),
  /** Ratio windows advance in steps of this many event-time seconds (a divisor of 60, at most 10). */
  resolutionSeconds: z.number().int().min(1).max(10).refine((n) => 60 % n === 0, 'a divisor of 60').default(10),
  /** Minutes after a human re-enable before a kill-switch rule may disable the same action again. */
  reenableGraceMinutes: z.number().int().min(0).max(10_080).default(240),
  /** Kill-switch rules: organization-scoped or global disables; rules with `routeByBlastRadius`: who is paged (see blastRadiusSchema). */
  blastRadius: blastRadiusSchema.default({ maxOrganizations: 2, organizationReceivers: ['crm-oncall'], organizationRoutes: {} }),
  /** Kill-switch rules: the cool-down, probes and automatic re-enable after a disable (see recoverySchema). */
  recovery: recoverySchema.default(DEFAULT_RECOVERY),
  rules: z.array(ruleSchema).min(1),
});

export type AlertRule = z.infer<typeof ruleSchema>;

/** A sustained rule's `sustainedGapMinutes` when the rules file leaves it out: a night without calls. */
export const DEFAULT_SUSTAINED_GAP_MINUTES = 480;
export type RulesFile = z.infer<typeof rulesFileSchema>;
export type ScopeDimension = z.infer<typeof scopeDimension>;

export const DEFAULT_RULES_PATH = resolve(import.meta.dirname, 'default-rules.json');
/** The SLO burn-rate rules shipped beside the spec's three; `ALERT_SLO_BURN_RATE=false` leaves them out. */
export const SLO_RULES_PATH = resolve(import.meta.dirname, 'slo-burn-rate-rules.json');

/** The spec rules plus the SLO burn-rate rules (ids must not collide). */
export function withSloRules(rules: RulesFile, path: string = SLO_RULES_PATH): RulesFile {
  const slo = loadRulesFile(path);
  return parseRules({ ...rules, rules: [...rules.rules, ...slo.rules] }, `${path} + rules`);
}

export class RulesFileError extends Error {
  override name = 'RulesFileError';
  /** `invalid_rules`: the file does not parse or breaks a rule; `unknown_receiver`: it names a receiver no route serves. */
  constructor(
    message: string,
    readonly reason: 'invalid_rules' | 'unknown_receiver' = 'invalid_rules',
  ) {
    super(message);
  }
}

/** Every receiver the rules name, with its path in the rules file. */
export function receiverReferences(rules: RulesFile): { path: string; receiver: string }[] {
  const refs: { path: string; receiver: string }[] = [];
  rules.rules.forEach((r, i) => r.receivers.forEach((receiver, j) => refs.push({ path: `rules.${i}.receivers.${j} (${r.id})`, receiver })));
  rules.blastRadius.organizationReceivers.forEach((receiver, j) => refs.push({ path: `blastRadius.organizationReceivers.${j}`, receiver }));
  for (const [org, receivers] of Object.entries(rules.blastRadius.organizationRoutes)) {
    receivers.forEach((receiver, j) => refs.push({ path: `blastRadius.organizationRoutes.${org}.${j}`, receiver }));
  }
  return refs;
}

/**
 * Checked when the alerts process starts: a receiver that no route serves would drop its pages without a word, so
 * the start fails naming each place in the rules file that names one.
 */
export function checkReceivers(rules: RulesFile, known: readonly string[], source = 'rules'): void {
  const unknown = receiverReferences(rules).filter((ref) => !known.includes(ref.receiver));
  if (unknown.length === 0) return;
  const lines = unknown.map((u) => `  - ${u.path}: unknown receiver "${u.receiver}" (known: ${[...known].sort().join(', ')}; SLACK_RECEIVER_WEBHOOKS declares more)`);
  throw new RulesFileError(`Invalid alert rules in ${source}:\n${lines.join('\n')}`, 'unknown_receiver');
}

export function parseRules(raw: unknown, source = 'rules'): RulesFile {
  const result = rulesFileSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new RulesFileError(`Invalid alert rules in ${source}:\n${lines.join('\n')}`);
  }
  const ids = new Set<string>();
  for (const rule of result.data.rules) {
    if (ids.has(rule.id)) throw new RulesFileError(`Invalid alert rules in ${source}: duplicate rule id ${rule.id}`);
    ids.add(rule.id);
  }
  return result.data;
}

export function loadRulesFile(path: string = DEFAULT_RULES_PATH): RulesFile {
  let raw: unknown;
  try {
    const parsed = parseBoundedJson(readFileSync(path));
    if (!parsed.ok) throw new Error(parsed.message);
    raw = parsed.value;
  } catch (err) {
    throw new RulesFileError(`Cannot read alert rules ${path}: ${(err as Error).message}`);
  }
  return parseRules(raw, path);
}

/** The longest event-time span any rule looks back over (a sustained rule looks back over its pending span too). */
export function longestWindowMinutes(rules: RulesFile): number {
  return Math.max(...rules.rules.map((r) => r.windowMinutes + (r.pendingMode === 'sustained' ? r.pendingMinutes : 0)));
}
