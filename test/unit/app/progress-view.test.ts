import { describe, expect, it } from 'vitest';
import { ProgressView, type ProgressSnapshot } from '../../../src/app/progress-view.ts';

const snapshot = (emitted: number): ProgressSnapshot => ({
  elapsedMs: 12_000,
  emitted,
  spooled: 0,
  actionCalls: 40,
  actionFailures: 3,
  consumers: [
    { name: 'clickhouse', written: emitted, lag: 0, deadLettered: 0, secondsSinceProgress: 0, stalled: false },
    { name: 'mixpanel', written: emitted - 5, lag: 5, deadLettered: 1, secondsSinceProgress: 61, stalled: true },
  ],
  alertsFiring: ['failure-rate-1h node_type=qontak_crm_deal_update'],
  alertsFired: 1,
  actionsDisabled: [],
  dashboardUrl: 'http://127.0.0.1:8080/',
});

function stream(isTTY: boolean, columns = 60) {
  const writes: string[] = [];
  return { writes, out: { isTTY, columns, write: (chunk: string) => writes.push(chunk) > 0 } };
}

describe('terminal progress view', () => {
  it('on a terminal redraws one block in place: cursor up over the last block, clear, lines cut to the width', () => {
    const { writes, out } = stream(true, 60);
    const view = new ProgressView(out as never);
    view.render(snapshot(100));
    view.render(snapshot(200));
    expect(writes).toHaveLength(2);
    const firstLines = writes[0].trimEnd().split('\n');
    expect(writes[0].startsWith('\x1b[')).toBe(false);
    expect(writes[1].startsWith(`\x1b[${firstLines.length}A\x1b[0J`)).toBe(true);
    for (const line of writes[1].slice(`\x1b[${firstLines.length}A\x1b[0J`.length).trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(59);
    // A note goes above the next block instead of being overwritten by it.
    view.note('[FIRING] something');
    view.render(snapshot(300));
    expect(writes.at(-1)!.startsWith('\x1b[')).toBe(false);
  });

  it('piped, appends one plain line per interval with no escape codes', () => {
    const { writes, out } = stream(false);
    const view = new ProgressView(out as never);
    view.render(snapshot(100));
    view.render(snapshot(250));
    expect(writes).toHaveLength(2);
    for (const w of writes) {
      expect(w.endsWith('\n')).toBe(true);
      expect(w.slice(0, -1)).not.toContain('\n');
      expect(w).not.toContain('\x1b');
    }
    expect(writes[1]).toContain('events=250');
    expect(writes[1]).toContain('lag clickhouse=0 mixpanel=5(stalled)');
    expect(writes[1]).toContain('written clickhouse=250 mixpanel=245 lag');
    expect(writes[1]).toContain('firing=failure-rate-1h node_type=qontak_crm_deal_update');
  });
});
