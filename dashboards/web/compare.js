// Comparison with the previous period (the API runs the same SQL over the range shifted back by its length): a value,
// its change, and an arrow coloured by whether the change is better or worse for that metric (a falling failure rate
// is good news, a falling success rate is not).
import { int, pct } from './format.js';

/**
 * `{ text, verdict }` for a change from `before` to `now`. `kind`: 'pct' (a change in percentage points) or 'count';
 * `better`: 'up' or 'down', the direction that is good news. Null when either side has no value.
 */
export function change(now, before, kind, better) {
  if (now === null || now === undefined || before === null || before === undefined) return null;
  const d = Number(now) - Number(before);
  const arrow = d > 0 ? '▲' : d < 0 ? '▼' : '=';
  const verdict = d === 0 ? 'same' : (d > 0) === (better === 'up') ? 'better' : 'worse';
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  const size = kind === 'pct' ? `${Math.abs(d).toFixed(1)} pts` : int(Math.abs(d));
  return { text: `${arrow} ${sign}${size}`, verdict };
}

/** The tile's comparison line: "vs 100.0% in the previous period ▼ −21.3 pts", or why there is none. */
export function compareLine(el, now, before, kind, better) {
  let line = el.querySelector('.compare');
  if (!line) {
    line = document.createElement('p');
    line.className = 'compare';
    el.querySelector('.detail').after(line);
  }
  line.className = 'compare';
  if (before === undefined) {
    line.textContent = '';
    return;
  }
  const c = change(now, before, kind, better);
  if (before === null) line.textContent = 'no value to compare in the previous period';
  else line.textContent = `vs ${kind === 'pct' ? pct(before) : int(before)} in the previous period${c ? ` ${c.text}` : ''}`;
  if (c) line.classList.add(c.verdict);
}

/** Appends the change to a table cell. */
export function cellChange(td, now, before, kind, better) {
  const c = change(now, before, kind, better);
  const span = document.createElement('span');
  span.className = `delta ${c ? c.verdict : 'none'}`;
  // No row in the previous period: the action or organization had no calls then.
  span.textContent = c ? c.text : before === undefined ? 'new' : '';
  td.append(' ', span);
}
