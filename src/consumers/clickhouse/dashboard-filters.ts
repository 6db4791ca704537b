import { z } from 'zod';
import { FAILURE_REASON_CODES, NODE_TYPE_NAMES } from '../../events/index.ts';
import { bucketMinutesFor, type MetricFilters } from './metric-queries.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const SECOND = 1000;

/** The quick ranges of the page, each ending now. */
export const QUICK_RANGES = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY, '28d': 28 * DAY } as const;
export type QuickRange = keyof typeof QUICK_RANGES;
export const QUICK_RANGE_NAMES = Object.keys(QUICK_RANGES) as QuickRange[];

export interface DashboardFilters extends MetricFilters {
  /** The quick range asked for (or the default one), or `custom` for explicit from/to. */
  rangeName: QuickRange | 'custom';
  /** The range ends at the request's instant: the page refreshes it, and the "as of" instant is `toMs`. */
  live: boolean;
  /** `csv`: the metric's rows as an RFC 4180 file instead of JSON. */
  format: 'json' | 'csv';
  /** Also answer for the previous period: the same range shifted back by its own length (`previousPeriod`). */
  compare: boolean;
}

const identifier = /^[A-Za-z0-9][A-Za-z0-9_.:@-]*$/;
/** An instant as ISO 8601 (with an offset or Z) or as epoch milliseconds, the form notification links carry. */
const instant = z.union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{1,15}$/, 'epoch milliseconds')], {
  error: 'an ISO 8601 date-time with offset, or epoch milliseconds',
});
const filtersSchema = z
  .strictObject({
    range: z.enum(QUICK_RANGE_NAMES as [QuickRange, ...QuickRange[]]).optional(),
    from: instant.optional(),
    to: instant.optional(),
    organization_id: z.union([z.literal(''), z.string().max(128).regex(identifier)]).optional(),
    node_type: z.union([z.literal(''), z.enum(NODE_TYPE_NAMES)]).optional(),
    reason: z.union([z.literal(''), z.enum(FAILURE_REASON_CODES)]).optional(),
    format: z.enum(['json', 'csv']).optional(),
    compare: z.enum(['previous']).optional(),
  })
  .refine((q) => !(q.range && (q.from || q.to)), { error: 'range: give either a quick range or from/to, not both' });

const toMs = (v: string) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v));

/** Whether the query names its range; without one the caller picks the default from the data (default-range.ts). */
export function namesRange(query: Record<string, unknown>): boolean {
  return Boolean(query.range || query.from || query.to);
}

/**
 * Parses the filters. A quick range (or no range at all: `defaultRange`) ends at `now` to the millisecond, so the
 * rolling windows hold the current partial minute, as the alert evaluator counts it. Explicit `from`/`to` are
 * honoured to the second (notification links carry the evaluator's instants, which are 10 s steps); a missing `to`
 * is `now`. Metrics that align to hours or weeks say so in their SQL.
 */
export function parseFilters(query: unknown, now: number, defaultRange: QuickRange): { ok: true; filters: DashboardFilters } | { ok: false; error: string } {
  const parsed = filtersSchema.safeParse(query);
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') };
  const q = parsed.data;
  const custom = Boolean(q.from || q.to);
  const rangeName = custom ? 'custom' : (q.range ?? defaultRange);
  const to = q.to ? Math.floor(toMs(q.to) / SECOND) * SECOND : now;
  const from = q.from ? Math.floor(toMs(q.from) / SECOND) * SECOND : rangeName === 'custom' ? to - QUICK_RANGES[defaultRange] : to - QUICK_RANGES[rangeName];
  if (from >= to) return { ok: false, error: 'from must be before to' };
  if (to - from > 400 * DAY) return { ok: false, error: 'range longer than 400 days' };
  return {
    ok: true,
    filters: {
      fromMs: from,
      toMs: to,
      organizationId: q.organization_id ?? '',
      nodeType: q.node_type ?? '',
      reason: q.reason ?? '',
      bucketMinutes: bucketMinutesFor(from, to),
      rangeName,
      live: to === now,
      format: q.format ?? 'json',
      compare: q.compare === 'previous',
    },
  };
}

/**
 * The period before the range, as long as it: [from − span, from). The same SQL over it gives the comparison, so a
 * delta never mixes two definitions; the bucket stays the range's, so both series have the same points.
 */
export function previousPeriod(f: DashboardFilters): DashboardFilters {
  const span = f.toMs - f.fromMs;
  return { ...f, fromMs: f.fromMs - span, toMs: f.fromMs, live: false, compare: false };
}
