// uPlot charts sized to their card: they follow the card's width (a phone's 390 px or a 2560 px screen) instead of
// a fixed width that would push the page sideways.
const charts = new Map();
const HEIGHT = 220;

function draw(el, opts, data) {
  charts.get(el.id)?.destroy();
  const u = new window.uPlot({ ...opts, width: el.clientWidth, height: HEIGHT }, data, el);
  charts.set(el.id, u);
  return u;
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
export function lineChart(id, series, data, range) {
  const el = document.getElementById(id);
  const xs = data[0].map((t) => Math.max(t, range[0]));
  draw(el, {
    series: [{}, ...series.map((s) => ({ points: { show: xs.length <= 2 }, ...s }))],
    scales: { x: { time: true, range: () => range }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [{}, { size: 60 }],
    legend: { live: false },
  }, [xs, ...data.slice(1)]);
  el.dataset.points = String(xs.length);
  el.dataset.xMin = String(range[0]);
  el.dataset.xMax = String(range[1]);
  resize.observe(el);
}

/** One bar per ISO week (its bucket), centred in the week, over the weeks the range touches. */
export function weeklyBars(id, label, weeks, values, color) {
  const el = document.getElementById(id);
  const WEEK = 7 * 86400;
  const starts = weeks.map((w) => Date.parse(`${w}T00:00:00Z`) / 1000);
  const range = starts.length ? [starts[0], starts[starts.length - 1] + WEEK] : [0, WEEK];
  draw(el, {
    series: [{}, { label, stroke: color, fill: `${color}99`, width: 1, paths: window.uPlot.paths.bars({ size: [0.7, 80] }), points: { show: false } }],
    scales: { x: { time: true, range: () => range }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    axes: [{}, { size: 60 }],
    legend: { live: false },
  }, [starts.map((s) => s + WEEK / 2), values]);
  el.dataset.points = String(starts.length);
  resize.observe(el);
}
