// The timeline: a row per processor of each worker (per worker where the
// log does not say the processor), and on it a bar per recent task from
// its start to its end, to now while it runs. Tasks that overlap on one
// processor (tasks that take a share of it, or wait inside it) get lanes
// of their own.

import { svg, clear, niceStep, shortName, fmtDuration } from './dom.js';

const W = 1200, LEFT = 160, RIGHT = 16, TOP = 8, LANE_H = 18, ROW_PAD = 6, AXIS = 24;

function rowName(worker, thread) {
  return thread ? 'worker ' + worker + ' · processor ' + thread : 'worker ' + worker;
}

function tickLabel(ms, step) {
  if (step < 100) return ms.toFixed(0) + ' ms';
  return (ms / 1000).toFixed(step < 1000 ? 1 : 0) + ' s';
}

// rowsOf groups the tasks by worker and processor, in that order, and
// gives each task a lane of its row in which it overlaps no other.
function rowsOf(started, now) {
  const byKey = new Map();
  for (const t of started) {
    const key = t.worker * 1e6 + (t.thread || 0);
    if (!byKey.has(key)) byKey.set(key, { key, worker: t.worker, thread: t.thread || 0, tasks: [] });
    byKey.get(key).tasks.push(t);
  }
  const rows = [...byKey.values()].sort((a, b) => a.key - b.key);
  for (const row of rows) {
    row.tasks.sort((a, b) => a.start - b.start || a.id - b.id);
    const laneEnds = [];
    row.lanes = new Map();
    for (const t of row.tasks) {
      let lane = laneEnds.findIndex((end) => end <= t.start);
      if (lane < 0) lane = laneEnds.push(0) - 1;
      laneEnds[lane] = t.end || now;
      row.lanes.set(t.id, lane);
    }
    row.height = Math.max(laneEnds.length, 1) * LANE_H + ROW_PAD;
  }
  return rows;
}

// renderTimeline draws the tasks of update that started into root.
export function renderTimeline(root, note, update) {
  clear(root);
  const now = update.time;
  const started = (update.tasks || []).filter((t) => t.start);
  if (started.length === 0) {
    note.textContent = '';
    root.setAttribute('viewBox', '0 0 ' + W + ' 50');
    root.append(svg('text', { class: 'empty', x: W / 2, y: 30, 'text-anchor': 'middle' },
      update.log_on ? 'No task has started yet.' : 'The scheduler\u2019s event log is off.'));
    return;
  }
  // While tasks run, the timeline ends now; else at the last end, so that
  // a run that is over fills it.
  const live = started.some((t) => !t.end);
  const tEnd = live ? now : Math.max(...started.map((t) => t.end));
  const rows = rowsOf(started, tEnd);
  const t0 = Math.min(...started.map((t) => t.start));
  const span = Math.max(tEnd - t0, 1);
  note.textContent = live ? 'the last ' + fmtDuration(span)
    : fmtDuration(span) + ', until the last task ended ' + fmtDuration(now - tEnd) + ' ago';
  let y = TOP;
  for (const row of rows) {
    row.y = y;
    y += row.height;
  }
  const bottom = y;
  const H = bottom + AXIS;
  root.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  const pw = W - LEFT - RIGHT;
  const x = (t) => LEFT + ((t - t0) / span) * pw;

  const step = niceStep(span, 6);
  for (let ago = 0; ago <= span; ago += step) {
    const gx = x(tEnd - ago);
    root.append(svg('line', { class: 'grid-line', x1: gx, x2: gx, y1: TOP, y2: bottom }));
    root.append(svg('text', { class: 'tick', x: gx, y: H - 8, 'text-anchor': ago === 0 ? 'end' : 'middle' },
      ago === 0 ? (live ? 'now' : 'end') : '−' + tickLabel(ago, step)));
  }
  for (const row of rows) {
    root.append(svg('text', { class: 'row-label', x: 8, y: row.y + row.height / 2 + 4 }, rowName(row.worker, row.thread)));
    root.append(svg('line', { class: 'row-line', x1: LEFT, x2: W - RIGHT, y1: row.y + row.height, y2: row.y + row.height }));
    for (const t of row.tasks) {
      const end = t.end || tEnd;
      const bx = x(t.start);
      root.append(svg('rect', {
        class: 'bar', 'data-task': t.id, 'data-state': t.state,
        x: bx.toFixed(2), y: row.y + ROW_PAD / 2 + row.lanes.get(t.id) * LANE_H + 2,
        width: Math.max(x(end) - bx, 1.5).toFixed(2), height: LANE_H - 4, rx: 2,
      }, svg('title', null, shortName(t.name) + ' #' + t.id + ': ' + t.state + ', ' + fmtDuration(end - t.start))));
    }
  }
}
