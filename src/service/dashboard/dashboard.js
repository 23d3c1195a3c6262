// The dashboard of `drover serve`: jobs with live progress (Server-Sent Events), a job's runs
// and tasks, the hosts of its running run, a timeline of the newest run's attempts per host
// (SVG), a task's attempts with the end of their stderr; trigger, cancel, retry, mark
// succeeded and drain with an admin token. No framework: the DOM is built with textContent, never from HTML strings.
'use strict';

const $ = (sel) => document.querySelector(sel);
const state = { scope: null, csrf: null, tokens: true, jobs: [], selected: null, events: null, panelAt: 0 };

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c === null || c === undefined ? '' : String(c)));
  return e;
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (state.csrf && method !== 'GET') headers['X-Drover-CSRF'] = state.csrf;
  const r = await fetch('/api/v1' + path, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = {};
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok) {
    const err = new Error(data.error || ('HTTP ' + r.status));
    err.status = r.status;
    throw err;
  }
  return data;
}

const when = (ms) => (typeof ms === 'number' ? new Date(ms).toLocaleString() : '-');
const took = (a, b) => (typeof a === 'number' && typeof b === 'number' ? ((b - a) / 1000).toFixed(1) + ' s' : '-');
const path = (...parts) => parts.map(encodeURIComponent).join('/');

function message(text) { $('#message').textContent = text || ''; }

// ---- login ----

async function start() {
  try {
    const s = await api('GET', '/session');
    Object.assign(state, { scope: s.scope, csrf: s.csrf, tokens: s.tokens });
    showApp();
  } catch (e) {
    if (e.status === 401) showLogin(); else { showLogin(); $('#login-error').textContent = e.message; }
  }
}

function showLogin() {
  $('#login').hidden = false;
  $('#app').hidden = true;
  $('#logout').hidden = true;
  $('#who').textContent = '';
  $('#token').focus();
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const s = await api('POST', '/login', { token: $('#token').value });
    $('#token').value = '';
    $('#login-error').textContent = '';
    Object.assign(state, { scope: s.scope, csrf: s.csrf, tokens: true });
    showApp();
  } catch (e) {
    $('#login-error').textContent = e.message;
  }
});

$('#logout').addEventListener('click', async () => {
  try { await api('POST', '/logout'); } catch (e) { /* gone anyway */ }
  if (state.events) state.events.close();
  Object.assign(state, { scope: null, csrf: null });
  showLogin();
});

function showApp() {
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#logout').hidden = !state.tokens;
  $('#who').textContent = state.tokens ? state.scope + ' access' : 'read-only (no tokens file)';
  connect();
}

// ---- live jobs ----

function connect() {
  if (state.events) state.events.close();
  const es = new EventSource('/api/v1/events');
  state.events = es;
  es.addEventListener('jobs', (m) => {
    const live = $('#live');
    live.textContent = 'live ' + new Date().toLocaleTimeString();
    live.className = 'live on';
    state.jobs = JSON.parse(m.data).jobs;
    renderJobs();
    if (state.selected && Date.now() - state.panelAt > 2000) loadPanel();
  });
  es.onerror = () => {
    const live = $('#live');
    live.textContent = 'offline';
    live.className = 'live off';
    if (es.readyState === EventSource.CLOSED) setTimeout(start, 3000);
  };
}

function progressBar(c) {
  if (c.total === 0) return el('span', { class: 'muted' }, 'no run yet');
  const total = Math.max(c.total, 1);
  const pct = (n) => (100 * n / total) + '%';
  const bad = c.dead + c.upstream_failed + c.cancelled;
  const bar = el('span', { class: 'bar' },
    el('span', { class: 'ok', style: 'width:' + pct(c.succeeded) }),
    el('span', { class: 'bad', style: 'left:' + pct(c.succeeded) + ';width:' + pct(bad) }),
    el('span', { class: 'run', style: 'left:' + pct(c.succeeded + bad) + ';width:' + pct(c.running) }));
  return el('span', { class: 'progress' }, bar, el('span', { class: 'bar-text' }, (c.succeeded + bad) + ' / ' + c.total));
}

