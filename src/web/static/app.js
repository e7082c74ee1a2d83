// The buildctl dashboard: draws what `buildctl serve` pushes (server-sent events on /events,
// one event per channel: the JSON documents of status, check, job list, lock list, msg list,
// log and metrics). Plain script, no build step, no library; formatAge, formatTime and plural
// are the CLI's own (src/domain/format.ts), put in after 'use strict' by the server as it
// serves this file. Everything from the store is put in the page as text (textContent),
// never as HTML: a message body is anybody's words.
'use strict';

const data = { fleet: null, check: null, jobs: null, locks: null, messages: null, log: null, metrics: null, meta: null };
/** Server clock minus ours, from the last meta event: ages are measured on the server's clock. */
let clockOffset = 0;
let connected = false;
let lastEventAt = 0;

// ---- DOM helpers ----

const h = (tag, attrs, ...children) => {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'onclick' || key === 'onchange' || key === 'oninput') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
};
const append = (el, children) => {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
};
const SVG = 'http://www.w3.org/2000/svg';
const s = (tag, attrs, ...children) => {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children) if (child) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
};

// ---- time and numbers (formatAge, formatTime and plural come from the CLI: server.ts puts them in) ----

const serverNow = () => Date.now() + clockOffset;
const ago = (iso) => (iso ? `${formatAge(serverNow() - Date.parse(iso))} ago` : '-');
const until = (iso) => {
  const ms = Date.parse(iso) - serverNow();
  return ms > 0 ? `in ${formatAge(ms)}` : `${formatAge(-ms)} ago`;
};
const round1 = (v) => Math.round(v * 10) / 10;
const timeEl = (iso, text) => h('time', { datetime: iso, title: formatTime(iso) }, text ?? formatTime(iso));

// ---- charts: SVG, drawn here (a few dozen lines; no library to vendor) ----

const sparkline = (values, range) => {
  const width = 80, height = 18;
  if (values.length < 2) return h('span', { class: 'muted' }, '');
  const min = range ? range[0] : Math.min(...values);
  const max = range ? range[1] : Math.max(...values);
  const span = max - min || 1;
  const points = values.map((v, i) => `${((i / (values.length - 1)) * width).toFixed(1)},${(height - 1 - ((Math.min(max, Math.max(min, v)) - min) / span) * (height - 2)).toFixed(1)}`).join(' ');
  return s('svg', { class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `trend of ${values.length} samples` }, s('polyline', { points, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }));
};

