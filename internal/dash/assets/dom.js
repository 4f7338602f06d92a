// Helpers to build the page's elements and to format numbers. Elements are
// made with createElement and textContent only, so that no task name is
// ever parsed as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null && v !== false) node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return node;
}

// svg makes an SVG element with attributes and children.
export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

// html makes an HTML element with attributes and children.
export function html(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function fmtCount(n) {
  return Number(n || 0).toLocaleString('en-US');
}

export function fmtRate(r) {
  if (!isFinite(r)) return '–';
  if (r >= 100) return Math.round(r).toLocaleString('en-US');
  if (r >= 10) return r.toFixed(1);
  return r.toFixed(2);
}

export function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n || 0);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(v) : v.toFixed(v >= 100 ? 0 : 1)) + ' ' + units[i];
}

export function fmtDuration(ms) {
  if (!isFinite(ms) || ms < 0) return '–';
  if (ms < 1) return (ms * 1000).toFixed(0) + ' µs';
  if (ms < 1000) return ms.toFixed(ms < 10 ? 1 : 0) + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
  const m = Math.floor(s / 60);
  return m + ' min ' + Math.round(s - 60 * m) + ' s';
}

// shortName drops the package path of a function's name:
// "github.com/x/y.(*T).run" becomes "(*T).run", "main.add1" "add1".
export function shortName(name) {
  let n = String(name || '');
  const slash = n.lastIndexOf('/');
  if (slash >= 0) n = n.slice(slash + 1);
  const dot = n.indexOf('.');
  if (dot > 0 && dot < n.length - 1) n = n.slice(dot + 1);
  return n;
}

export function truncate(s, max) {
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

// niceStep returns a round step (1, 2 or 5 times a power of ten) that cuts
// span into about n parts.
export function niceStep(span, n) {
  const raw = span / Math.max(n, 1);
  if (!(raw > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) {
    if (raw <= m * p) return m * p;
  }
  return 10 * p;
}
