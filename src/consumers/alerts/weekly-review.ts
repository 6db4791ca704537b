import { FAILURE_REASONS, NODE_TYPES, type ActionEvent } from '../../events/index.ts';

/**
 * Spec §11.1 weekly review: success rate, failure-reason mix, per-node_type volume, and the two flags —
 * failed rate up > 10% week over week (investigate within 48 h) and token-refresh failures trending up
 * (page CRM). Works on counts from any provider (ClickHouse owns the SQL; `countsFromEvents` serves
 * tests and small deployments), and renders Markdown and a Slack Block Kit digest.
 */
export interface WeekCounts {
  weekStart: string;
  invoked: number;
  executed: number;
  failed: number;
  failedByReason: Record<string, number>;
  byNodeType: Record<string, { invoked: number; executed: number; failed: number }>;
  tokenRefresh: { success: number; failed: number };
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
  flags: { code: 'failed_rate_up' | 'token_refresh_failures_up'; message: string }[];
  markdown: string;
  slack: { text: string; blocks: unknown[] };
}

export function emptyWeek(weekStartMs: number): WeekCounts {
  return { weekStart: new Date(weekStartMs).toISOString(), invoked: 0, executed: 0, failed: 0, failedByReason: {}, byNodeType: {}, tokenRefresh: { success: 0, failed: 0 } };
}

export function countsFromEvents(events: Iterable<ActionEvent>, fromMs: number, toMs: number): WeekCounts {
  const w = emptyWeek(fromMs);
  for (const e of events) {
    if (e.timestamp < fromMs || e.timestamp >= toMs) continue;
    if (e.event === 'qontak_action_token_refreshed') {
      w.tokenRefresh[e.outcome]++;
      continue;
    }
    if (e.event !== 'qontak_action_invoked' && e.event !== 'qontak_action_executed' && e.event !== 'qontak_action_failed') continue;
    const nt = (w.byNodeType[e.node_type] ??= { invoked: 0, executed: 0, failed: 0 });
    if (e.event === 'qontak_action_invoked') {
      w.invoked++;
      nt.invoked++;
    } else if (e.event === 'qontak_action_executed') {
      w.executed++;
      nt.executed++;
    } else {
      w.failed++;
      nt.failed++;
      w.failedByReason[e.reason] = (w.failedByReason[e.reason] ?? 0) + 1;
    }
  }
  return w;
}

const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
/** Spec §12: success = executed / (executed + failed). */
const successOf = (w: WeekCounts) => (w.executed + w.failed > 0 ? w.executed / (w.executed + w.failed) : null);
const failedRateOf = (w: WeekCounts) => (w.invoked > 0 ? w.failed / w.invoked : null);

export function buildWeeklyReview(current: WeekCounts, previous: WeekCounts): WeeklyReview {
  const successRate = successOf(current);
  const failedRate = failedRateOf(current);
  const previousFailedRate = failedRateOf(previous);
  const flags: WeeklyReview['flags'] = [];
  // "> 10% w/w" read as a relative rise of the failed rate by more than 10% over last week.
  if (failedRate !== null && previousFailedRate !== null && previousFailedRate > 0 && failedRate > previousFailedRate * 1.1) {
    flags.push({ code: 'failed_rate_up', message: `Failed rate ${pct(failedRate)} vs ${pct(previousFailedRate)} last week (> 10% w/w): investigate within 48 h.` });
  } else if (failedRate !== null && failedRate > 0 && previousFailedRate === 0) {
    flags.push({ code: 'failed_rate_up', message: `Failed rate ${pct(failedRate)} vs 0% last week: investigate within 48 h.` });
  }
  if (current.tokenRefresh.failed > previous.tokenRefresh.failed) {
    flags.push({ code: 'token_refresh_failures_up', message: `Token-refresh failures up: ${current.tokenRefresh.failed} vs ${previous.tokenRefresh.failed} last week — page CRM on-call.` });
  }
  const reasons = Object.entries(current.failedByReason).sort((a, b) => b[1] - a[1]);
  const nodeTypes = Object.keys(NODE_TYPES).map((nt) => [nt, current.byNodeType[nt] ?? { invoked: 0, executed: 0, failed: 0 }] as const);
  const md = [
    `# Qontak actions — weekly review (week of ${current.weekStart.slice(0, 10)})`,
    '',
    `- Success rate: **${pct(successRate)}** (${current.executed} executed, ${current.failed} failed)`,
    `- Failed rate: ${pct(failedRate)} (last week ${pct(previousFailedRate)})`,
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
    '| node_type | invoked | executed | failed | failed rate |',
    '|---|---:|---:|---:|---:|',
    ...nodeTypes.map(([nt, c]) => `| ${nt} | ${c.invoked} | ${c.executed} | ${c.failed} | ${pct(c.invoked ? c.failed / c.invoked : null)} |`),
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
        { type: 'mrkdwn', text: `*Invoked*\n${current.invoked}` },
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Top failure reasons*\n${reasons.slice(0, 5).map(([r, n]) => `• \`${r}\` × ${n}`).join('\n') || '—'}` } },
    { type: 'section', text: { type: 'mrkdwn', text: `*Flags*\n${flags.map((f) => `:warning: ${f.message}`).join('\n') || 'none'}` } },
  ];
  return { current, previous, successRate, failedRate, previousFailedRate, flags, markdown: md, slack: { text, blocks } };
}

export async function weeklyReview(provider: WeekCountsProvider, weekStartMs: number): Promise<WeeklyReview> {
  const week = 7 * 24 * 3600_000;
  const [current, previous] = await Promise.all([provider.weekCounts(weekStartMs, weekStartMs + week), provider.weekCounts(weekStartMs - week, weekStartMs)]);
  return buildWeeklyReview(current, previous);
}
