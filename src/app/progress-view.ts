/**
 * The terminal view of a running pipeline. On a terminal it is one block redrawn in place, like `top` (cursor up
 * over the previous block, clear to the end of the screen; every line cut to the terminal's width, so a wrapped
 * line can never throw the redraw off). When stdout is not a terminal (piped to a file, CI, a log collector) it
 * appends one plain line per interval, without escape codes.
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

  constructor(private readonly out: Pick<NodeJS.WriteStream, 'write' | 'isTTY' | 'columns'> = process.stdout) {}

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
      const width = Math.max(20, (this.out.columns || 80) - 1);
      const fitted = lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
      const up = this.linesPrinted ? `\x1b[${this.linesPrinted}A\x1b[0J` : '';
      this.out.write(`${up}${fitted.join('\n')}\n`);
      this.linesPrinted = fitted.length;
    } else {
      const lag = s.consumers.map((c) => `${c.name}=${c.lag}${c.stalled ? '(stalled)' : ''}`).join(' ');
      const written = s.consumers.map((c) => `${c.name}=${c.written}`).join(' ');
      this.out.write(
        `${new Date(now).toISOString()} t=${Math.round(s.elapsedMs / 1000)}s events=${s.emitted} rate=${rate.toFixed(0)}/s spooled=${s.spooled} ` +
          `calls=${s.actionCalls} failed=${s.actionFailures} written ${written || '-'} lag ${lag || '-'} alerts_fired=${s.alertsFired} ` +
          `firing=${s.alertsFiring.length ? s.alertsFiring.join('|') : 'none'} disabled=${s.actionsDisabled.length ? s.actionsDisabled.join(',') : 'none'}\n`,
      );
    }
  }

  /** Text printed after the block stops refreshing (alerts, shutdown), without being overwritten. */
  note(text: string): void {
    if (this.out.isTTY && this.linesPrinted) this.out.write(`\x1b[${this.linesPrinted}A\x1b[0J`);
    this.linesPrinted = 0;
    this.out.write(`${text}\n`);
  }
}
