import { FAILURE_REASONS, failureClass, NODE_TYPES, type ActionEvent } from '../../events/index.ts';
import type { RateThresholds } from './rate-thresholds.ts';
import { countDecisions, type DecisionCounts, type RegistryDecision, type RegistryDecisionsProvider } from './registry-decisions.ts';

/**
 * Spec §11.1 weekly review: success rate, failure-reason mix, per-node_type volume, and the two flags —
 * failed rate up > 10% week over week (investigate within 48 h) and token-refresh failures trending up
 * (page CRM); and the week's registry decisions (disables and re-enables, global or for one organization). Works on counts from any provider (ClickHouse owns the SQL; `countsFromEvents` serves
 * tests and small deployments), and renders Markdown and a Slack Block Kit digest.
 *
 * Rates are of completed calls: failed rate = failed / (executed + failed), success rate = executed / (executed +
 * failed) = 1 − failed rate. Counts follow src/events/outcome-class.ts: a blocked call (the action was disabled) is
 * in neither `invoked` nor `failed` and is counted in `blocked`; an unknown-outcome create is in `failed` and also
 * in `unknownOutcome`. `invoked` is volume only, never a rate's denominator.
 */
export interface NodeTypeWeek {
  /** Invocations minus blocked calls (volume). */
  invoked: number;
  executed: number;
  /** Failures that count (blocked calls excluded). */
  failed: number;
  blocked: number;
}

export interface WeekCounts {
  weekStart: string;
  invoked: number;
  executed: number;
  failed: number;
  blocked: number;
  unknownOutcome: number;
  /** Failures that count, per reason (blocked calls are in `blocked`). */
  failedByReason: Record<string, number>;
  byNodeType: Record<string, NodeTypeWeek>;
  tokenRefresh: { success: number; failed: number };
}

/** Adds `n` events of one kind to the week: the one place the outcome classes are applied to counts. */
export function addToWeek(w: WeekCounts, event: string, nodeType: string, reason: string, n: number): void {
  if (event !== 'qontak_action_invoked' && event !== 'qontak_action_executed' && event !== 'qontak_action_failed') return;
  const nt = (w.byNodeType[nodeType] ??= { invoked: 0, executed: 0, failed: 0, blocked: 0 });
  if (event === 'qontak_action_invoked') {
    w.invoked += n;
    nt.invoked += n;
  } else if (event === 'qontak_action_executed') {
    w.executed += n;
    nt.executed += n;
  } else if (failureClass(reason) === 'blocked') {
    // The blocked call's invocation leaves the counts with it.
    w.blocked += n;
    nt.blocked += n;
    w.invoked -= n;
    nt.invoked -= n;
  } else {
    w.failed += n;
    nt.failed += n;
    if (failureClass(reason) === 'unknown') w.unknownOutcome += n;
    w.failedByReason[reason] = (w.failedByReason[reason] ?? 0) + n;
  }
}

export interface WeekCountsProvider {
  weekCounts(weekStartMs: number, weekEndMs: number): Promise<WeekCounts>;
}

export interface WeeklyReview {
  current: WeekCounts;
  previous: WeekCounts;
  successRate: number | null;
  failedRate: number | null;
  previousFailedRate: number | null;
  /** The alert rules' thresholds the review states (fractions). */
  thresholds: RateThresholds;
  flags: { code: 'failed_rate_up' | 'token_refresh_failures_up'; message: string }[];
  /** The week's disables and re-enables from the audit trail: counted by scope, and listed. */
  decisions: { counts: DecisionCounts; list: RegistryDecision[] };
  markdown: string;
  slack: { text: string; blocks: unknown[] };
}

export function emptyWeek(weekStartMs: number): WeekCounts {
  return {
    weekStart: new Date(weekStartMs).toISOString(),
    invoked: 0,
    executed: 0,
    failed: 0,
    blocked: 0,
    unknownOutcome: 0,
    failedByReason: {},
    byNodeType: {},
    tokenRefresh: { success: 0, failed: 0 },
  };
}