function jobState(j) {
  if (!j.loads) return el('span', { class: 'loads-false', title: j.error }, 'does not load');
  if (j.run) return el('span', { class: 'result-running' }, 'running ' + j.run.run_id + (j.run.reason !== 'trigger' ? ' (' + j.run.reason + ')' : ''));
  if (j.last_run) {
    const kind = j.last_run.result.split(':')[0];
    return el('span', { class: 'result-' + kind, title: j.last_run.run_id || '' }, j.last_run.result);
  }
  return el('span', { class: 'muted' }, 'idle');
}

function parseParams(text) {
  const params = {};
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error('parameters are NAME=VALUE words, not "' + word + '"');
    const name = word.slice(0, eq);
    (params[name] = params[name] || []).push(word.slice(eq + 1));
  }
  return params;
}

function renderJobs() {
  const body = $('#jobs tbody');
  const admin = state.scope === 'admin' && state.tokens;
  // Keep what the user is typing into a parameters box across updates.
  const typed = {};
  for (const input of body.querySelectorAll('input.params')) typed[input.dataset.key] = input.value;
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
  body.replaceChildren();
  for (const j of state.jobs) {
    const params = el('input', { class: 'params', placeholder: 'date=2018-01-06 …', 'data-key': j.key, id: 'params-' + j.key });
    params.value = typed[j.key] || '';
    const trigger = el('button', {
      id: 'trigger-' + j.key,
      onclick: async () => {
        try {
          const r = await api('POST', '/jobs/' + path(j.key) + '/runs', { params: parseParams(params.value) });
          message('');
          params.value = '';
          state.selected = j.key;
          loadPanel();
          return r;
        } catch (e) { message(j.key + ': ' + e.message); }
      },
    }, 'Trigger');
    const cancel = el('button', {
      id: 'cancel-' + j.key,
      onclick: async () => {
        try { await api('POST', '/jobs/' + path(j.key) + '/cancel'); message(''); } catch (e) { message(j.key + ': ' + e.message); }
      },
    }, 'Cancel');
    trigger.disabled = !admin || !!j.run || !j.loads;
    cancel.disabled = !admin || !j.run;
    const schedule = j.schedule
      ? el('span', { title: j.schedule.timezone }, j.schedule.cron, el('br'), el('span', { class: 'muted' }, 'next ' + when(j.schedule.next_fire_ms)))
      : el('span', { class: 'muted' }, '-');
    const row = el('tr', { 'data-key': j.key, class: state.selected === j.key ? 'selected' : '' },
      el('td', {}, el('a', { onclick: () => { state.selected = j.key; renderJobs(); loadPanel(); } }, j.key),
        j.name && j.name !== j.key ? el('span', { class: 'muted' }, ' ' + j.name) : ''),
      el('td', {}, jobState(j)),
      el('td', {}, progressBar(j.counts)),
      el('td', { class: 'num running' }, j.counts.running),
      el('td', { class: 'num dead' }, j.counts.dead),
      el('td', {}, schedule),
      el('td', { class: 'actions' }, admin ? params : '', ' ', trigger, ' ', cancel));
    body.append(row);
    if (focused === j.key) params.focus();
  }
}

// ---- a job's runs and tasks ----

