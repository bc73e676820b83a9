// A small line chart as inline SVG: no library, no network, works under a strict CSP
// (only attributes, no inline styles).  Gaps (null values) break the line.

const NS = 'http://www.w3.org/2000/svg';
let serial = 0;

function el(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(value) {
  if (value === null || value === undefined) return '–';
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(abs >= 1 ? 2 : 3).replace(/\.?0+$/, '') || '0';
}

function timeLabel(iso) {
  const d = new Date(iso + (iso.endsWith('Z') ? '' : 'Z'));
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

/**
 * lineChart({title, points, series: [{key, label, colour, dash}], alerts: [{value, level, op}], unit})
 * returns an <svg role="img"> with a <title> and a <desc> that says the figures in words.
 */
export function lineChart({ title, points, series, alerts = [], unit = '' }) {
  const W = 640, H = 230, L = 56, R = 18, T = 18, B = 58;
  const values = series.flatMap((s) => points.map((p) => p[s.key])).filter((v) => v !== null && v !== undefined);
  const dataMax = values.length ? Math.max(...values) : 0;
  const above = alerts.map((a) => a.value).filter((v) => v > dataMax);
  let top = Math.max(dataMax * 1.15, above.length ? Math.min(...above) * 1.1 : 0);
  if (!(top > 0)) top = 1;
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const x = (i) => L + (W - L - R) * (points.length <= 1 ? 0.5 : i / (points.length - 1));

  const id = `chart-${++serial}`;
  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart-svg',
    'aria-labelledby': `${id}-title ${id}-desc`,
  });
  svg.append(el('title', { id: `${id}-title` }, title));
  const latest = series.map((s) => {
    const last = [...points].reverse().find((p) => p[s.key] !== null && p[s.key] !== undefined);
    return `${s.label} latest ${last ? fmt(last[s.key]) + unit : 'no data'}`;
  });
  svg.append(el('desc', { id: `${id}-desc` },
    `${points.length} points; highest ${fmt(dataMax)}${unit}; ${latest.join('; ')}.`));

  // Grid and y labels.
  for (const fraction of [0, 0.5, 1]) {
    const v = top * fraction;
    svg.append(el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    svg.append(el('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmt(v)));
  }
  // x labels: first, middle, last bucket start (UTC).
  const marks = points.length > 2 ? [0, Math.floor((points.length - 1) / 2), points.length - 1] : points.map((_, i) => i);
  for (const i of marks) {
    svg.append(el('text', { x: x(i), y: H - B + 18, 'text-anchor': 'middle', class: 'tick' }, timeLabel(points[i].start)));
  }

  // Alert lines inside the range, one per value.
  const seen = new Set();
  for (const a of alerts) {
    if (a.value > top || seen.has(a.value)) continue;
    seen.add(a.value);
    const cls = a.level === 'CRITICAL' ? 'alert critical' : a.level === 'WARNING' ? 'alert warning' : 'alert info';
    svg.append(el('line', { x1: L, x2: W - R, y1: y(a.value), y2: y(a.value), class: cls }));
    svg.append(el('text', { x: W - R - 2, y: y(a.value) - 3, 'text-anchor': 'end', class: `tick ${cls}` },
      `${a.level.toLowerCase()} ${a.op} ${fmt(a.value)}`));
  }

  // Series: a path broken at gaps, and a dot per point.
  series.forEach((s, n) => {
    let d = '';
    let pen = false;
    points.forEach((p, i) => {
      const v = p[s.key];
      if (v === null || v === undefined) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    });
    const g = el('g', { class: `series series-${n}` });
    if (d) g.append(el('path', { d: d.trim(), fill: 'none', stroke: s.colour, 'stroke-width': 2, 'stroke-dasharray': s.dash || 'none' }));
    points.forEach((p, i) => {
      const v = p[s.key];
      if (v !== null && v !== undefined) g.append(el('circle', { cx: x(i), cy: y(v), r: 2.5, fill: s.colour }));
    });
    svg.append(g);
    // Legend
    const lx = L + n * 170;
    svg.append(el('line', { x1: lx, x2: lx + 22, y1: H - 12, y2: H - 12, stroke: s.colour, 'stroke-width': 3, 'stroke-dasharray': s.dash || 'none' }));
    svg.append(el('text', { x: lx + 28, y: H - 8, class: 'legend' }, s.label));
  });
  return svg;
}

export { fmt, timeLabel };
