import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { EVENT_NAMES, parseBoundedJson } from '../../events/index.ts';

/**
 * Alert rules are data, declared in a validated JSON file (`alerts.rulesFile`, shipped defaults in
 * default-rules.json). Durations are in *minutes of event time*; `timeScale` shrinks a minute for demos
 * and tests, so a rule's shape never changes between production and a 30-second demo.
 */
const scopeDimension = z.enum(['node_type', 'organization_id']);

const matcher = z.strictObject({
  event: z.enum(EVENT_NAMES as [string, ...string[]]),
  /** Extra field equalities, e.g. `{ "outcome": "failed" }`. */
  where: z.record(z.string(), z.string()).default({}),
});

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
    windowMinutes: z.number().int().min(1).max(1440),
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
    /** Do not page for a node_type the kill switch (or a human) has disabled. */
    inhibitWhenDisabled: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    if (r.kind === 'ratio' && !r.denominator) ctx.addIssue({ code: 'custom', path: ['denominator'], message: 'ratio rules need a denominator' });
    if (r.kind === 'ratio' && r.threshold > 1) ctx.addIssue({ code: 'custom', path: ['threshold'], message: 'a ratio threshold is a fraction (0..1)' });
    if (r.recoveryThreshold !== undefined && r.recoveryThreshold > r.threshold)
      ctx.addIssue({ code: 'custom', path: ['recoveryThreshold'], message: 'must not exceed threshold' });
    if (r.action === 'disable_node_type' && !r.groupBy.every((g) => g.length === 1 && g[0] === 'node_type'))
      ctx.addIssue({ code: 'custom', path: ['groupBy'], message: 'a kill-switch rule must be grouped by node_type only' });
  });

export const rulesFileSchema = z.strictObject({
  /** Events this far behind the newest seen still count (event-time minutes). */
  latenessMinutes: z.number().int().min(0).max(120).default(2),
  /** Minutes after a human re-enable before a kill-switch rule may disable the same action again. */
  reenableGraceMinutes: z.number().int().min(0).max(10_080).default(240),
  rules: z.array(ruleSchema).min(1),
});

export type AlertRule = z.infer<typeof ruleSchema>;
export type RulesFile = z.infer<typeof rulesFileSchema>;
export type ScopeDimension = z.infer<typeof scopeDimension>;

export const DEFAULT_RULES_PATH = resolve(import.meta.dirname, 'default-rules.json');

export class RulesFileError extends Error {
  override name = 'RulesFileError';
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

export function longestWindowMinutes(rules: RulesFile): number {
  return Math.max(...rules.rules.map((r) => r.windowMinutes));
}