async function loadPanel() {
  const key = state.selected;
  if (!key) return;
  state.panelAt = Date.now();
  const job = state.jobs.find((j) => j.key === key);
  $('#job-panel').hidden = false;
  $('#job-title').textContent = key;
  $('#job-error').textContent = job && job.error ? job.error : '';
  try {
    const filter = $('#task-state').value;
    const [runs, tasks, hosts] = await Promise.all([
      api('GET', '/jobs/' + path(key) + '/runs?limit=20'),
      api('GET', '/jobs/' + path(key) + '/tasks?limit=500' + (filter ? '&state=' + encodeURIComponent(filter) : '')),
      api('GET', '/jobs/' + path(key) + '/hosts'),
    ]);
    const rb = $('#runs tbody');
    rb.replaceChildren();
    for (const r of runs.runs) {
      rb.append(el('tr', {},
        el('td', {}, r.run_id), el('td', { class: 'state-' + r.status }, r.status), el('td', {}, when(r.started_ms)),
        el('td', { class: 'num' }, took(r.started_ms, r.finished_ms)), el('td', { class: 'num' }, r.total),
        el('td', { class: 'num' }, r.succeeded ?? '-'), el('td', { class: 'num' }, r.dead ?? '-'),
        el('td', { class: 'num' }, r.records ?? '-')));
    }
    const tb = $('#tasks tbody');
    tb.replaceChildren();
    $('#task-count').textContent = tasks.tasks.length < tasks.total ? tasks.tasks.length + ' of ' + tasks.total : tasks.total + ' tasks';
    const admin = state.scope === 'admin' && state.tokens;
    for (const t of tasks.tasks) {
      const retry = el('button', {
        class: 'retry',
        onclick: async () => {
          try { await api('POST', '/jobs/' + path(key) + '/tasks/' + path(t.id) + '/retry'); message(''); loadPanel(); } catch (e) { message(t.id + ': ' + e.message); }
        },
      }, 'Retry');
      retry.disabled = !admin || !(t.state === 'dead' || t.state === 'cancelled');
      const succeed = el('button', {
        class: 'succeed',
        onclick: async () => {
          try { await api('POST', '/jobs/' + path(key) + '/tasks/' + path(t.id) + '/succeed'); message(''); loadPanel(); } catch (e) { message(t.id + ': ' + e.message); }
        },
      }, 'Mark succeeded');
      succeed.disabled = !admin || !job || !job.run || ['running', 'succeeded', 'skipped'].includes(t.state);
      tb.append(el('tr', { 'data-task': t.id },
        el('td', {}, el('a', { onclick: () => loadTask(key, t.id) }, t.id)),
        el('td', { class: 'state-' + t.state }, t.state), el('td', { class: 'num' }, t.attempts),
        el('td', {}, t.failure || ''), el('td', {}, t.message || ''), el('td', { class: 'actions' }, retry, ' ', succeed)));
    }
    renderHosts(key, hosts.hosts, admin);
    if (runs.runs.length) {
      const newest = runs.runs[0];
      const attempts = await api('GET', '/jobs/' + path(key) + '/runs/' + path(newest.run_id) + '/attempts?limit=5000');
      renderTimeline(newest, attempts);
    } else {
      $('#timeline-box').hidden = true;
    }
  } catch (e) {
    $('#job-error').textContent = e.message;
  }
}

function renderHosts(key, hosts, admin) {
  $('#hosts-box').hidden = hosts.length === 0;
  const hb = $('#hosts tbody');
  hb.replaceChildren();
  for (const h of hosts) {
    const drain = el('button', {
      class: 'drain',
      onclick: async () => {
        try { await api('POST', '/jobs/' + path(key) + '/hosts/drain', { host: h.host }); message(''); loadPanel(); } catch (e) { message(h.host + ': ' + e.message); }
      },
    }, 'Drain');
    drain.disabled = !admin || h.state === 'draining';
    hb.append(el('tr', { 'data-host': h.host },
      el('td', {}, h.kind + ' ' + h.executor), el('td', {}, h.host),
      el('td', { class: 'state-' + (h.state === 'up' ? 'succeeded' : h.state === 'down' || h.state === 'rejected' ? 'dead' : 'running') }, h.state),
      el('td', { class: 'num' }, h.running), el('td', { class: 'num' }, h.started), el('td', {}, when(h.since_ms)),
      el('td', {}, h.reason || ''), el('td', {}, drain)));
  }
}

