// The throughput chart: tasks done per second over the last minutes, as
// the server sampled them.

import { svg, clear, niceStep, fmtRate } from './dom.js';

const W = 400, H = 170;
const PAD = { left: 46, right: 12, top: 12, bottom: 24 };

// renderThroughput draws update.throughput ([time ms, rate] pairs) into
// root, an <svg> of viewBox 0 0 400 170.
export function renderThroughput(root, update) {
  clear(root);
  const points = update.throughput || [];
  const now = update.time;
  const period = update.period_ms || 500;
  const first = points.length ? points[0][0] : now;
  const span = Math.min(Math.max(now - first, 10000), 300000);
  const t0 = now - span;
  const shown = points.filter((p) => p[0] >= t0);
  const peak = shown.reduce((m, p) => Math.max(m, p[1]), 0);
  const yStep = niceStep(Math.max(peak, 1) * 1.1, 3);
  const yMax = Math.max(yStep * Math.ceil((Math.max(peak, 1) * 1.1) / yStep), yStep);
  const pw = W - PAD.left - PAD.right, ph = H - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + ((t - t0) / span) * pw;
  const y = (r) => PAD.top + ph - (r / yMax) * ph;

  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    root.append(svg('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
    root.append(svg('text', { class: 'tick', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtRate(v)));
  }
  const xStep = niceStep(span / 1000, 4) * 1000;
  for (let ago = 0; ago <= span + 1; ago += xStep) {
    const label = ago === 0 ? 'now' : '−' + Math.round(ago / 1000) + ' s';
    root.append(svg('text', { class: 'tick', x: x(now - ago), y: H - 6, 'text-anchor': ago === 0 ? 'end' : 'middle' }, label));
  }
  if (shown.length === 0) {
    root.append(svg('text', { class: 'empty', x: PAD.left + pw / 2, y: PAD.top + ph / 2, 'text-anchor': 'middle' }, 'sampling…'));
    return;
  }
  // A line per run of samples that follow each other: no line across a
  // time when nobody watched.
  const runs = [];
  let run = [];
  for (let i = 0; i < shown.length; i++) {
    if (i > 0 && shown[i][0] - shown[i - 1][0] > 2.5 * period) {
      runs.push(run);
      run = [];
    }
    run.push(shown[i]);
  }
  runs.push(run);
  for (const r of runs) {
    const line = r.map((p) => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' ');
    const base = y(0).toFixed(1);
    const area = x(r[0][0]).toFixed(1) + ',' + base + ' ' + line + ' ' + x(r[r.length - 1][0]).toFixed(1) + ',' + base;
    root.append(svg('polygon', { class: 'area', points: area }));
    root.append(svg('polyline', { class: 'line', points: line }));
  }
}
