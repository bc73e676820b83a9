// memwarden console: plain modern JS over the /v1 API.  The key lives in sessionStorage
// (this tab only) and travels in the Authorization header; text is only ever set with
// textContent, never parsed as HTML.
import { fmt, lineChart } from './chart.js';

const KEY = 'memwarden.key';
const $ = (sel, root = document) => root.querySelector(sel);

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function status(message, kind = 'info') {
  const box = $('#status');
  box.textContent = message;
  box.dataset.kind = kind;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function signOut(reason) {
  sessionStorage.removeItem(KEY);
  const next = location.pathname === '/' ? '' : `?next=${encodeURIComponent(location.pathname)}`;
  if (reason) sessionStorage.setItem('memwarden.reason', reason);
  location.assign(`/${next}`);
}

async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && location.pathname !== '/') {
    signOut('Your key was not accepted (revoked?): sign in again.');
    throw new ApiError(401, 'signed out');
  }
  if (!res.ok) {
    let message = res.statusText;
    try { message = (await res.json()).error.message; } catch { /* not JSON */ }
    if (res.status === 429) message = `Slow down: ${message}`;
    throw new ApiError(res.status, message);
  }
  return raw ? res : res.json();
}

const when = (iso) => (iso ? iso.replace('T', ' ').slice(0, 19) : '');
const badge = (action) => h('span', { class: `badge action-${String(action).toLowerCase()}` }, action);

// -- dialogs ---------------------------------------------------------------------------