/** A line chart of [{t, v, lo, hi}] over [from, to]; lo/hi draw a min-max band (hourly summaries). */
const chart = (title, unit, series, from, to, fixedRange) => {
  const W = 420, H = 150, L = 44, R = 8, T = 10, B = 22;
  const fig = h('figure', { class: 'chart', 'data-chart': title });
  fig.append(h('figcaption', {}, title));
  if (series.length === 0) {
    fig.append(h('p', { class: 'muted' }, 'no samples in this period'));
    return fig;
  }
  const los = series.map((p) => p.lo ?? p.v);
  const his = series.map((p) => p.hi ?? p.v);
  let min = fixedRange ? fixedRange[0] : Math.min(...los);
  let max = fixedRange ? fixedRange[1] : Math.max(...his);
  if (max - min < 1e-9) { min -= 1; max += 1; }
  const x = (t) => L + ((Date.parse(t) - from) / Math.max(1, to - from)) * (W - L - R);
  const y = (v) => T + (1 - (v - min) / (max - min)) * (H - T - B);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${title}, from ${round1(min)} to ${round1(max)} ${unit}` });
  svg.append(s('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }), s('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
  svg.append(s('text', { x: L - 4, y: T + 8, 'text-anchor': 'end', class: 'tick' }, `${round1(max)}`));
  svg.append(s('text', { x: L - 4, y: H - B, 'text-anchor': 'end', class: 'tick' }, `${round1(min)}`));
  svg.append(s('text', { x: L, y: H - 6, class: 'tick' }, formatTime(new Date(from).toISOString()).slice(5, 16)));
  svg.append(s('text', { x: W - R, y: H - 6, 'text-anchor': 'end', class: 'tick' }, formatTime(new Date(to).toISOString()).slice(5, 16)));
  if (series.some((p) => p.lo !== undefined)) {
    const top = series.map((p) => `${x(p.t).toFixed(1)},${y(p.hi).toFixed(1)}`);
    const bottom = series.slice().reverse().map((p) => `${x(p.t).toFixed(1)},${y(p.lo).toFixed(1)}`);
    svg.append(s('polygon', { points: [...top, ...bottom].join(' '), class: 'band' }));
  }
  svg.append(s('polyline', { points: series.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' '), class: 'line', fill: 'none' }));
  fig.append(svg);
  const last = series[series.length - 1];
  fig.append(h('p', { class: 'chart-note' }, `latest ${round1(last.v)} ${unit}; range ${round1(Math.min(...los))} to ${round1(Math.max(...his))} ${unit}`));
  return fig;
};

// ---- shared pieces ----

const badge = (text, kind) => h('span', { class: `badge ${kind || text}` }, text);
const table = (id, header, rows) => h('table', { id }, h('thead', {}, h('tr', {}, header.map((c) => h('th', {}, c)))), h('tbody', {}, rows));
const section = (title, ...children) => h('section', {}, h('h2', {}, title), ...children);
const builderLink = (id) => (id ? h('a', { href: `/builders/${encodeURIComponent(id)}` }, id) : '-');
const jobLink = (id) => (id ? h('a', { href: `/jobs/${encodeURIComponent(id)}` }, id) : '-');
const waiting = (what) => h('p', { class: 'muted' }, `waiting for ${what} from buildctl serve...`);
const metricsOf = (id) => data.metrics?.metrics?.[id] ?? null;

// ---- pages ----

const skewOf = (b) => {
  if (!b.heartbeat_at) return '-';
  const id = b.id;
  const finding = data.check?.check?.findings?.find((f) => f.code === 'clock_skew' && f.subject === id);
  return finding ? badge('ahead', 'warning') : h('span', { class: 'muted' }, 'ok');
};

const fleetPage = () => {
  const fleet = data.fleet?.fleet;
  if (!fleet) return [waiting('the fleet')];
  const check = data.check?.check;
  const out = [];
  if (check) out.push(h('p', { id: 'check', class: `check ${check.status}` }, check.summary));
  const hc = fleet.health;
  out.push(h('p', { id: 'fleet-summary' }, `${plural(fleet.builders.length, 'builder')}: ${hc.healthy} healthy, ${hc.stale} stale, ${hc.dead} dead, ${hc.unknown} unknown`));
  const rows = fleet.builders.map((b) => {
    const samples = metricsOf(b.id)?.samples ?? [];
    const sys = b.system;
    return h('tr', { 'data-builder': b.id },
      h('td', {}, builderLink(b.id), b.enabled ? null : h('span', { class: 'muted' }, ' (disabled)')),
      h('td', {}, badge(b.health)),
      h('td', { class: 'state' }, b.state ?? '-'),
      h('td', { class: 'job' }, jobLink(b.current_job)),
      h('td', { class: 'beat' }, b.heartbeat_at ? timeEl(b.heartbeat_at, ago(b.heartbeat_at)) : 'never'),
      h('td', {}, skewOf(b)),
      h('td', { class: 'num' }, sys ? `${Math.round(sys.cpu_pct)}%` : '-', ' ', sparkline(samples.map((p) => p.cpu), [0, 100])),
      h('td', { class: 'num' }, sys ? `${(sys.memory_used_mb / 1000).toFixed(1)}/${(sys.memory_total_mb / 1000).toFixed(1)} GB` : '-', ' ', sparkline(samples.map((p) => p.mem), [0, 100])),
      h('td', { class: 'num' }, sys ? `${sys.disk_free_gb} GB` : '-', ' ', sparkline(samples.map((p) => p.disk))));
  });
  out.push(table('fleet-table', ['Builder', 'Health', 'State', 'Job', 'Heartbeat', 'Clock', 'CPU', 'Memory', 'Disk free'], rows));
  const q = fleet.queue;
  out.push(h('p', { id: 'queue' }, 'Jobs: ', h('a', { href: '/jobs?status=queued' }, `${q.queued} queued`), `, ${q.running} running, ${q.completed} completed, `, h('a', { href: '/jobs?status=failed' }, `${q.failed} failed`), `, ${q.cancelled} cancelled, ${q.dead} dead`));
  const held = fleet.locks.filter((l) => !l.expired);
  out.push(h('p', { id: 'locks-summary' }, held.length === 0 ? 'Locks: none held' : ['Locks: ', held.map((l, i) => [i ? ', ' : '', `${l.name} (${l.owner}, token ${l.token})`])]));
  if (fleet.outbox.queued > 0) out.push(h('p', {}, `Outbox of this clone: ${plural(fleet.outbox.queued, 'operation')} queued`));
  for (const p of fleet.problems) out.push(h('p', { class: 'check critical' }, `INVALID ${p.file}${p.path ? `: ${p.path}` : ''}: ${p.reason}`));
  return out;
};

const builderPage = (id) => {
  const fleet = data.fleet?.fleet;
  if (!fleet) return [waiting('the fleet')];
  const b = fleet.builders.find((x) => x.id === id);
  if (!b) return [h('h1', {}, id), h('p', {}, 'no such builder in coordination/builders.json')];
  const m = metricsOf(id);
  const out = [h('h1', {}, b.id, ' ', badge(b.health))];
  out.push(h('dl', { class: 'facts' },
    h('dt', {}, 'Host'), h('dd', {}, b.host ?? '-'),
    h('dt', {}, 'Labels'), h('dd', {}, b.labels.length ? b.labels.join(', ') : '-'),
    h('dt', {}, 'State'), h('dd', {}, b.state ?? '-'),
    h('dt', {}, 'Job'), h('dd', {}, jobLink(b.current_job)),
    h('dt', {}, 'Heartbeat'), h('dd', {}, b.heartbeat_at ? [timeEl(b.heartbeat_at, ago(b.heartbeat_at)), ` (${formatTime(b.heartbeat_at)})`] : 'never'),
    h('dt', {}, 'Clock'), h('dd', {}, skewOf(b))));
  if (!m) return [...out, waiting('metrics')];
  if (!m.summary) return [...out, h('p', { class: 'muted' }, m.source === null ? `${id} has published no metrics yet (its agent writes them with every heartbeat)` : 'no metrics in the last 7 days')];
  const now = serverNow();
  const FIELDS = [['cpu', 'CPU busy', '%', [0, 100]], ['mem', 'Memory used', '%', [0, 100]], ['disk', 'Disk free', 'GB'], ['load', 'Load (1 min)', '']];
  const hour = FIELDS.map(([f, title, unit, range]) => chart(`${title}, last hour`, unit, m.samples.filter((p) => Date.parse(p.t) >= now - 3_600_000).map((p) => ({ t: p.t, v: p[f] })), now - 3_600_000, now, range));
  const week = FIELDS.map(([f, title, unit, range]) => chart(`${title}, last 7 days`, unit, [...m.hours.map((p) => ({ t: p.t, v: p[f][1], lo: p[f][0], hi: p[f][2] })), ...m.samples.map((p) => ({ t: p.t, v: p[f], lo: p[f], hi: p[f] }))], now - 7 * 86_400_000, now, range));
  out.push(section('Last hour (one-minute samples)', h('div', { class: 'charts', id: 'charts-hour' }, hour)));
  out.push(section('Last 7 days (hourly min, average, max)', h('div', { class: 'charts', id: 'charts-week' }, week)));
  return out;
};

const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'dead'];

const jobsPage = () => {
  const jobs = data.jobs?.jobs;
  if (!jobs) return [waiting('the job queue')];
  const params = new URLSearchParams(location.search);
  const filter = { status: params.get('status') ?? '', type: params.get('type') ?? '', builder: params.get('builder') ?? '' };
  const setFilter = (key) => (event) => {
    const next = new URLSearchParams(location.search);
    if (event.target.value) next.set(key, event.target.value); else next.delete(key);
    history.replaceState(null, '', `${location.pathname}${next.size ? `?${next}` : ''}`);
    render();
  };
  const select = (key, label, values) => h('label', {}, `${label} `, h('select', { id: `filter-${key}`, onchange: setFilter(key) },
    h('option', { value: '' }, 'any'), values.map((v) => h('option', { value: v, selected: v === filter[key] }, v))));
  const types = [...new Set(jobs.map((j) => j.type))].sort();
  const builders = [...new Set(jobs.flatMap((j) => [j.assigned_to, j.target]).filter(Boolean))].sort();
  const shown = jobs.filter((j) => (!filter.status || j.status === filter.status) && (!filter.type || j.type === filter.type) && (!filter.builder || j.assigned_to === filter.builder || j.target === filter.builder));
  const rows = shown.map((j) => h('tr', { 'data-job': j.id },
    h('td', {}, jobLink(j.id)), h('td', {}, j.type), h('td', { class: 'num' }, j.priority), h('td', {}, badge(j.status)),
    h('td', {}, builderLink(j.assigned_to)), h('td', { class: 'num' }, `${j.attempts}/${j.max_attempts}`),
    h('td', {}, timeEl(j.created_at, ago(j.created_at))), h('td', {}, j.result?.reason ?? (j.description ?? ''))));
  return [
    h('h1', {}, 'Jobs'),
    h('form', { class: 'filters', id: 'job-filters' }, select('status', 'Status', JOB_STATUSES), select('type', 'Type', types), select('builder', 'Builder', builders)),
    h('p', { id: 'jobs-count', class: 'muted' }, `${shown.length} of ${plural(jobs.length, 'job')}`),
    table('jobs-table', ['Job', 'Type', 'Priority', 'Status', 'Builder', 'Attempts', 'Added', 'Reason or description'], rows),
  ];
};

const jobPage = (id) => {
  const jobs = data.jobs?.jobs;
  if (!jobs) return [waiting('the job queue')];
  const j = jobs.find((x) => x.id === id);
  if (!j) return [h('h1', {}, id), h('p', {}, 'not in coordination/jobs.json (finished jobs move to the archive after job_retention)')];
  const facts = [['Status', badge(j.status)], ['Type', j.type], ['Priority', j.priority], ['Builder', builderLink(j.assigned_to)], ['Target', j.target ?? (j.labels.length ? `labels ${j.labels.join(', ')}` : 'any')],
    ['Attempts', `${j.attempts} of ${j.max_attempts}`], ['Branch', j.branch ?? '-'], ['Commit', j.commit ?? '-'], ['Description', j.description ?? '-'], ['Reason', j.result?.reason ?? '-'],
    ['Added', j.created_at ? [timeEl(j.created_at), ` by ${j.created_by ?? '?'}`] : '-'], ['Started', j.started_at ? timeEl(j.started_at) : '-'], ['Finished', j.completed_at ? timeEl(j.completed_at) : '-']];
  const timeline = data.jobs.timelines?.[id] ?? [];
  return [
    h('h1', {}, `Job ${j.id}`),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    section('Timeline (from the commits on main)', timeline.length === 0 ? h('p', { class: 'muted' }, 'no commits name this job in the last 8 days') :
      h('ol', { class: 'timeline', id: 'job-timeline' }, timeline.map((e) => h('li', {}, timeEl(e.at), ' ', h('code', {}, e.op), ' ', e.actor ? `by ${e.actor}: ` : '', e.summary)))),
  ];
};

const locksPage = () => {
  const locks = data.locks?.locks;
  if (!locks) return [waiting('the locks')];
  const rows = locks.map((l) => h('tr', { 'data-lock': l.name },
    h('td', {}, l.name), h('td', {}, builderLink(l.owner)), h('td', { class: 'num' }, l.token), h('td', {}, timeEl(l.acquired_at, ago(l.acquired_at))),
    h('td', {}, timeEl(l.expires_at, until(l.expires_at))), h('td', {}, l.expired ? badge('expired', 'warning') : badge('held', 'healthy'))));
  const recent = (data.log?.events ?? []).filter((e) => e.op === 'lock.break' || e.details['Reaped-Locks'] || e.details['Freed-Locks']).slice(0, 20);
  return [
    h('h1', {}, 'Locks'),
    locks.length === 0 ? h('p', { id: 'no-locks' }, 'No locks are held.') : table('locks-table', ['Lock', 'Holder', 'Token', 'Acquired', 'Expires', ''], rows),
    section('Recently broken or reaped', recent.length === 0 ? h('p', { class: 'muted' }, 'none in the last 8 days') :
      h('ul', { id: 'lock-history' }, recent.map((e) => h('li', {}, timeEl(e.at), ` ${e.actor ?? ''}: ${e.summary}`, e.details['Reaped-Locks'] ? ` (reaped: ${e.details['Reaped-Locks']})` : '', e.details['Freed-Locks'] ? ` (freed: ${e.details['Freed-Locks']})` : '')))),
  ];
};

const messagesPage = () => {
  const doc = data.messages;
  if (!doc) return [waiting('the messages')];
  const byId = new Map(doc.messages.map((m) => [m.id, m]));
  const rootOf = (m) => {
    const seen = new Set();
    while (m.reply_to && byId.has(m.reply_to) && !seen.has(m.id)) { seen.add(m.id); m = byId.get(m.reply_to); }
    return m.id;
  };
  const threads = new Map();
  for (const m of doc.messages) {
    const root = rootOf(m);
    if (!threads.has(root)) threads.set(root, []);
    threads.get(root).push(m);
  }
  const latest = (list) => list.reduce((a, m) => (m.created_at > a ? m.created_at : a), '');
  const ordered = [...threads.values()].sort((a, b) => latest(b).localeCompare(latest(a)));
  const mailboxRows = Object.entries(doc.mailboxes ?? {}).map(([id, c]) => h('tr', { 'data-recipient': id }, h('td', {}, builderLink(id)), h('td', { class: 'num unread' }, c.unread), h('td', { class: 'num unacked' }, c.awaiting_ack)));
  const messageEl = (m) => {
    const awaiting = doc.awaiting?.[m.id];
    return h('article', { class: `message ${m.type}`, 'data-message': m.id },
      h('header', {}, badge(m.type), ' ', h('span', { class: 'from' }, m.from), ' → ', h('span', { class: 'to' }, m.to.join(', ')), ' · ', timeEl(m.created_at, ago(m.created_at)), m.ack_required ? ' · ack required' : ''),
      h('h3', { class: 'subject' }, m.subject),
      h('pre', { class: 'body' }, m.body),
      h('footer', { class: 'muted' }, `read by: ${Object.keys(m.read_by).join(', ') || 'nobody yet'}`, m.ack_required ? `; ${awaiting && awaiting.length ? `awaiting ack from: ${awaiting.join(', ')}` : 'acked by every recipient'}` : ''));
  };
  return [
    h('h1', {}, 'Messages'),
    section('Per recipient', table('mailboxes', ['Builder', 'Unread', 'Awaiting ack'], mailboxRows)),
    section(`Threads (${ordered.length})`, ordered.length === 0 ? h('p', { class: 'muted' }, 'no messages') : ordered.map((list) => h('div', { class: 'thread' }, list.map(messageEl)))),
  ];
};

const logPage = () => {
  const log = data.log;
  if (!log) return [waiting('the audit log')];
  const params = new URLSearchParams(location.search);
  const q = (params.get('q') ?? '').toLowerCase();
  const shown = log.events.filter((e) => !q || `${e.op} ${e.actor ?? ''} ${e.summary} ${Object.values(e.details).join(' ')}`.toLowerCase().includes(q));
  const onInput = (event) => {
    const next = new URLSearchParams(location.search);
    if (event.target.value) next.set('q', event.target.value); else next.delete('q');
    history.replaceState(null, '', `${location.pathname}${next.size ? `?${next}` : ''}`);
    render();
    document.getElementById('log-filter')?.focus();
  };
  const rows = shown.map((e) => h('tr', { 'data-commit': e.commit },
    h('td', {}, timeEl(e.at)), h('td', {}, e.actor ?? '-'), h('td', {}, h('code', {}, e.op)), h('td', {}, e.summary),
    h('td', { class: 'details' }, Object.entries(e.details).map(([k, v]) => h('div', {}, `${k}: ${v}`)))));
  return [
    h('h1', {}, 'Audit log'),
    h('p', { class: 'muted' }, `The newest ${plural(log.events.length, 'event')} of the last 8 days (${log.matched} in all), from the trailers of the commits on main. `,
      h('label', {}, 'Filter ', h('input', { id: 'log-filter', type: 'search', value: params.get('q') ?? '', oninput: onInput }))),
    table('log-table', ['Time', 'Actor', 'Operation', 'Summary', 'Details'], rows),
  ];
};

// ---- routing, freshness, the event stream ----

const route = () => {
  const path = location.pathname;
  let m;
  if ((m = /^\/builders\/([^/]+)$/.exec(path))) return ['fleet', () => builderPage(decodeURIComponent(m[1]))];
  if ((m = /^\/jobs\/([^/]+)$/.exec(path))) return ['jobs', () => jobPage(decodeURIComponent(m[1]))];
  if (path === '/jobs') return ['jobs', jobsPage];
  if (path === '/locks') return ['locks', locksPage];
  if (path === '/messages') return ['messages', messagesPage];
  if (path === '/log') return ['log', logPage];
  return ['fleet', fleetPage];
};

const render = () => {
  const [nav, page] = route();
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.dataset.nav === nav);
  const main = document.getElementById('content');
  // Keep the reader's place and an open filter field.
  const focused = document.activeElement?.id;
  const scroll = window.scrollY;
  main.replaceChildren(...page());
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  window.scrollTo(0, scroll);
  freshness();
};

/** What the header says about how old the data is, and whether the remote and the server answer. */
const freshness = () => {
  const el = document.getElementById('freshness');
  const alert = document.getElementById('alert');
  const fleet = data.fleet?.fleet;
  const meta = data.meta?.meta;
  let state = 'fresh';
  let text = 'connecting...';
  const problems = [];
  if (fleet) {
    const fetched = fleet.last_fetch_at;
    text = fetched ? `data fetched ${formatAge(serverNow() - Date.parse(fetched))} ago` : 'never fetched';
    if (meta) text += `; refreshed every ${formatAge(meta.interval_ms)}`;
    if (fleet.fetch_error) {
      state = 'unreachable';
      problems.push(`Remote unreachable: showing the state last fetched ${fetched ? `${formatAge(serverNow() - Date.parse(fetched))} ago` : 'never'} (${fleet.fetch_error})`);
    } else if (meta && fetched && serverNow() - Date.parse(fetched) > 3 * meta.interval_ms + 5000) state = 'stale';
  }
  if (meta?.error) problems.push(`The last refresh failed: ${meta.error}`);
  if (!connected) {
    state = 'disconnected';
    problems.push(`Disconnected from buildctl serve${lastEventAt ? ` (last heard ${formatAge(Date.now() - lastEventAt)} ago)` : ''}; retrying`);
  }
  el.textContent = text;
  el.dataset.state = state;
  alert.hidden = problems.length === 0;
  alert.textContent = problems.join(' · ');
};

const connect = () => {
  const source = new EventSource('/events');
  source.addEventListener('open', () => { connected = true; freshness(); });
  source.addEventListener('error', () => { connected = false; freshness(); });
  for (const channel of Object.keys(data)) {
    source.addEventListener(channel, (event) => {
      connected = true;
      lastEventAt = Date.now();
      data[channel] = JSON.parse(event.data);
      if (channel === 'meta' && data.meta.meta.refreshed_at) clockOffset = Date.parse(data.meta.meta.refreshed_at) - Date.now();
      // A meta event alone changes no table: the header says the data is still fresh.
      if (channel === 'meta') freshness(); else scheduleRender();
    });
  }
};

let pending = false;
const scheduleRender = () => {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
};

document.addEventListener('DOMContentLoaded', () => {
  render();
  connect();
  // Ages move on between events.
  setInterval(() => { freshness(); for (const t of document.querySelectorAll('td.beat time')) { const iso = t.getAttribute('datetime'); if (iso) t.textContent = ago(iso); } }, 1000);
});
