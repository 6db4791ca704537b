// The filters in force, one chip each with a link that drops it, so a drill-down is seen and undone in one place;
// and, under a failure-reason filter, which panels it narrows (the others count every call: their routes say so).
import { FILTERS } from './view-state.js';

/** Chips for the filters of `state` among `keys`; `without(key)` is the URL of the view without that filter. */
export function showChips(el, state, without, keys = FILTERS.map(([k]) => k)) {
  const chips = FILTERS.filter(([key]) => keys.includes(key) && state[key]).map(([key, label]) => {
    const chip = document.createElement('span');
    chip.className = 'chip';
    chip.dataset.filter = key;
    chip.append(`${label}: `);
    const value = document.createElement('b');
    value.textContent = state[key];
    const drop = document.createElement('a');
    drop.href = without(key);
    drop.dataset.drill = 'true';
    drop.className = 'chip-remove';
    drop.setAttribute('aria-label', `Remove the filter ${label.toLowerCase()} ${state[key]}`);
    drop.textContent = '×';
    chip.append(value, ' ', drop);
    return chip;
  });
  el.replaceChildren(...chips);
  el.hidden = chips.length === 0;
}

/**
 * Under a reason filter, a panel whose answer was not narrowed to it (`range.reason` of its route is '') says
 * "every reason" beside its title, so nobody reads its numbers as the reason's.
 */
export function markReasonScope(p, reasonAsked, reasonApplied) {
  const head = p.querySelector(':scope > h2, :scope > .panel-head > h2');
  if (!head) return;
  let note = head.querySelector('.scope-note');
  const show = Boolean(reasonAsked) && reasonApplied !== reasonAsked;
  if (!show) return note?.remove();
  if (!note) {
    note = document.createElement('span');
    note.className = 'scope-note';
    head.append(' ', note);
  }
  note.textContent = '(every reason)';
}