function confirmDelete(text, label = 'Delete') {
  const dialog = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = label;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

function section(title, ...content) {
  return h('section', {}, h('h3', {}, title), ...content);
}

function keyValues(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

async function openTrace(episodeId, opener) {
  const dialog = $('#trace-dialog');
  const body = $('#trace-body');
  body.replaceChildren(h('p', {}, 'Loading…'));
  $('#trace-title').textContent = `Why this reply (episode ${episodeId})`;
  if (!dialog.open) dialog.showModal();
  dialog.addEventListener('close', () => opener && opener.focus(), { once: true });
  try {
    const t = await api(`/v1/episodes/${episodeId}/trace`);
    const risk = t.risk || { scores: {}, categories: [] };
    const categories = risk.categories || [];
    body.replaceChildren(
      keyValues([
        ['You said', t.input], ['Reply', t.reply], ['Action', badge(t.action)],
        ['First draft score', fmt(risk.draft_total_score)], ['Final score', fmt(risk.final_score)],
        ['Model', t.llm || '–'], ['When (UTC)', when(t.ts)],
      ]),
      section('Recalled memories', t.recalled.length
        ? h('ol', { class: 'recalled' }, t.recalled.map((m) => h('li', {},
          h('span', { class: 'tag' }, `${m.kind} ${m.id}`), ' ', m.text || '(deleted)',
          h('span', { class: 'muted' }, ` score ${fmt(m.score)}`, m.matched.length ? `, matched: ${m.matched.join(', ')}` : ''))))
        : h('p', { class: 'muted' }, 'Nothing was recalled.')),
      section('Risk scores', h('table', {},
        h('caption', { class: 'visually-hidden' }, 'Risk score per category'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Category'), h('th', { scope: 'col' }, 'Score'), h('th', { scope: 'col' }, 'Flagged'))),
        h('tbody', {}, Object.keys(risk.scores).length
          ? Object.entries(risk.scores).map(([name, score]) => {
            const cat = categories.find((c) => c.category === name);
            const spans = cat ? cat.spans.map((s) => `“${s.text}” (${s.reason})`).join('; ') : '';
            return h('tr', {}, h('td', {}, name), h('td', {}, fmt(score)), h('td', {}, spans || '–'));
          })
          : h('tr', {}, h('td', { colspan: 3 }, 'No category scored.'))))),
      section('Rewrites', t.rewrite_attempts.length
        ? h('ol', {}, t.rewrite_attempts.map((a) => h('li', {},
          `${a.method}: score ${fmt(a.score)}, ${a.action}`, h('blockquote', {}, a.draft || ''))))
        : h('p', { class: 'muted' }, 'The first draft was sent as it was.')),
      section('Drafts', h('ol', {}, t.drafts.map((d) => h('li', {}, d)))),
      section('Timings', h('p', {}, Object.entries(t.timings_ms).map(([k, v]) => `${k} ${fmt(v)} ms`).join(' · ') || '–')),
      ...(t.warnings.length ? [section('Warnings', h('ul', {}, t.warnings.map((w) => h('li', {}, w))))] : []),
    );
  } catch (e) {
    body.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
  }
  $('[data-close]', dialog).focus();
}

// -- pages -----------------------------------------------------------------------------

async function header() {
  const me = await api('/v1/me');
  $('#whoami').textContent = `Signed in as ${me.user_id}${me.admin ? ' (operator)' : ''}`;
  $('#nav').hidden = false;
  $('#nav-ops').hidden = !me.admin;
  const out = $('#signout');
  out.hidden = false;
  out.addEventListener('click', () => signOut());
  return me;
}

function pageSignin() {
  const form = $('#signin-form');
  const error = $('#signin-error');
  const reason = sessionStorage.getItem('memwarden.reason');
  if (reason) { status(reason, 'error'); sessionStorage.removeItem('memwarden.reason'); }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = $('#key').value.trim();
    error.hidden = true;
    sessionStorage.setItem(KEY, key);
    try {
      await api('/v1/me');
      const next = new URLSearchParams(location.search).get('next');
      location.assign(['/chat', '/memory', '/ops'].includes(next) ? next : '/chat');
    } catch (e) {
      sessionStorage.removeItem(KEY);
      error.textContent = e.status === 401 ? 'That key is not valid (unknown or revoked).' : e.message;
      error.hidden = false;
      $('#key').setAttribute('aria-invalid', 'true');
      $('#key').focus();
    }
  });
}

async function refreshSide() {
  const [beliefs, tasks] = await Promise.all([api('/v1/beliefs?limit=50'), api('/v1/tasks?status=open')]);
  $('#belief-panel').replaceChildren(...(beliefs.items.length
    ? beliefs.items.map((b) => h('li', { 'data-belief': b.id }, b.statement, h('span', { class: 'muted' }, ` (${fmt(b.confidence)})`)))
    : [h('li', { class: 'muted' }, 'Nothing yet: tell it about yourself.')]));
  $('#task-panel').replaceChildren(...(tasks.items.length
    ? tasks.items.map((t) => h('li', {}, t.title))
    : [h('li', { class: 'muted' }, 'No open tasks.')]));
}

function pageChat() {
  const form = $('#chat-form');
  const input = $('#chat-input');
  const log = $('#chat-log');
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const send = $('#chat-send');
    send.disabled = true;
    log.append(h('li', { class: 'msg you' }, h('span', { class: 'who' }, 'You'), h('p', {}, text)));
    try {
      const r = await api('/v1/turns', { method: 'POST', body: { text } });
      input.value = '';
      const learned = r.beliefs.map((b) => h('li', {}, `${b.change === 'created' ? 'Learned' : b.change === 'updated' ? 'Updated' : 'Confirmed'}: ${b.statement}`));
      const tasks = r.tasks.map((t) => h('li', {}, `Task: ${t.title}`));
      const why = r.episode_id !== null
        ? h('button', { type: 'button', class: 'link', 'data-trace': r.episode_id, onclick: (e) => openTrace(r.episode_id, e.currentTarget) }, 'Why this reply?')
        : null;
      log.append(h('li', { class: 'msg agent', 'data-episode': r.episode_id ?? '' },
        h('span', { class: 'who' }, 'memwarden'), h('p', { class: 'reply' }, r.reply),
        h('div', { class: 'meta' }, r.command ? h('span', { class: 'tag' }, r.command) : badge(r.action),
          r.episode_id !== null ? ` score ${fmt(r.draft_total_score)} · episode ${r.episode_id} ` : ' ', why),
        learned.length || tasks.length ? h('ul', { class: 'learned' }, learned, tasks) : null));
      await refreshSide();
    } catch (e) {
      status(e.message, 'error');
    } finally {
      send.disabled = false;
      input.focus();
      log.lastElementChild?.scrollIntoView({ block: 'end' });
    }
  });
  refreshSide().catch((e) => status(e.message, 'error'));
  input.focus();
}

async function removeAfterConfirm(kind, id, row) {
  if (!await confirmDelete(`Delete ${kind} ${id} for good? This cannot be undone.`)) return;
  try {
    await api(`/v1/${kind === 'episode' ? 'episodes' : 'beliefs'}/${id}`, { method: 'DELETE' });
    row.remove();
    status(`${kind[0].toUpperCase()}${kind.slice(1)} ${id} deleted.`, 'ok');
    if (kind === 'episode') loadBeliefs();
  } catch (e) {
    status(e.message, 'error');
  }
}

