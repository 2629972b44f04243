// The status page's script: polls the admin API and draws what it answers. Plain browser
// JavaScript, served as is (no build step).
//
// Every text from the API (table names may contain anything) goes into the page through
// textContent or attribute values, never as markup: `el` (dom.js) is the only way this file makes
// elements.

import { $, el } from './dom.js';

const REFRESH_MS = 3_000;
const HISTORY_LIMIT = 200;
// The lag charts show at most this much of the server's history.
const CHART_SPAN_MS = 30 * 60_000;


// --- formatting -------------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, '0');

function formatDuration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${pad(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} m`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

function formatTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const clock = (ms) => formatTime(ms).slice(11);

/** `ns.t` for a table, `ns` for a namespace (what the admin API's `table` parameter takes). */
const entityName = (e) => [...e.namespace, ...(e.name === undefined ? [] : [e.name])].join('.');

// --- the API ------------------------------------------------------------------------------------------

// The server's clock minus the browser's, from each answer's Date header: ages are computed
// against the server's time, so a browser with a wrong clock still shows the right lag.
let skewMs = 0;
const serverNow = () => Date.now() + skewMs;

async function api(path, init) {
  // Relative: the page may be served under a path prefix by a reverse proxy.
  const response = await fetch(path, { ...init, headers: { accept: 'application/json', ...(init?.body ? { 'content-type': 'application/json' } : {}) } });
  const date = Date.parse(response.headers.get('date') ?? '');
  if (!Number.isNaN(date)) skewMs = date + 500 - Date.now(); // the header has whole seconds
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new Error(`${response.status} from ${path}: ${text.slice(0, 200)}`);
  }
  if (!response.ok) throw new Error(body?.error?.message ?? `${response.status} from ${path}`);
  return body;
}

// --- state --------------------------------------------------------------------------------------------

const page = {
  status: null,
  samples: [],
  historyIntervalMs: 5_000,
  history: null, // { table, events, error }
  filter: '',
  problemsOnly: false,
};

// --- destination cards (summary, lag chart, pause/resume of the whole destination) -------------------

function lagChart(destination, nowMs) {
  const width = 320;
  const height = 96;
  const left = 44;
  const bottom = 16;
  const top = 6;
  const plotW = width - left - 6;
  const plotH = height - top - bottom;
  const points = page.samples
    .filter((s) => s.atMs >= nowMs - CHART_SPAN_MS)
    .map((s) => ({ atMs: s.atMs, lag: s.destinations.find((d) => d.destination === destination)?.lagMs }))
    .filter((p) => p.lag !== undefined);
  const svg = el('svg', { svg: true, viewBox: `0 0 ${width} ${height}`, className: 'chart', role: 'img', 'aria-label': `Lag of ${destination} over time` });
  if (points.length === 0) {
    svg.append(el('text', { svg: true, x: width / 2, y: height / 2, 'text-anchor': 'middle', className: 'chart-empty', text: 'collecting samples…' }));
    return svg;
  }
  const startMs = Math.min(points[0].atMs, nowMs - 60_000);
  const spanMs = Math.max(nowMs - startMs, 1);
  const maxLag = niceCeiling(Math.max(...points.map((p) => p.lag), 10_000));
  const x = (ms) => left + ((ms - startMs) / spanMs) * plotW;
  const y = (lag) => top + plotH - (lag / maxLag) * plotH;
  for (const fraction of [0, 0.5, 1]) {
    const gy = y(maxLag * fraction);
    svg.append(el('line', { svg: true, x1: left, x2: left + plotW, y1: gy, y2: gy, className: 'chart-grid' }));
    svg.append(el('text', { svg: true, x: left - 6, y: gy + 3, 'text-anchor': 'end', className: 'chart-label', text: formatDuration(maxLag * fraction) }));
  }
  svg.append(el('text', { svg: true, x: left, y: height - 3, className: 'chart-label', text: clock(startMs) }));
  svg.append(el('text', { svg: true, x: left + plotW, y: height - 3, 'text-anchor': 'end', className: 'chart-label', text: 'now' }));
  // Samples further apart than a few intervals were not taken (nobody watched): the line breaks there.
  const runs = [];
  for (const p of points) {
    const run = runs.at(-1);
    if (run && p.atMs - run.at(-1).atMs <= page.historyIntervalMs * 3) run.push(p);
    else runs.push([p]);
  }
  for (const run of runs) {
    const line = run.map((p) => `${x(p.atMs).toFixed(1)},${y(p.lag).toFixed(1)}`);
    if (run.length === 1) {
      svg.append(el('circle', { svg: true, cx: x(run[0].atMs), cy: y(run[0].lag), r: 2, className: 'chart-line-dot' }));
      continue;
    }
    const base = y(0).toFixed(1);
    svg.append(el('path', { svg: true, d: `M${x(run[0].atMs).toFixed(1)},${base}L${line.join('L')}L${x(run.at(-1).atMs).toFixed(1)},${base}Z`, className: 'chart-area' }));
    svg.append(el('polyline', { svg: true, points: line.join(' '), className: 'chart-line' }));
  }
  const last = points.at(-1);
  svg.append(el('circle', { svg: true, cx: x(last.atMs), cy: y(last.lag), r: 2.5, className: 'chart-line-dot' }, el('title', { svg: true, text: `${formatDuration(last.lag)} at ${clock(last.atMs)}` })));
  return svg;
}

/** 1, 2 or 5 times a power of ten (in seconds), at least `ms`: round numbers on the axis. */
function niceCeiling(ms) {
  const s = ms / 1000;
  const power = 10 ** Math.floor(Math.log10(s));
  const step = [1, 2, 5, 10].find((m) => m * power >= s);
  return step * power * 1000;
}

function renderDestinations(status, nowMs) {
  const container = $('destinations');
  if (status.destinations.length === 0) {
    container.replaceChildren(el('p', { className: 'empty', text: 'No replication is configured: this Icerelay records commits but ships them nowhere.' }));
    return;
  }
  const rowsByDestination = new Map(status.destinations.map((d) => [d, status.tables.filter((t) => t.destination === d)]));
  for (const summary of status.summary) {
    const { destination } = summary;
    let card = container.querySelector(`[data-destination="${CSS.escape(destination)}"]`);
    if (!card) {
      card = el('article', { className: 'card', 'data-destination': destination },
        el('header', {},
          el('h3', { text: destination }),
          el('div', { className: 'actions' },
            el('button', { type: 'button', 'data-action': 'pause-destination', 'aria-label': `Pause every table at ${destination}`, text: 'Pause all', onClick: (e) => act(e.currentTarget, 'pause', { destination }) }),
            el('button', { type: 'button', 'data-action': 'resume-destination', 'aria-label': `Resume every table at ${destination}`, text: 'Resume all', onClick: (e) => act(e.currentTarget, 'resume', { destination }) }),
          ),
        ),
        el('div', { className: 'counts' }),
        el('div', { className: 'lag-now' }),
        el('div', { className: 'chart-box' }),
      );
      container.append(card);
    }
    const rows = rowsByDestination.get(destination) ?? [];
    const oldest = Math.min(...rows.map((r) => r.oldestPendingAtMs ?? Infinity));
    const behind = rows.reduce((n, r) => n + r.eventsBehind, 0);
    card.querySelector('.counts').replaceChildren(
      ...['completed', 'pending', 'paused', 'failed', 'promoted'].map((state) =>
        el('span', { className: `count state-${state}${summary[state] === 0 ? ' zero' : ''}` }, el('b', { text: summary[state] }), ` ${state}`)),
    );
    card.querySelector('.lag-now').replaceChildren(
      el('span', { className: 'muted', text: 'lag ' }),
      el('b', { text: Number.isFinite(oldest) ? formatDuration(nowMs - oldest) : 'none' }),
      el('span', { className: 'muted', text: ` · ${behind} commit${behind === 1 ? '' : 's'} behind` }),
    );
    card.querySelector('.chart-box').replaceChildren(lagChart(destination, nowMs));
  }
}

// --- the tables x destinations table ------------------------------------------------------------------

/**
 * Updates a row's cells in place: a cell is rebuilt only when what it shows changed, so a button
 * is not replaced under the pointer by a refresh that changed nothing about it.
 */
function patchCells(tr, cells) {
  cells.forEach((cell, i) => {
    let td = tr.children[i];
    if (!td) {
      td = el('td');
      tr.append(td);
    }
    if (td.dataset.sig === cell.sig) return;
    td.dataset.sig = cell.sig;
    td.className = cell.className ?? '';
    td.replaceChildren(...cell.content().filter((c) => c !== null && c !== undefined));
  });
}

function stateCell(row) {
  const notes = [];
  if (row.shipping) {
    const copy = row.shipping.copy;
    notes.push(copy && copy.bytesTotal > 0 ? `copying ${Math.floor((copy.bytesDone / copy.bytesTotal) * 100)} %` : 'shipping');
  }
  if (row.attempts > 0 && row.state !== 'completed') notes.push(`${row.attempts} failed attempt${row.attempts === 1 ? '' : 's'}`);
  return {
    sig: `${row.state}|${notes.join()}`,
    content: () => [el('span', { className: `badge state-${row.state}`, text: row.state }), ...notes.map((n) => el('div', { className: 'note', text: n }))],
  };
}

function actionCell(row, table) {
  if (row.entity.name === undefined) return { sig: 'namespace', content: () => [] };
  // A promoted (failed-over) replica takes writes itself: pausing or resuming its replication means nothing.
  if (row.state === 'promoted') return { sig: 'promoted', content: () => [] };
  const resume = row.state === 'paused' || row.state === 'failed';
  const label = row.state === 'failed' ? 'Retry' : resume ? 'Resume' : 'Pause';
  const action = resume ? 'resume' : 'pause';
  return {
    sig: `${action}|${label}`,
    className: 'actions',
    content: () => [el('button', {
      type: 'button', 'data-action': action, text: label, 'aria-label': `${label} ${table} at ${row.destination}`,
      onClick: (e) => act(e.currentTarget, action, { destination: row.destination, table }),
    })],
  };
}

function rowCells(row, firstOfTable, nowMs) {
  const table = entityName(row.entity);
  const isNamespace = row.entity.name === undefined;
  const lag = row.oldestPendingAtMs === null ? null : formatDuration(nowMs - row.oldestPendingAtMs);
  const bytes = row.bytesPending === null ? (row.eventsBehind > 0 ? 'unknown' : '—') : formatBytes(row.bytesPending);
  const replicatedAgo = row.completedAtMs === null ? null : `${formatDuration(nowMs - row.completedAtMs)} ago`;
  return [
    {
      sig: `${firstOfTable}`,
      className: 'name',
      content: () => (firstOfTable
        ? [isNamespace
          ? el('span', { className: 'entity' }, table, el('span', { className: 'muted', text: ' (namespace)' }))
          : el('button', { type: 'button', className: 'link entity', 'data-action': 'history', title: `Show the history of ${table}`, text: table, onClick: () => openHistory(table) })]
        : []),
    },
    { sig: '', className: 'destination', content: () => [row.destination] },
    stateCell(row),
    { sig: lag ?? '', className: 'num', content: () => [lag ?? el('span', { className: 'muted', text: '—' })] },
    { sig: `${row.eventsBehind}`, className: `num${row.eventsBehind ? '' : ' muted'}`, content: () => [String(row.eventsBehind)] },
    { sig: `${row.snapshotsBehind}`, className: `num${row.snapshotsBehind ? '' : ' muted'}`, content: () => [String(row.snapshotsBehind)] },
    {
      sig: bytes, className: `num${row.bytesPending ? '' : ' muted'}`,
      content: () => [el('span', { title: bytes === 'unknown' ? 'Known once its files are being copied' : undefined, text: bytes })],
    },
    {
      sig: `${replicatedAgo}|${row.lastReplicated?.snapshotId}`,
      className: 'replicated',
      content: () => (replicatedAgo === null && !row.lastReplicated
        ? [el('span', { className: 'muted', text: 'never' })]
        : [
          el('div', { text: replicatedAgo ?? '' }),
          row.lastReplicated?.snapshotId ? el('div', { className: 'mono muted', title: row.lastReplicated.metadataLocation, text: `snapshot ${row.lastReplicated.snapshotId}` }) : null,
        ]),
    },
    {
      sig: row.lastError ?? '',
      className: 'error',
      content: () => (row.lastError === null ? [] : [el('div', { className: 'error-text', title: 'Click to show it all', text: row.lastError, onClick: (e) => e.currentTarget.classList.toggle('expanded') })]),
    },
    actionCell(row, table),
  ];
}

function visibleRows(status) {
  const needle = page.filter.trim().toLowerCase();
  const order = new Map(status.destinations.map((d, i) => [d, i]));
  const rows = status.tables.map((row) => ({ row, table: entityName(row.entity) }));
  // A table with a problem at any destination is shown at all of them.
  // A promoted row is a decision taken, not a problem.
  const problems = new Set(rows.filter(({ row }) => row.state !== 'completed' && row.state !== 'promoted').map(({ table }) => table));
  return rows
    .filter(({ table }) => !needle || table.toLowerCase().includes(needle))
    .filter(({ table }) => !page.problemsOnly || problems.has(table))
    .sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : (order.get(a.row.destination) ?? 0) - (order.get(b.row.destination) ?? 0)));
}

function renderRows(status, nowMs) {
  const tbody = $('rows');
  const existing = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
  const wanted = visibleRows(status);
  const keep = new Set();
  let previousTable;
  wanted.forEach(({ row, table }, i) => {
    const key = JSON.stringify([table, row.destination]);
    keep.add(key);
    let tr = existing.get(key);
    if (!tr) tr = el('tr', { 'data-key': key, 'data-table': table, 'data-destination': row.destination });
    const first = table !== previousTable;
    previousTable = table;
    tr.className = `row-${row.state}${first ? ' first-of-table' : ''}`;
    tr.dataset.state = row.state;
    patchCells(tr, rowCells(row, first, nowMs));
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
  });
  for (const [key, tr] of existing) if (!keep.has(key)) tr.remove();
  const empty = $('empty');
  empty.hidden = wanted.length > 0;
  empty.textContent = status.tables.length === 0
    ? 'No table has been written through this Icerelay yet.'
    : 'No table matches the filter.';
}

// --- a table's history (its outbox events) ------------------------------------------------------------

async function openHistory(table) {
  page.history = { table, events: null, error: null };
  renderHistory();
  $('history').hidden = false;
  await loadHistory();
  $('history-close').focus();
}

async function loadHistory() {
  const shown = page.history;
  if (!shown) return;
  try {
    const body = await api(`admin/v1/outbox?table=${encodeURIComponent(shown.table)}&limit=${HISTORY_LIMIT}`);
    shown.events = body.events;
    shown.error = null;
  } catch (error) {
    shown.error = error.message;
  }
  if (page.history === shown) renderHistory();
}

function closeHistory() {
  page.history = null;
  $('history').hidden = true;
}

function renderHistory() {
  const shown = page.history;
  if (!shown) return;
  $('history-title').replaceChildren('History of ', el('span', { className: 'mono', text: shown.table }));
  const rows = (page.status?.tables ?? []).filter((r) => entityName(r.entity) === shown.table);
  $('history-positions').replaceChildren(...rows.map((r) =>
    el('span', { className: `position state-${r.state}` }, `${r.destination}: `, el('b', { text: r.position }), ` of ${r.latestSequence} applied`)));
  const body = $('history-body');
  if (shown.error) {
    body.replaceChildren(el('p', { className: 'banner-inline', text: `Could not read the history: ${shown.error}` }));
    return;
  }
  if (!shown.events) {
    body.replaceChildren(el('p', { className: 'muted', text: 'loading…' }));
    return;
  }
  if (shown.events.length === 0) {
    body.replaceChildren(el('p', { className: 'muted', text: 'No recorded commit.' }));
    return;
  }
  const newestFirst = [...shown.events].reverse();
  body.replaceChildren(
    el('p', { className: 'muted', text: `${shown.events.length} newest event${shown.events.length === 1 ? '' : 's'}, newest first.` }),
    el('table', { className: 'events' },
      el('thead', {}, el('tr', {}, ...['Seq', 'Time', 'Kind', 'Outcome', 'Snapshots added', 'Metadata location', 'Replicated to'].map((h) => el('th', { text: h })))),
      el('tbody', {}, ...newestFirst.map((event) => el('tr', { 'data-sequence': event.sequence },
        el('td', { className: 'num', text: event.sequence }),
        el('td', { className: 'nowrap', text: formatTime(event.createdAtMs) }),
        el('td', { className: 'nowrap', text: event.kind }),
        el('td', {}, el('span', { className: `badge outcome-${event.status}`, text: event.status })),
        el('td', { className: 'mono' }, ...(event.addedSnapshotIds.length ? event.addedSnapshotIds.map((id) => el('div', { text: id })) : [el('span', { className: 'muted', text: '—' })])),
        el('td', { className: 'mono location', text: event.metadataLocation ?? '—' }),
        el('td', {}, ...rows.map((r) => {
          const applied = event.sequence <= r.position;
          // Rejected and unsettled events are never shipped: only committed ones wait.
          const label = applied ? '✓' : event.status === 'committed' ? 'pending' : 'not shipped';
          return el('div', { className: `applied ${applied ? 'yes' : 'no'}` }, `${r.destination} `, el('span', { text: label }));
        })),
      ))),
    ),
  );
}

// --- actions ------------------------------------------------------------------------------------------

async function act(button, action, target) {
  button.disabled = true;
  try {
    await api(`admin/v1/replication/${action}`, { method: 'POST', body: JSON.stringify(target) });
    showBanner(null);
  } catch (error) {
    showBanner(`Could not ${action} ${target.table ?? 'every table'} at ${target.destination}: ${error.message}`);
  } finally {
    button.disabled = false;
  }
  await refresh();
}

function showBanner(message) {
  const banner = $('banner');
  banner.hidden = message === null;
  banner.textContent = message ?? '';
}

// --- the refresh loop ---------------------------------------------------------------------------------

let refreshing = null;

/** One refresh at a time; a caller during one waits for it and then gets a fresh one. */
async function refresh() {
  while (refreshing) await refreshing;
  refreshing = (async () => {
    try {
      const since = page.samples.at(-1)?.atMs;
      const [status, lag] = await Promise.all([
        api('admin/v1/replication/status'),
        api(`admin/v1/replication/lag-history${since === undefined ? '' : `?since=${since}`}`),
      ]);
      page.status = status;
      page.historyIntervalMs = lag.intervalMs;
      page.samples.push(...lag.samples);
      if (page.samples.length > lag.capacity) page.samples.splice(0, page.samples.length - lag.capacity);
      render();
      if ($('banner').dataset.kind === 'offline') {
        $('banner').dataset.kind = '';
        showBanner(null);
      }
      $('refresh').textContent = `updated ${clock(Date.now())} · every ${REFRESH_MS / 1000} s`;
      await loadHistory();
    } catch (error) {
      showBanner(`Cannot read the replication status: ${error.message}`);
      $('banner').dataset.kind = 'offline';
    }
  })();
  try {
    await refreshing;
  } finally {
    refreshing = null;
  }
}

function render() {
  if (!page.status) return;
  const nowMs = serverNow();
  renderDestinations(page.status, nowMs);
  renderRows(page.status, nowMs);
}

async function loop() {
  await refresh();
  setTimeout(loop, REFRESH_MS);
}

$('filter').addEventListener('input', (e) => {
  page.filter = e.currentTarget.value;
  render();
});
$('problems').addEventListener('change', (e) => {
  page.problemsOnly = e.currentTarget.checked;
  render();
});
$('history-close').addEventListener('click', closeHistory);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && page.history) closeHistory();
});

void loop();
