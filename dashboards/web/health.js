// Pipeline health: exists only where the whole pipeline serves the page (GET /api/health); elsewhere it stays hidden.
import { int } from './format.js';
import { fillTable, panel, setReady } from './panels.js';

export async function loadHealth(signal) {
  const section = panel('health');
  let health;
  try {
    const res = await fetch('/api/health', { signal });
    if (!res.ok) throw new Error(res.statusText);
    health = await res.json();
  } catch {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  fillTable(section, health.consumers, [
    { key: 'name', format: String },
    { key: 'lag', format: int },
    { key: 'written', format: int },
    { key: 'deadLettered', format: int },
    { key: 'secondsSinceProgress', format: (v) => (v === null ? '–' : `${v} s`) },
    { key: 'stalled', format: (v) => (v ? 'STALLED' : 'ok'), cls: (r) => (r.stalled ? 'alert' : '') },
  ]);
  const e = health.emitter;
  document.getElementById('health-emitter').textContent = e
    ? `Emitter: ${e.mode}, ${e.connected ? 'connected' : 'not connected'} to Kafka, ${int(e.queued)} queued, ${int(e.spoolRecords)} in the spool (${int(e.spoolBytes)} bytes), ${int(e.dropped)} dropped.`
    : '';
  setReady(section);
}