let episodeCursor = null;
async function loadEpisodes(append = false) {
  const q = $('#episode-q').value.trim();
  const params = new URLSearchParams({ limit: '25' });
  if (q) params.set('q', q);
  if (append && episodeCursor) params.set('before', String(episodeCursor));
  const page = await api(`/v1/episodes?${params}`);
  const tbody = $('#episode-table tbody');
  const rows = page.items.map((e) => {
    const row = h('tr', { 'data-episode': e.id },
      h('td', {}, e.id), h('td', {}, when(e.ts)), h('td', {}, e.user_input), h('td', {}, e.reply),
      h('td', {}, badge(e.action)), h('td', {}, fmt(e.draft_total_score)));
    row.append(h('td', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', 'aria-label': `Trace of episode ${e.id}`, onclick: (ev) => openTrace(e.id, ev.currentTarget) }, 'Trace'),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Delete episode ${e.id}`, onclick: () => removeAfterConfirm('episode', e.id, row) }, 'Delete')));
    return row;
  });
  if (append) tbody.append(...rows); else tbody.replaceChildren(...rows);
  episodeCursor = page.next_before;
  $('#episode-more').hidden = episodeCursor === null;
  $('#episode-empty').hidden = tbody.children.length > 0;
}

async function loadBeliefs() {
  const q = $('#belief-q').value.trim();
  const page = await api(`/v1/beliefs${q ? `?q=${encodeURIComponent(q)}` : ''}`);
  const list = $('#belief-list');
  list.replaceChildren(...page.items.map((b) => {
    const item = h('li', { class: 'card', 'data-belief': b.id },
      h('p', { class: 'statement' }, b.statement),
      h('p', { class: 'muted' }, `${b.key} = ${b.value} · confidence ${fmt(b.confidence)} · version ${b.version} · from episodes ${b.sources.join(', ') || '–'}`),
      h('details', {}, h('summary', {}, `History (${b.history.length})`),
        h('ol', {}, b.history.map((x) => h('li', {}, `${when(x.ts)}: ${x.change} ${x.old_value ? `${x.old_value} → ` : ''}${x.new_value}${x.episode_id ? ` (episode ${x.episode_id})` : ''}`)))));
    item.append(h('button', { type: 'button', class: 'danger', 'aria-label': `Delete belief ${b.id}: ${b.statement}`, onclick: () => removeAfterConfirm('belief', b.id, item) }, 'Delete'));
    return item;
  }));
  $('#belief-empty').hidden = page.items.length > 0;
}

async function showTaskEvents(task, opener) {
  const box = $('#task-events');
  const report = await api(`/v1/tasks/${task.id}/events`);
  box.replaceChildren(h('h3', {}, `Events of task ${task.id}: ${task.title}`),
    h('ol', {}, report.events.map((e) => h('li', {}, `${when(e.ts)}: ${e.event}${e.episode_id ? ` (episode ${e.episode_id})` : ''}`))),
    h('button', { type: 'button', class: 'secondary', onclick: () => { box.hidden = true; opener.focus(); } }, 'Close events'));
  box.hidden = false;
  box.focus();
}

async function loadTasks() {
  const page = await api('/v1/tasks');
  const tbody = $('#task-table tbody');
  tbody.replaceChildren(...page.items.map((t) => h('tr', { 'data-task': t.id },
    h('td', {}, t.id), h('td', {}, t.title), h('td', {}, t.status), h('td', {}, when(t.created_at)),
    h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Events of task ${t.id}`, onclick: (ev) => showTaskEvents(t, ev.currentTarget).catch((e) => status(e.message, 'error')) }, 'Events')))));
  $('#task-empty').hidden = page.items.length > 0;
}

async function download() {
  status('Preparing your export…');
  const res = await api('/v1/memory/export', { raw: true });
  const blob = await res.blob();
  const match = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
  const link = h('a', { href: URL.createObjectURL(blob), download: match ? match[1] : 'memwarden-export.json' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  status(`Export downloaded (${(blob.size / 1024).toFixed(1)} KiB).`, 'ok');
}

function pageMemory() {
  const guard = (fn) => (...args) => fn(...args).catch((e) => status(e.message, 'error'));
  $('#episode-search').addEventListener('submit', (e) => { e.preventDefault(); guard(loadEpisodes)(false); });
  $('#belief-search').addEventListener('submit', (e) => { e.preventDefault(); guard(loadBeliefs)(); });
  $('#episode-more').addEventListener('click', () => guard(loadEpisodes)(true));
  $('#export-btn').addEventListener('click', guard(download));
  return Promise.all([loadEpisodes(), loadBeliefs(), loadTasks()]).then(() => status('Memory loaded.'));
}

const LEVELS = { OK: 'ok', INFO: 'info', WARNING: 'warning', CRITICAL: 'critical' };

async function loadOps() {
  const window = $('#ops-window').value;
  const [report, series] = await Promise.all([
    api(`/v1/ops/health?window=${window}`),
    api(`/v1/ops/timeseries?window=${window}&buckets=24`),
  ]);
  $('#overall').replaceChildren(h('span', { class: `level ${LEVELS[report.status]}` }, report.status),
    report.rollback_recommended ? ` ROLLBACK RECOMMENDED: ${report.rollback_reasons.join('; ')}` : ' overall status');
  $('#health-table tbody').replaceChildren(...report.metrics.map((m) => h('tr', { 'data-metric': m.id },
    h('th', { scope: 'row' }, m.title), h('td', {}, m.value === null ? '–' : `${fmt(m.value)}${m.unit ? ` ${m.unit}` : ''}`),
    h('td', {}, m.target), h('td', {}, m.alert),
    h('td', {}, h('span', { class: `level ${LEVELS[m.status]}` }, m.status)),
    h('td', {}, m.samples ?? '–'), h('td', { class: 'muted' }, m.note || (m.matched || []).join('; ')))));
  const pts = series.points;
  const charts = [
    ['#chart-gate', 'Risk gate score (benign turns)', [
      { key: 'gate_mean', label: 'mean', colour: '#1f5fbf' }, { key: 'gate_max', label: 'max', colour: '#8a3ffc', dash: '6 4' }], series.alerts.gate_score, ''],
    ['#chart-episodes', 'Episodes per hour', [{ key: 'episodes_per_hour', label: 'episodes/h', colour: '#0b6e4f' }], series.alerts.episode_rate, '/h'],
    ['#chart-latency', 'Governance latency', [
      { key: 'governance_p50_ms', label: 'p50', colour: '#1f5fbf' }, { key: 'governance_p95_ms', label: 'p95', colour: '#b3261e', dash: '6 4' }], series.alerts.governance_latency, ' ms'],
  ];
  for (const [sel, title, lines, alerts, unit] of charts) {
    const figure = $(sel);
    figure.querySelectorAll('svg, details').forEach((n) => n.remove());
    figure.querySelector('figcaption').after(lineChart({ title, points: pts, series: lines, alerts, unit }));
    figure.append(h('details', {}, h('summary', {}, 'Data'), h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'From (UTC)'), lines.map((l) => h('th', { scope: 'col' }, l.label)))),
      h('tbody', {}, pts.map((p) => h('tr', {}, h('td', {}, when(p.start)), lines.map((l) => h('td', {}, fmt(p[l.key])))))))));
  }
  status(`Dashboard updated (${when(report.end)} UTC).`);
}

function pageOps(me) {
  if (!me.admin) { status('The operator dashboard needs an admin key.', 'error'); return; }
  const guard = (fn) => () => fn().catch((e) => status(e.message, 'error'));
  $('#ops-form').addEventListener('submit', (e) => { e.preventDefault(); guard(loadOps)(); });
  $('#ops-window').addEventListener('change', guard(loadOps));
  $('#backup-btn').addEventListener('click', guard(async () => {
    status('Backing up…');
    const r = await api('/v1/ops/backup', { method: 'POST', body: {} });
    status(`Backup written: ${r.path} (${(r.bytes / 1024).toFixed(0)} KiB, sha256 ${r.sha256.slice(0, 12)}…)`, 'ok');
  }));
  return loadOps();
}

async function main() {
  $('#trace-dialog [data-close]').addEventListener('click', () => $('#trace-dialog').close());
  const page = document.body.dataset.page;
  if (page === 'signin') { pageSignin(); return; }
  if (!sessionStorage.getItem(KEY)) { signOut(); return; }
  try {
    const me = await header();
    if (page === 'chat') pageChat();
    if (page === 'memory') await pageMemory();
    if (page === 'ops') await pageOps(me);
    document.body.dataset.ready = 'true';
  } catch (e) {
    status(e.message, 'error');
  }
}

main();
