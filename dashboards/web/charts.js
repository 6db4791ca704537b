// uPlot charts sized to their card: they follow the card's width (a phone's 390 px or a 2560 px screen) instead of
// a fixed width that would push the page sideways.
const charts = new Map();
const HEIGHT = 220;

function draw(el, opts, data, annotations = []) {
  charts.get(el.id)?.destroy();
  const u = new window.uPlot({ ...opts, width: el.clientWidth, height: HEIGHT, hooks: { draw: [(plot) => placeAnnotations(plot, annotations)] } }, data, el);
  charts.set(el.id, u);
  el.dataset.annotations = String(annotations.length);
  return u;
}

/**
 * Alert episodes (a band from firing to resolved, to the right edge while it fires) and registry changes (a line at
 * their instant) over the plot: each a link to the page that explains it, its tooltip the annotation's detail (shown
 * on hover and on keyboard focus). Placed again on every redraw, so a resize keeps them on their instants.
 */
function placeAnnotations(u, annotations) {
  let layer = u.over.querySelector(':scope > .annotations');
  if (!layer) {
    layer = document.createElement('div');
    layer.className = 'annotations';
    u.over.append(layer);
  }
  const [min, max] = [u.scales.x.min, u.scales.x.max];
  const width = u.over.clientWidth;
  // A redraw at the same scale and width leaves the links in place (a hovered or focused one stays put).
  const placed = `${min}|${max}|${width}`;
  if (layer.dataset.placed === placed) return;
  layer.dataset.placed = placed;
  layer.replaceChildren(...annotations.flatMap((a) => {
    const start = a.start_ms / 1000;
    const end = a.kind === 'alert_episode' ? (a.end_ms === null ? max : a.end_ms / 1000) : start;
    if (end < min || start > max) return [];
    const left = Math.max(0, u.valToPos(Math.max(start, min), 'x'));
    const right = Math.min(width, u.valToPos(Math.min(end, max), 'x'));
    const link = document.createElement('a');
    link.className = `annotation ${a.kind === 'alert_episode' ? 'episode' : 'change'}`;
    link.dataset.kind = a.kind;
    link.dataset.id = a.id;
    link.href = a.url;
    link.title = a.detail;
    link.setAttribute('aria-label', a.detail);
    link.style.left = `${Math.min(left, width - 2)}px`;
    link.style.width = `${Math.max(2, right - left)}px`;
    const tip = document.createElement('span');
    tip.className = 'annotation-tip';
    tip.setAttribute('role', 'tooltip');
    tip.textContent = a.detail;
    // The tooltip opens towards the middle of the chart, so it stays inside the card at any width.
    if (left > width / 2) tip.classList.add('left');
    link.append(tip);
    return [link];
  }));
}

const resize = new window.ResizeObserver((entries) => {
  for (const entry of entries) {
    const u = charts.get(entry.target.id);
    const width = Math.floor(entry.contentRect.width);
    if (u && width > 0 && width !== u.width) u.setSize({ width, height: HEIGHT });
  }
});

/**
 * Lines over the query's range (seconds): an hour or ninety days both fill the width. Buckets come complete from
 * the API (zeros included); a bucket that starts before `from` (a quick range is not aligned to buckets) is drawn
 * at `from`.
 */
export function lineChart(id, series, data, range, annotations = []) {
  const el = document.getElementById(id);
  const xs = data[0].map((t) => Math.max(t, range[0]));
  draw(el, {
    series: [{}, ...series.map((s) => ({ points: { show: xs.length <= 2 }, ...s }))],
    scales: { x: { time: true, range: () => range }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [{}, { size: 60 }],
    legend: { live: false },
  }, [xs, ...data.slice(1)], annotations);
  el.dataset.points = String(xs.length);
  el.dataset.xMin = String(range[0]);
  el.dataset.xMax = String(range[1]);
  resize.observe(el);
}

/**
 * One bar per ISO week (its bucket), centred in the week, over the weeks the range touches. `onPick(week)`, when
 * given, is called with the week ('YYYY-MM-DD') under the pointer when the plot is clicked.
 */
export function weeklyBars(id, label, weeks, values, color, annotations = [], onPick) {
  const el = document.getElementById(id);
  const WEEK = 7 * 86400;
  const starts = weeks.map((w) => Date.parse(`${w}T00:00:00Z`) / 1000);
  const range = starts.length ? [starts[0], starts[starts.length - 1] + WEEK] : [0, WEEK];
  draw(el, {
    series: [{}, { label, stroke: color, fill: `${color}99`, width: 1, paths: window.uPlot.paths.bars({ size: [0.7, 80] }), points: { show: false } }],
    scales: { x: { time: true, range: () => range }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [{}, { size: 60 }],
    legend: { live: false },
  }, [starts.map((s) => s + WEEK / 2), values], annotations);
  el.dataset.points = String(starts.length);
  el.classList.toggle('pick', Boolean(onPick));
  if (onPick) {
    const u = charts.get(id);
    u.over.addEventListener('click', () => {
      // The week holding the pointer's time (not the nearest bar's centre, which may be the next week's).
      const at = u.posToVal(u.cursor.left, 'x');
      const week = weeks.find((_w, i) => at >= starts[i] && at < starts[i] + WEEK);
      if (u.cursor.left >= 0 && week) onPick(week);
    });
  }
  resize.observe(el);
}