// Dask's task stream: a lane per slot of each host (attempts packed greedily into lanes by
// start time), a bar per attempt from its start to its end, coloured by its outcome.
const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function renderTimeline(run, data) {
  const list = data.attempts;
  $('#timeline-box').hidden = list.length === 0;
  $('#timeline-run').textContent = run.run_id + (data.truncated ? ' (the first ' + list.length + ' attempts)' : '');
  if (!list.length) return;
  const now = Date.now();
  const t0 = Math.min(...list.map((a) => a.started_ms));
  const end = (a) => (a.finished_ms === null ? Math.max(now, a.started_ms) : a.finished_ms);
  const t1 = Math.max(t0 + 1, ...list.map(end));
  const lanes = [];  // {host, ends}
  const byHost = new Map();
  for (const a of list) {
    if (!byHost.has(a.executor)) byHost.set(a.executor, []);
    const mine = byHost.get(a.executor);
    let lane = mine.find((l) => l.end <= a.started_ms);
    if (!lane) { lane = { host: a.executor, index: mine.length, end: 0, bars: [] }; mine.push(lane); lanes.push(lane); }
    lane.end = end(a);
    lane.bars.push(a);
  }
  lanes.sort((x, y) => (x.host === y.host ? x.index - y.index : x.host < y.host ? -1 : 1));
  const left = 170, width = 1000, row = 16, top = 18;
  const x = (ms) => left + ((ms - t0) / (t1 - t0)) * (width - left - 10);
  const box = svg('svg', { viewBox: '0 0 ' + width + ' ' + (top + lanes.length * row + 4), role: 'img', 'aria-label': 'attempts per host and slot' });
  box.append(svg('text', { x: left, y: 12 }, '0 s'), svg('text', { x: width - 60, y: 12 }, ((t1 - t0) / 1000).toFixed(1) + ' s'));
  lanes.forEach((lane, i) => {
    const y = top + i * row;
    box.append(svg('line', { class: 'lane', x1: left, x2: width - 10, y1: y + row - 1, y2: y + row - 1 }));
    if (lane.index === 0) box.append(svg('text', { x: 4, y: y + 11 }, lane.host.length > 26 ? lane.host.slice(0, 25) + '…' : lane.host));
    for (const a of lane.bars) {
      const cls = a.finished_ms === null ? 'run' : a.failure === 'none' ? 'ok' : a.failure === 'cancelled' ? 'other' : 'bad';
      const w = Math.max(1, x(end(a)) - x(a.started_ms));
      const r = svg('rect', { class: cls, x: x(a.started_ms), y: y + 2, width: w, height: row - 5, 'data-task': a.task });
      r.append(svg('title', {}, a.task + ' #' + a.attempt + ': ' + (a.finished_ms === null ? 'running' : a.failure) + ', ' + took(a.started_ms, end(a))));
      r.addEventListener('click', () => loadTask(state.selected, a.task));
      box.append(r);
    }
  });
  $('#timeline').replaceChildren(box);
}

async function loadTask(key, id) {
  try {
    const t = await api('GET', '/jobs/' + path(key) + '/tasks/' + path(id));
    $('#task-detail').hidden = false;
    $('#task-title').textContent = id + ': ' + t.state + (t.message ? ' — ' + t.message : '');
    const box = $('#attempts');
    box.replaceChildren();
    for (const a of t.attempts) {
      const outcome = a.finished_ms === null ? 'running' : (a.failure === 'none' ? 'succeeded' : a.failure);
      box.append(el('div', { class: 'attempt' },
        el('strong', {}, 'attempt ' + a.attempt), ' of run ' + a.run_id + ' on ' + a.executor + ', ' + when(a.started_ms) + ': ',
        el('span', { class: 'state-' + (outcome === 'succeeded' ? 'succeeded' : outcome === 'running' ? 'running' : 'dead') }, outcome),
        a.message ? ' (' + a.message + ')' : ''));
      if (a.stderr_tail) box.append(el('pre', { class: 'stderr' }, a.stderr_tail));
    }
  } catch (e) {
    message(id + ': ' + e.message);
  }
}

$('#task-state').addEventListener('change', loadPanel);
start();
