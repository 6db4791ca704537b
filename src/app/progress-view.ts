/**
 * The terminal view of a running pipeline: one refreshed block (or one line per interval when the output
 * is not a terminal, e.g. piped to a file or CI), so a newcomer sees events flow, lag and alerts.
 */
export interface ProgressSnapshot {
  elapsedMs: number;
  emitted: number;
  spooled: number;
  actionCalls: number;
  actionFailures: number;
  consumers: { name: string; written: number; lag: number; deadLettered: number; secondsSinceProgress: number | null; stalled: boolean }[];
  alertsFiring: string[];
  alertsFired: number;
  actionsDisabled: string[];
  dashboardUrl: string;
}

export class ProgressView {
  private last: { at: number; emitted: number } | undefined;
  private linesPrinted = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  render(s: ProgressSnapshot): void {
    const now = Date.now();
    const rate = this.last ? ((s.emitted - this.last.emitted) * 1000) / Math.max(1, now - this.last.at) : 0;
    this.last = { at: now, emitted: s.emitted };
    const lines = [
      `actionpulse — ${Math.round(s.elapsedMs / 1000)}s — dashboard ${s.dashboardUrl}`,
      `  events emitted ${s.emitted} (${rate.toFixed(0)}/s)${s.spooled ? `, ${s.spooled} spooled` : ''}   action calls ${s.actionCalls}, failed ${s.actionFailures}`,
      ...s.consumers.map(
        (c) =>
          `  ${c.name.padEnd(11)} written ${String(c.written).padStart(8)}  lag ${String(c.lag).padStart(6)}  dead-lettered ${c.deadLettered}${c.stalled ? `  STALLED ${c.secondsSinceProgress}s` : ''}`,
      ),
      `  alerts fired ${s.alertsFired}; firing now: ${s.alertsFiring.length ? s.alertsFiring.join('; ') : 'none'}`,
      `  actions disabled by the kill switch: ${s.actionsDisabled.length ? s.actionsDisabled.join(', ') : 'none'}`,
    ];
    if (this.out.isTTY) {
      if (this.linesPrinted) this.out.write(`\x1b[${this.linesPrinted}A\x1b[0J`);
      this.out.write(`${lines.join('\n')}\n`);
      this.linesPrinted = lines.length;
    } else {
      this.out.write(`${lines.join('\n')}\n\n`);
    }
  }

  /** Text printed after the block stops refreshing (alerts, shutdown), without being overwritten. */
  note(text: string): void {
    if (this.out.isTTY && this.linesPrinted) this.out.write(`\x1b[${this.linesPrinted}A\x1b[0J`);
    this.linesPrinted = 0;
    this.out.write(`${text}\n`);
  }
}