/** Each event_id counts once (a redelivered duplicate is the same event), as in the ClickHouse counts. */
export function countsFromEvents(events: Iterable<ActionEvent>, fromMs: number, toMs: number): WeekCounts {
  const w = emptyWeek(fromMs);
  const seen = new Set<string>();
  for (const e of events) {
    if (e.timestamp < fromMs || e.timestamp >= toMs || seen.has(e.event_id)) continue;
    seen.add(e.event_id);
    if (e.event === 'qontak_action_token_refreshed') {
      w.tokenRefresh[e.outcome]++;
      continue;
    }
    if (e.event === 'qontak_action_invoked' || e.event === 'qontak_action_executed') addToWeek(w, e.event, e.node_type, '', 1);
    else if (e.event === 'qontak_action_failed') addToWeek(w, e.event, e.node_type, e.reason, 1);
  }
  return w;
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
/** Executed + failed (blocked calls in neither): the denominator of both rates. */
const completedOf = (c: { executed: number; failed: number }) => c.executed + c.failed;
/** Spec §12: success = executed / completed. */
const successOf = (w: WeekCounts) => (completedOf(w) > 0 ? w.executed / completedOf(w) : null);
const failedRateOf = (c: { executed: number; failed: number }) => (completedOf(c) > 0 ? c.failed / completedOf(c) : null);
/**
 * Spec §11.1's "failed rate up > 10% w/w": a relative rise of the failed rate by more than 10% over last week. A
 * week-over-week change, not an alert threshold, so it is not in the rules file.
 */
const WEEK_OVER_WEEK_RISE = 1.1;

const utcMinute = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}`;
const scopeText = (d: RegistryDecision) => (d.scope === 'organization' ? `organization ${d.organization_id ?? ''}` : 'global (everyone)');
/** Markdown table cells: a reason is free text. */
const cell = (v: string) => v.replace(/\|/g, '\\|').replace(/\s+/g, ' ');

function decisionLines(c: DecisionCounts): string[] {
  const line = (what: string, x: DecisionCounts['disables']) => `- ${what}: ${x.global} global, ${x.organization} for one organization (${x.automatic} automatic, ${x.global + x.organization - x.automatic} by hand)`;
  const dryRun = c.probeRounds.endedByDryRun > 0 ? `; ${c.probeRounds.endedByDryRun} cycles ended by dry run (off until re-enabled by hand)` : '';
  const probes = `- Probe rounds of the automatic recovery: ${c.probeRounds.started} started, ${c.probeRounds.failed} ended by a failed probe (the switch stayed off)${dryRun}`;
  return [line('Disables', c.disables), line('Re-enables', c.enables), probes];
}

export function buildWeeklyReview(current: WeekCounts, previous: WeekCounts, thresholds: RateThresholds, decisionList: readonly RegistryDecision[] = []): WeeklyReview {
  const decisions = { counts: countDecisions(decisionList), list: [...decisionList] };
  const successRate = successOf(current);
  const failedRate = failedRateOf(current);
  const previousFailedRate = failedRateOf(previous);
  const flags: WeeklyReview['flags'] = [];
  if (failedRate !== null && previousFailedRate !== null && previousFailedRate > 0 && failedRate > previousFailedRate * WEEK_OVER_WEEK_RISE) {
    flags.push({ code: 'failed_rate_up', message: `Failed rate ${pct(failedRate)} vs ${pct(previousFailedRate)} last week (> 10% w/w): investigate within 48 h.` });
  } else if (failedRate !== null && failedRate > 0 && previousFailedRate === 0) {
    flags.push({ code: 'failed_rate_up', message: `Failed rate ${pct(failedRate)} vs 0% last week: investigate within 48 h.` });
  }
  if (current.tokenRefresh.failed > previous.tokenRefresh.failed) {
    flags.push({ code: 'token_refresh_failures_up', message: `Token-refresh failures up: ${current.tokenRefresh.failed} vs ${previous.tokenRefresh.failed} last week — page CRM on-call.` });
  }
  const reasons = Object.entries(current.failedByReason).sort((a, b) => b[1] - a[1]);
  const nodeTypes = Object.keys(NODE_TYPES).map((nt) => [nt, current.byNodeType[nt] ?? { invoked: 0, executed: 0, failed: 0, blocked: 0 }] as const);
  const target = thresholds.sloAllowedFailureRate === null ? '' : `; SLO target ${pct(1 - thresholds.sloAllowedFailureRate)}`;
  const alertAt = thresholds.failureRateAlert === null ? '' : `; failure-rate alert threshold ${pct(thresholds.failureRateAlert)}`;
  const md = [
    `# Qontak actions — weekly review (week of ${current.weekStart.slice(0, 10)})`,
    '',
    `- Success rate: **${pct(successRate)}** of ${completedOf(current)} completed calls (${current.executed} executed, ${current.failed} failed, of which ${current.unknownOutcome} with an unknown outcome that may have succeeded${target})`,
    `- Failed rate: ${pct(failedRate)} (last week ${pct(previousFailedRate)}${alertAt})`,
    `- Blocked calls (action disabled; in no rate): ${current.blocked} (last week ${previous.blocked})`,
    `- Token refreshes: ${current.tokenRefresh.success} ok, ${current.tokenRefresh.failed} failed (last week ${previous.tokenRefresh.failed} failed)`,
    '',
    '## Flags',
    ...(flags.length ? flags.map((f) => `- ⚠️ ${f.message}`) : ['- none']),
    '',
    '## Failure-reason mix',
    '| reason | count | share | meaning |',
    '|---|---:|---:|---|',
    ...reasons.map(([r, n]) => `| ${r} | ${n} | ${pct(current.failed ? n / current.failed : null)} | ${FAILURE_REASONS[r as keyof typeof FAILURE_REASONS] ?? ''} |`),
    '',
    '## Volume per node_type',
    '| node_type | invoked | completed | executed | failed | failed rate | blocked |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...nodeTypes.map(([nt, c]) => `| ${nt} | ${c.invoked} | ${completedOf(c)} | ${c.executed} | ${c.failed} | ${pct(failedRateOf(c))} | ${c.blocked} |`),
    '',
    '## Kill switch and registry decisions',
    ...decisionLines(decisions.counts),
    ...(decisions.list.length
      ? [
          '',
          '| when (UTC) | change | node_type | scope | by | reason |',
          '|---|---|---|---|---|---|',
          ...decisions.list.map((d) => `| ${utcMinute(d.at)} | ${d.action} | ${d.node_type} | ${scopeText(d)} | ${cell(d.actor)} | ${cell(d.reason ?? '')} |`),
        ]
      : []),
    '',
  ].join('\n');
  const text = `Weekly review: success ${pct(successRate)}, failed rate ${pct(failedRate)}${flags.length ? ` — ${flags.length} flag(s)` : ''}`;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `Qontak actions — week of ${current.weekStart.slice(0, 10)}` } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Success rate*\n${pct(successRate)}` },
        { type: 'mrkdwn', text: `*Failed rate*\n${pct(failedRate)} (prev ${pct(previousFailedRate)})` },
        { type: 'mrkdwn', text: `*Token refresh failures*\n${current.tokenRefresh.failed} (prev ${previous.tokenRefresh.failed})` },
        { type: 'mrkdwn', text: `*Completed calls*\n${completedOf(current)} (${current.invoked} invoked)` },
        { type: 'mrkdwn', text: `*Blocked calls*\n${current.blocked} (prev ${previous.blocked})` },
        { type: 'mrkdwn', text: `*Unknown outcome*\n${current.unknownOutcome} (counted as failed)` },
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Top failure reasons*\n${reasons.slice(0, 5).map(([r, n]) => `• \`${r}\` × ${n}`).join('\n') || '—'}` } },
    { type: 'section', text: { type: 'mrkdwn', text: `*Flags*\n${flags.map((f) => `:warning: ${f.message}`).join('\n') || 'none'}` } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Kill switch and registry decisions*\n${decisionLines(decisions.counts).map((l) => l.replace(/^- /, '• ')).join('\n')}${decisions.list
          .filter((d) => d.action === 'disable')
          .slice(0, 10)
          .map((d) => `\n:no_entry: \`${d.node_type}\` ${scopeText(d)} by ${d.actor} (${utcMinute(d.at)})`)
          .join('')}`,
      },
    },
  ];
  return { current, previous, successRate, failedRate, previousFailedRate, thresholds, flags, decisions, markdown: md, slack: { text, blocks } };
}

export async function weeklyReview(provider: WeekCountsProvider, weekStartMs: number, thresholds: RateThresholds, registry?: RegistryDecisionsProvider): Promise<WeeklyReview> {
  const week = 7 * 24 * 3600_000;
  const [current, previous, decisions] = await Promise.all([
    provider.weekCounts(weekStartMs, weekStartMs + week),
    provider.weekCounts(weekStartMs - week, weekStartMs),
    registry ? registry.decisions(weekStartMs, weekStartMs + week) : Promise.resolve([]),
  ]);
  return buildWeeklyReview(current, previous, thresholds, decisions);
}
