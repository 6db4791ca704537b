// Live view: while the range ends now (a quick range), the page loads itself again every 30 s and says when the next
// load comes; a reader can pause it (to read a table that would otherwise change under them) and resume it.
// A custom range is fixed: nothing to refresh.
import { currentState, onRefreshed, reload } from './app.js';

const EVERY_MS = 30_000;
const box = document.getElementById('live');
const line = document.getElementById('live-text');
const toggle = document.getElementById('live-toggle');
let paused = false;
let dueAt = null;
let timer = null;
let ticker = null;

function show() {
  if (paused) line.textContent = 'Auto-refresh paused';
  else if (dueAt === null) line.textContent = `Auto-refresh every ${EVERY_MS / 1000} s`;
  else line.textContent = `Auto-refresh every ${EVERY_MS / 1000} s · next in ${Math.max(0, Math.ceil((dueAt - Date.now()) / 1000))} s`;
  toggle.textContent = paused ? 'Resume' : 'Pause';
  toggle.setAttribute('aria-pressed', String(paused));
}

function stop() {
  window.clearTimeout(timer);
  window.clearInterval(ticker);
  timer = null;
  ticker = null;
  dueAt = null;
}

function schedule() {
  stop();
  if (paused) return show();
  dueAt = Date.now() + EVERY_MS;
  timer = window.setTimeout(() => {
    stop();
    show();
    reload();
  }, EVERY_MS);
  ticker = window.setInterval(show, 1000);
  show();
}

onRefreshed((range) => {
  const live = range ? range.live : currentState().range !== 'custom';
  box.hidden = !live;
  box.dataset.live = String(live);
  if (live) schedule();
  else stop();
});

toggle.addEventListener('click', () => {
  paused = !paused;
  if (paused) {
    stop();
    show();
  } else reload();
});
