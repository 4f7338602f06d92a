// The dashboard's page: it listens to the server's stream of updates and
// redraws each part from the latest one. "stats" updates carry the
// counters, workers, processors and throughput; "tasks" updates the recent
// tasks of the event log, for the DAG and the timeline.

import { html, clear, fmtCount, fmtRate, fmtBytes } from './dom.js';
import { renderThroughput } from './throughput.js';
import { renderDAG } from './dag.js';
import { renderTimeline } from './timeline.js';

const $ = (id) => document.getElementById(id);

function setStatus(state, text) {
  $('status').dataset.status = state;
  $('status-text').textContent = text;
}

function meter(fraction) {
  const f = Math.max(0, Math.min(fraction, 1));
  const fill = html('div', { class: f >= 0.999 ? 'fill full' : 'fill' });
  fill.style.width = (100 * f).toFixed(1) + '%';
  return html('div', { class: 'meter' },
    html('div', { class: 'track' }, fill),
    html('span', { class: 'pct' }, Math.round(100 * f) + '%'));
}

function renderCounts(u) {
  const counts = $('counts');
  const rates = u.throughput || [];
  // The rate of the last second or so, not of one sample: smoother.
  const recent = rates.slice(-Math.max(1, Math.round(1000 / (u.period_ms || 500))));
  const rate = recent.length ? recent.reduce((a, p) => a + p[1], 0) / recent.length : 0;
  const values = {
    spawned: u.spawned, waiting: u.waiting, queued: u.queued, running: u.running,
    done: u.done, failed: u.failed, canceled: u.canceled,
  };
  for (const [k, v] of Object.entries(values)) {
    counts.dataset[k] = v;
    counts.querySelector(`[data-count="${k}"] .value`).textContent = fmtCount(v);
  }
  counts.dataset.rate = rate.toFixed(2);
  counts.querySelector('[data-count="rate"] .value').textContent = fmtRate(rate);
  counts.dataset.bytes = u.bytes_moved;
  $('bytes-moved').textContent = fmtBytes(u.bytes_moved);
  const peak = rates.reduce((m, p) => Math.max(m, p[1]), 0);
  $('throughput-note').textContent = rates.length ? 'tasks done per second · peak ' + fmtRate(peak) : '';
}

function renderWorkers(u) {
  const body = $('workers').tBodies[0];
  clear(body);
  const first = (u.workers[0] || {}).id;
  for (const w of u.workers) {
    body.append(html('tr', { 'data-worker': w.id, 'data-running': w.running },
      html('td', null, String(w.id), w.id === first ? html('span', { class: 'tag' }, 'this process') : null),
      html('td', { class: 'num' }, fmtCount(w.procs)),
      html('td', { class: 'num' }, fmtCount(w.running)),
      html('td', null, meter(w.procs ? w.running / w.procs : 0))));
  }
  if (u.workers.length === 0) body.append(html('tr', null, html('td', { class: 'empty', colspan: 4 }, 'no workers')));
}

function renderProcs(u) {
  const body = $('procs').tBodies[0];
  clear(body);
  for (const p of u.procs) {
    body.append(html('tr', { 'data-proc': p.thread, 'data-running': p.running, 'data-queued': p.queued },
      html('td', null, String(p.thread)),
      html('td', { class: 'num' }, fmtCount(p.queued)),
      html('td', { class: 'num' }, fmtCount(p.running)),
      html('td', null, meter(p.occupancy))));
  }
}

function onStats(u) {
  renderCounts(u);
  renderWorkers(u);
  renderProcs(u);
  renderThroughput($('throughput'), u);
}

function onTasks(u) {
  renderDAG($('dag'), $('dag-note'), u);
  renderTimeline($('timeline'), $('timeline-note'), u);
}

// handle parses an update and draws it; an update that the server could
// not make says why, in the status.
function handle(draw) {
  return (ev) => {
    const u = JSON.parse(ev.data);
    if (u.error) {
      setStatus('error', u.error);
      return;
    }
    draw(u);
    setStatus('live', 'live · updated ' + new Date(u.time).toLocaleTimeString('en-GB'));
  };
}

function connect() {
  const stream = new EventSource('events');
  stream.addEventListener('stats', handle(onStats));
  stream.addEventListener('tasks', handle(onTasks));
  stream.addEventListener('open', () => setStatus('live', 'live'));
  // The browser reconnects by itself, after the delay the server gave,
  // unless the server refused the stream (it is closed).
  stream.addEventListener('error', () => {
    if (stream.readyState === EventSource.CLOSED) setStatus('error', 'the dashboard is closed: reload to try again');
    else setStatus('reconnecting', 'reconnecting…');
  });
}

connect();
