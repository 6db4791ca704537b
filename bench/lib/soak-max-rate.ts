import { runSoak, type SoakOptions, type SoakReport } from './soak-run.ts';

export interface MaxRateProbe {
  rate: number;
  ok: boolean;
  /** Why the probe failed: the checks that did not pass. */
  failed: string[];
  figures: SoakReport['figures'];
}

export interface MaxRateResult {
  /** The highest offered rate at which nothing was dropped and every check passed; undefined if none did. */
  highestOk?: number;
  lowestFailed?: number;
  probes: MaxRateProbe[];
}

/**
 * Bisects the offered rate: each probe is a whole soak (fresh broker, every consumer group in its own
 * process, exact checks) at one rate, without chaos, so the answer is the rate the pipeline itself keeps up
 * with. A probe passes when nothing was dropped and every downstream check held. The search stops when the
 * bracket is within `precision` (as a ratio) or after `maxProbes` probes.
 */
export async function findMaxRate(
  o: Omit<SoakOptions, 'rate' | 'chaos'> & { low: number; high: number; precision?: number; maxProbes?: number },
  say: (line: string) => void,
): Promise<MaxRateResult> {
  const precision = o.precision ?? 1.15;
  const maxProbes = o.maxProbes ?? 8;
  const probes: MaxRateProbe[] = [];
  let highestOk: number | undefined;
  let lowestFailed: number | undefined;
  // Start at the top: a machine that keeps up with `high` needs one probe.
  let rate = o.high;
  while (probes.length < maxProbes) {
    say(`probe ${probes.length + 1}: ${rate} events/s for ${o.seconds} s`);
    const report = await runSoak({ ...o, rate, chaos: [], log: () => undefined });
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    probes.push({ rate, ok: report.ok, failed, figures: report.figures });
    say(`probe ${probes.length}: ${rate} events/s → ${report.ok ? 'kept up' : `failed (${failed.length} check(s))`}`);
    if (report.ok) highestOk = Math.max(highestOk ?? 0, rate);
    else lowestFailed = Math.min(lowestFailed ?? Infinity, rate);
    if (highestOk === o.high) break;
    const lo = highestOk ?? o.low;
    const hi = lowestFailed ?? o.high;
    if (highestOk === undefined && rate === o.low) break; // even the floor failed
    if (highestOk !== undefined && hi / lo <= precision) break;
    rate = highestOk === undefined && probes.length === 1 ? o.low : Math.round(Math.sqrt(lo * hi) / 100) * 100;
    if (probes.some((p) => p.rate === rate)) break;
  }
  return { highestOk, lowestFailed, probes };
}

export function formatMaxRate(r: MaxRateResult): string {
  const lines = ['', 'probe rate (events/s)   result'];
  for (const p of r.probes) {
    lines.push(`  ${String(p.rate).padStart(8)}             ${p.ok ? 'kept up: nothing dropped, every check passed' : 'FAILED'}`);
    for (const f of p.failed) lines.push(`        ${f}`);
  }
  lines.push(
    '',
    r.highestOk === undefined
      ? `RESULT: no probed rate kept up (lowest probed failed${r.lowestFailed ? ` at ${r.lowestFailed}` : ''})`
      : `RESULT: highest offered rate with nothing dropped: ${r.highestOk} events/s${r.lowestFailed ? ` (${r.lowestFailed} failed)` : ' (the top of the range)'}`,
  );
  return lines.join('\n');
}
