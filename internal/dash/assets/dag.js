// The DAG of the recent tasks, laid out in layers: a task's layer is the
// longest path to it from a task with no input among those shown, and
// layers go from left to right. Within a layer, tasks are ordered by the
// mean position of their inputs, which keeps most edges short and
// uncrossed. Nodes shrink so that the graph fits the panel, and lose
// their labels when these no longer fit: hovering over a node tells what
// it is.

import { svg, clear, shortName, truncate, fmtDuration } from './dom.js';

const PAD = 14, MAX_W = 1150, MAX_H = 480;

function stateText(t) {
  switch (t.state) {
    case 'running': return 'running';
    case 'done': return 'done';
    case 'failed': return t.origin === t.id ? 'failed (its own f)' : 'failed (from task ' + t.origin + ')';
    case 'canceled': return t.origin && t.origin !== t.id ? 'cancelled (from task ' + t.origin + ')' : 'cancelled';
    default: return 'waiting';
  }
}

function tooltip(t, now) {
  const lines = [t.name + '  #' + t.id, stateText(t)];
  if (t.start) {
    const where = t.thread ? 'worker ' + t.worker + ', processor ' + t.thread : 'worker ' + t.worker;
    lines.push('on ' + where);
    lines.push((t.end ? 'ran ' : 'running for ') + fmtDuration((t.end || now) - t.start));
  }
  return lines.join('\n');
}

// layers returns the tasks grouped by layer, each layer in drawing order.
function layers(tasks) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const layerOf = new Map();
  const onPath = new Set();
  const depth = (t) => {
    if (layerOf.has(t.id)) return layerOf.get(t.id);
    if (onPath.has(t.id)) return 0; // a cycle cannot happen; do not loop if it did
    onPath.add(t.id);
    let d = 0;
    for (const id of t.deps || []) {
      const u = byId.get(id);
      if (u) d = Math.max(d, depth(u) + 1);
    }
    onPath.delete(t.id);
    layerOf.set(t.id, d);
    return d;
  };
  const out = [];
  for (const t of tasks) {
    const d = depth(t);
    (out[d] = out[d] || []).push(t);
  }
  const rank = new Map(); // id -> position in its layer, from 0 to 1
  for (const layer of out) {
    const key = new Map(layer.map((t) => {
      const ps = (t.deps || []).filter((id) => rank.has(id)).map((id) => rank.get(id));
      return [t.id, ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : -1];
    }));
    layer.sort((a, b) => key.get(a.id) - key.get(b.id) || a.id - b.id);
    layer.forEach((t, i) => rank.set(t.id, layer.length > 1 ? i / (layer.length - 1) : 0.5));
  }
  return out;
}

function empty(root, text) {
  root.setAttribute('width', 600);
  root.setAttribute('height', 60);
  root.setAttribute('viewBox', '0 0 600 60');
  root.append(svg('text', { class: 'empty', x: 300, y: 34, 'text-anchor': 'middle' }, text));
}

// renderDAG draws update.tasks into root, an <svg>, and says in note which
// tasks these are.
export function renderDAG(root, note, update) {
  clear(root);
  const tasks = update.tasks || [];
  if (!update.log_on) {
    note.textContent = '';
    empty(root, 'The scheduler\u2019s event log is off: the DAG shows while it is on.');
    return;
  }
  if (tasks.length === 0) {
    note.textContent = '';
    empty(root, 'No tasks yet.');
    return;
  }
  note.textContent = tasks.length === update.total
    ? 'all ' + tasks.length + ' tasks of the event log'
    : 'the ' + tasks.length + ' most recent of ' + update.total + ' tasks in the event log';

  // The tallest layer fits MAX_H and the layers fit MAX_W, down to
  // nodes that are still there to hover over; labels go when they no
  // longer fit.
  const grid = layers(tasks);
  const tallest = Math.max(...grid.map((layer) => layer.length));
  const pitch = Math.max(6, Math.min(36, MAX_H / tallest));
  const colW = Math.max(16, Math.min(194, MAX_W / grid.length));
  const nodeH = pitch * 0.72;
  let nodeW = colW * 0.71;
  const labels = nodeW >= 100 && nodeH >= 18 ? 'names' : nodeW >= 40 && nodeH >= 12 ? 'ids' : 'none';
  if (labels === 'ids') nodeW = Math.min(nodeW, 60);
  if (labels === 'none') nodeW = Math.min(nodeW, Math.max(3 * nodeH, 12));
  const fontSize = labels === 'names' ? 11 : Math.min(11, nodeH * 0.75);
  const place = new Map(); // id -> {x, y}
  const height = tallest * pitch;
  const step = Math.min(colW, nodeW + Math.max(56, nodeW * 0.4)); // between layers
  grid.forEach((layer, i) => {
    const top = PAD + (height - layer.length * pitch) / 2;
    layer.forEach((t, j) => place.set(t.id, { x: PAD + i * step, y: top + j * pitch }));
  });
  const W = Math.max(2 * PAD + (grid.length - 1) * step + nodeW, 200), H = height + 2 * PAD;
  root.setAttribute('viewBox', '0 0 ' + W.toFixed(1) + ' ' + H.toFixed(1));
  root.setAttribute('width', W.toFixed(0));
  root.setAttribute('height', H.toFixed(0));

  const edges = svg('g', { class: 'edges' });
  const nodes = svg('g', { class: 'nodes' });
  const ring = Math.min(3, pitch * 0.1);
  for (const t of tasks) {
    const to = place.get(t.id);
    for (const id of t.deps || []) {
      const from = place.get(id);
      if (!from) continue;
      const x1 = from.x + nodeW, y1 = from.y + nodeH / 2, x2 = to.x, y2 = to.y + nodeH / 2;
      const dx = Math.max((x2 - x1) / 2, 4);
      edges.append(svg('path', {
        class: t.state === 'failed' ? 'edge failed' : 'edge',
        'data-from': id, 'data-to': t.id,
        d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`,
      }));
    }
    const origin = t.state === 'failed' && t.origin === t.id;
    let label = null;
    if (labels !== 'none') {
      const text = labels === 'names' ? truncate(shortName(t.name), 15) + ' #' + t.id : '#' + t.id;
      label = svg('text', {
        x: labels === 'names' ? 8 : nodeW / 2, y: nodeH / 2 + fontSize * 0.36, 'font-size': fontSize.toFixed(1),
        'text-anchor': labels === 'names' ? 'start' : 'middle',
      }, text);
    }
    nodes.append(svg('g', {
      class: 'task', 'data-task': t.id, 'data-state': t.state, 'data-origin': origin ? 'true' : null,
      'data-worker': t.worker, transform: `translate(${to.x.toFixed(1)},${to.y.toFixed(1)})`,
    },
    svg('title', null, tooltip(t, update.time)),
    origin ? svg('rect', { class: 'ring', x: -ring, y: -ring, width: nodeW + 2 * ring, height: nodeH + 2 * ring, rx: Math.min(7, nodeH / 3) }) : null,
    svg('rect', { width: nodeW.toFixed(1), height: nodeH.toFixed(1), rx: Math.min(5, nodeH / 4).toFixed(1) }),
    label));
  }
  root.append(edges, nodes);
}
