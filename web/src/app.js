// echomon dashboard: polls the agent's JSON API and draws the charts with uPlot.
// Everything comes from the agent that served this page (same origin, no internet needed).
//   /api/v1/dashboard    charts (server-side step aggregation), thresholds, alerts, silences
//   /api/v1/alerts/history, /api/v1/incidents, /api/v1/maintenance   panels
// Mutations (silence, expire, acknowledge, run now) send the API token, which the page takes
// from the URL fragment (#token=...) and keeps in localStorage.
'use strict';

(function () {
  const POLL_MS = 1000;
  const PANEL_POLL_MS = 2000;
  const TOKEN_KEY = 'echomon.token';
  const RANGE_KEY = 'echomon.range';
  const RANGES = ['5m', '15m', '1h', '6h', '24h'];
  const COLORS = ['#3b5bdb', '#e8590c', '#2f9e44', '#ae3ec9', '#1098ad', '#f08c00', '#c2255c', '#5c940d'];
  const SEVERITY_COLORS = { info: '#2b6cb0', warning: '#c77700', critical: '#c53030' };

  const $ = (sel, root) => (root || document).querySelector(sel);
  const state = {
    range: RANGES.includes(localStorage.getItem(RANGE_KEY)) ? localStorage.getItem(RANGE_KEY) : '5m',
    since: null,      // next_since of the last dashboard answer (incremental polling)
    charts: new Map(),  // id -> chart state
    alerts: [],
    generation: 0,    // bumped when the range changes, so stale answers are dropped
    polls: 0,
    window: null,     // [start, end] of the selected range, Unix seconds
  };
  // For tests and the curious: window.echomonDashboard.charts.get('cpu').series ...
  window.echomonDashboard = state;

  // ---- token -------------------------------------------------------------------------------
  (function takeTokenFromFragment() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!m) return;
    localStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    // Do not leave the token in the address bar (or in screenshots).
    history.replaceState(null, '', location.pathname + location.search);
  })();
  const token = () => localStorage.getItem(TOKEN_KEY) || '';

  function askToken() {
    return new Promise((resolve) => {
      const dialog = $('#token-dialog');
      const input = $('#token-input');
      input.value = token();
      dialog.onclose = () => {
        if (dialog.returnValue === 'save' && input.value.trim()) {
          localStorage.setItem(TOKEN_KEY, input.value.trim());
          resolve(true);
        } else {
          resolve(false);
        }
      };
      dialog.showModal();
    });
  }
  $('#token-button').addEventListener('click', () => askToken());

  // ---- HTTP ----------------------------------------------------------------------------------
  // Resolves to {status, body}; body is the parsed JSON or null.
  async function request(method, path, body) {
    const headers = {};
    if (token()) headers.Authorization = 'Bearer ' + token();
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store',
    });
    let parsed = null;
    try { parsed = await res.json(); } catch (e) { parsed = null; }
    return { status: res.status, body: parsed };
  }

  // A mutation: asks for the token on 401 and retries once. Returns the response.
  async function mutate(method, path, body) {
    let res = await request(method, path, body);
    if (res.status === 401 && (await askToken())) res = await request(method, path, body);
    if (res.status >= 400) {
      showError(`${method} ${path}: ${(res.body && res.body.error) || 'HTTP ' + res.status}`);
    }
    return res;
  }

  let errorTimer = null;
  function showError(text) {
    const el = $('#error');
    el.textContent = text;
    el.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { el.hidden = true; }, 8000);
  }

  // Replaces an element's content only when it changed, so the DOM under the cursor stays put.
  function setHtml(el, html) {
    if (el.dataset.rendered === html) return;
    el.innerHTML = html;
    el.dataset.rendered = html;
  }

  // ---- formatting --------------------------------------------------------------------------
  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }
  function fmtNumber(v, unit) {
    if (v === null || v === undefined || v === 'NaN' || Number.isNaN(v)) return '–';
    if (typeof v === 'string') return v;
    if (unit === 'bytes/s' || unit === 'bytes') {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let i = 0; let x = Math.abs(v);
      while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
      return (v < 0 ? '-' : '') + x.toFixed(x < 10 && i > 0 ? 1 : 0) + ' ' + units[i] + (unit === 'bytes/s' ? '/s' : '');
    }
    const a = Math.abs(v);
    let s;
    if (a >= 1e6) s = (v / 1e6).toFixed(1) + 'M';
    else if (a >= 1e4) s = (v / 1e3).toFixed(1) + 'k';
    else if (a >= 100) s = v.toFixed(0);
    else if (a >= 1) s = v.toFixed(1);
    else s = v.toPrecision(2);
    const suffix = { percent: '%', ms: ' ms', celsius: ' °C', watts: ' W', 'tokens/s': ' tok/s' }[unit] || '';
    return s + suffix;
  }
  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
    return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h';
  }
  function fmtTime(t) {
    if (!t) return '–';
    const d = new Date(t * 1000);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString() : d.toLocaleString();
  }
  function fmtLabels(labels) {
    if (!labels) return '';
    if (typeof labels === 'string') return labels;
    return Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ');
  }
  // Accepts seconds or milliseconds (anything above year 33658 in seconds is milliseconds).
  function toSeconds(t) {
    if (typeof t !== 'number') return null;
    return t > 1e12 ? t / 1000 : t;
  }

  // ---- charts ------------------------------------------------------------------------------
  function rangeSeconds(r) {
    const n = parseInt(r, 10);
    return r.endsWith('h') ? n * 3600 : n * 60;
  }

  // Draws each threshold of the chart as a dashed horizontal line in its severity's colour.
  function thresholdPlugin(chart) {
    return {
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          const { left, width, top, height } = u.bbox;
          ctx.save();
          ctx.setLineDash([6, 4]);
          ctx.lineWidth = Math.max(1, devicePixelRatio);
          ctx.font = `${Math.round(10 * devicePixelRatio)}px sans-serif`;
          for (const th of chart.thresholds) {
            const y = Math.round(u.valToPos(th.value, 'y', true));
            if (y < top || y > top + height) continue;
            ctx.strokeStyle = SEVERITY_COLORS[th.severity] || '#888';
            ctx.fillStyle = ctx.strokeStyle;
            ctx.beginPath();
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
            ctx.textAlign = 'right';
            ctx.fillText(`${th.rule} ${th.severity}`, left + width - 4, y - 3);
          }
          ctx.restore();
        }],
      },
    };
  }

  function chartWidth(el) { return Math.max(300, el.clientWidth - 12); }

  function createChart(spec) {
    const group = document.querySelector(`.group[data-group="${spec.group}"] .charts`);
    const el = document.createElement('div');
    el.className = 'chart';
    el.id = 'chart-' + spec.id;
    el.dataset.chart = spec.id;
    el.innerHTML = `<h3><span>${esc(spec.title)}</span><span class="unit">${esc(spec.unit)}</span></h3>` +
      '<div class="plot"></div><div class="offscale"></div>';
    group.appendChild(el);
    return {
      id: spec.id, spec, el, plot: null, names: [],
      series: new Map(),  // name -> [[t, v], ...] sorted by t
      thresholds: [],
      lastT: null, lastValues: {},
    };
  }

  function rebuildPlot(c) {
    if (c.plot) { c.plot.destroy(); c.plot = null; }
    const host = $('.plot', c.el);
    host.innerHTML = '';
    if (c.names.length === 0) {
      host.innerHTML = '<div class="nodata">no data</div>';
      return;
    }
    const unit = c.spec.unit;
    const opts = {
      width: chartWidth(c.el),
      height: 180,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        // The whole selected range, even while data covers only part of it.
        x: { time: true, range: (u, min, max) => (state.window ? state.window : [min, max]) },
        y: {
          range: (u, min, max) => {
            if (unit === 'percent') return [0, 100];
            if (unit === 'score') return [0, 1];
            let hi = Number.isFinite(max) ? max : 1;
            let lo = Math.min(0, Number.isFinite(min) ? min : 0);
            // A threshold near the data is shown; a far one is listed under the chart instead.
            for (const th of c.thresholds) if (th.value > hi && th.value <= 2 * Math.max(hi, 1e-9)) hi = th.value;
            if (hi <= lo) hi = lo + 1;
            return [lo, hi * 1.05];
          },
        },
      },
      axes: [
        {},
        { size: 78, values: (u, ticks) => ticks.map((v) => fmtNumber(v, unit)) },
      ],
      series: [{}].concat(c.names.map((name, i) => ({
        label: name,
        stroke: COLORS[i % COLORS.length],
        width: 1.5,
        spanGaps: false,
        // Away from the cursor the legend shows the newest value.
        value: (u, v, si, idx) => fmtNumber(idx === null ? lastValue(u, si) : v, unit),
      }))),
      plugins: [thresholdPlugin(c)],
    };
    c.plot = new uPlot(opts, plotData(c), host);
  }

  function lastValue(u, si) {
    const ys = u.data[si] || [];
    for (let i = ys.length - 1; i >= 0; i--) if (ys[i] !== null && ys[i] !== undefined) return ys[i];
    return null;
  }

  // Aligns the series on the union of their timestamps (null where one has no point).
  function plotData(c) {
    const times = new Set();
    for (const name of c.names) for (const p of c.series.get(name) || []) times.add(p[0]);
    const xs = Array.from(times).sort((a, b) => a - b);
    const index = new Map(xs.map((t, i) => [t, i]));
    const data = [xs];
    for (const name of c.names) {
      const ys = new Array(xs.length).fill(null);
      for (const [t, v] of c.series.get(name) || []) ys[index.get(t)] = typeof v === 'number' ? v : null;
      data.push(ys);
    }
    return data;
  }

  function updateChart(spec, answer) {
    let c = state.charts.get(spec.id);
    if (!c) { c = createChart(spec); state.charts.set(spec.id, c); }
    const since = answer.incremental ? answer.start : null;
    const keepAfter = answer.end - answer.range;
    const seen = new Set();
    for (const s of spec.series) {
      seen.add(s.name);
      let points = since === null ? [] : (c.series.get(s.name) || []).filter((p) => p[0] <= since);
      points = points.concat(s.points);
      c.series.set(s.name, points);
    }
    for (const [name, points] of c.series) {
      if (since === null && !seen.has(name)) { c.series.delete(name); continue; }
      const trimmed = points.filter((p) => p[0] >= keepAfter);
      if (trimmed.length === 0) c.series.delete(name); else c.series.set(name, trimmed);
    }
    c.thresholds = spec.thresholds || [];
    const names = Array.from(c.series.keys()).sort();
    c.el.dataset.series = names.length;
    c.el.hidden = false;
    let points = 0; let lastT = null;
    for (const name of names) {
      const ps = c.series.get(name);
      points += ps.length;
      if (ps.length) {
        const last = ps[ps.length - 1];
        c.lastValues[name] = last[1];
        if (lastT === null || last[0] > lastT) lastT = last[0];
      }
    }
    c.lastT = lastT;
    c.el.dataset.points = points;
    c.el.dataset.lastT = lastT === null ? '' : String(lastT);
    if (names.join('\u0000') !== c.names.join('\u0000') || !c.plot) {
      c.names = names;
      rebuildPlot(c);
    } else {
      c.plot.setData(plotData(c));
    }
    // Thresholds outside the drawn scale are named under the chart.
    const off = [];
    if (c.plot) {
      const max = c.plot.scales.y.max;
      for (const th of c.thresholds) if (th.value > max) off.push(`${th.rule} ${th.severity} > ${fmtNumber(th.value, spec.unit)}`);
    }
    $('.offscale', c.el).textContent = off.length ? 'thresholds: ' + off.join(' · ') : '';
    return names.length > 0;
  }

  function applyDashboard(answer) {
    state.window = [answer.end - answer.range, answer.end];
    const withData = { host: 0, gpu: 0, engine: 0, anomaly: 0 };
    for (const spec of answer.charts) {
      if (updateChart(spec, answer)) withData[spec.group] = (withData[spec.group] || 0) + 1;
    }
    // Groups: a chart with no series is hidden; a group with none says why.
    for (const [id, c] of state.charts) {
      if (c.names.length === 0 && c.spec.group !== 'host') c.el.hidden = true;
      void id;
    }
    $('#no-gpu').hidden = withData.gpu > 0;
    $('#no-gpu').textContent = answer.gpu ? 'GPU present; waiting for samples' : 'no GPU';
    $('#no-engine').hidden = withData.engine > 0;
    $('#no-engine').textContent = answer.engine ? 'engine configured; no samples in this range' :
      'no inference engine data (no engine scraped)';
    $('#no-anomaly').hidden = withData.anomaly > 0;
    state.alerts = answer.alerts || [];
    renderAlerts(state.alerts);
    renderSilences(answer.silences || []);
    const firing = state.alerts.filter((a) => a.state === 'firing' && !a.silenced);
    const health = $('#health');
    const worst = firing.some((a) => a.severity === 'critical') ? 'critical' : firing.length ? 'warning' : 'ok';
    health.className = 'badge ' + worst;
    health.textContent = worst === 'ok' ? 'healthy' : `${firing.length} firing`;
    $('#summary').textContent = `echomon ${answer.version} · step ${fmtDuration(answer.step)}`;
    $('#updated').textContent = 'updated ' + new Date(answer.now * 1000).toLocaleTimeString();
  }

  async function poll() {
    const generation = state.generation;
    try {
      // About one point per pixel of a wide chart; the server picks the step from it.
      const points = Math.min(1000, Math.max(300, window.innerWidth));
      let path = `/api/v1/dashboard?range=${state.range}&points=${points}`;
      if (state.since !== null) path += `&since=${state.since}`;
      const res = await request('GET', path);
      if (generation !== state.generation) return;  // the range changed meanwhile
      if (res.status !== 200 || !res.body || res.body.status !== 'success') {
        throw new Error((res.body && res.body.error) || 'HTTP ' + res.status);
      }
      applyDashboard(res.body.data);
      state.since = res.body.data.next_since;
      state.polls++;
      $('#error').hidden = true;
    } catch (e) {
      const health = $('#health');
      health.className = 'badge critical';
      health.textContent = 'agent unreachable';
      showError('cannot reach the agent: ' + e.message);
    }
  }

  async function pollLoop() {
    const started = Date.now();
    await poll();
    setTimeout(pollLoop, Math.max(100, POLL_MS - (Date.now() - started)));
  }

  function setRange(r) {
    state.range = r;
    localStorage.setItem(RANGE_KEY, r);
    state.since = null;
    state.generation++;
    for (const b of document.querySelectorAll('#ranges button')) b.classList.toggle('active', b.dataset.range === r);
    poll();
  }
  for (const b of document.querySelectorAll('#ranges button')) b.addEventListener('click', () => setRange(b.dataset.range));
  for (const b of document.querySelectorAll('#ranges button')) b.classList.toggle('active', b.dataset.range === state.range);

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of state.charts.values()) if (c.plot) c.plot.setSize({ width: chartWidth(c.el), height: 180 });
    }, 150);
  });

  // ---- alerts and silences -----------------------------------------------------------------
  function renderAlerts(alerts) {
    const body = $('#alerts tbody');
    $('#alert-count').textContent = alerts.length ? `(${alerts.length})` : '';
    $('#alerts-empty').hidden = alerts.length > 0;
    const order = { critical: 0, warning: 1, info: 2 };
    const sorted = alerts.slice().sort((a, b) => (order[a.severity] ?? 3) - (order[b.severity] ?? 3) ||
      String(a.rule).localeCompare(String(b.rule)));
    setHtml(body, sorted.map((a) => `
      <tr class="alert" data-id="${esc(a.id)}" data-rule="${esc(a.rule)}" data-state="${esc(a.state)}">
        <td><span class="badge ${esc(a.state)}">${esc(a.state)}</span>${a.silenced ? ' <span class="badge silenced">silenced</span>' : ''}</td>
        <td><span class="badge ${esc(a.severity)}">${esc(a.severity)}</span></td>
        <td>${esc(a.rule)}<div class="labels">${esc(a.summary || '')}</div></td>
        <td class="labels">${esc(fmtLabels(a.labels))}</td>
        <td class="num">${esc(fmtNumber(a.value))}</td>
        <td class="num">${esc(fmtNumber(a.threshold))}</td>
        <td class="num">${esc(fmtDuration(a.duration_seconds))}</td>
        <td>${a.silenced ? '' : `<button class="silence" data-id="${esc(a.id)}">Silence</button>`}</td>
      </tr>`).join(''));
  }

  function alertMatchers(a) {
    const parts = [`alertname="${a.rule}"`];
    for (const [k, v] of Object.entries(a.labels || {})) {
      if (k === 'alertname') continue;
      parts.push(`${k}="${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
    }
    return parts.join(',');
  }

  $('#alerts').addEventListener('click', (ev) => {
    const button = ev.target.closest('button.silence');
    if (!button) return;
    const a = state.alerts.find((x) => x.id === button.dataset.id);
    if (!a) return;
    const dialog = $('#silence-dialog');
    $('#silence-matchers').value = alertMatchers(a);
    $('#silence-comment').value = '';
    dialog.onclose = async () => {
      if (dialog.returnValue !== 'create') return;
      const res = await mutate('POST', '/api/v1/silences', {
        matchers: $('#silence-matchers').value,
        duration: $('#silence-duration').value,
        author: 'dashboard',
        comment: $('#silence-comment').value || 'silenced from the dashboard',
      });
      if (res.status === 201) poll();
    };
    dialog.showModal();
  });

  function renderSilences(silences) {
    $('#silences-empty').hidden = silences.length > 0;
    setHtml($('#silences tbody'), silences.map((s) => `
      <tr class="silence-row" data-id="${esc(s.id)}">
        <td class="labels">${esc(s.id)}</td>
        <td class="labels">${esc(fmtLabels(s.matchers))}</td>
        <td>${esc(fmtTime(s.ends_at))}</td>
        <td>${esc(s.author || '')}</td>
        <td>${esc(s.comment || '')}</td>
        <td><span class="badge ${esc(s.state)}">${esc(s.state)}</span></td>
        <td>${s.state === 'expired' ? '' : `<button class="expire" data-id="${esc(s.id)}">Expire</button>`}</td>
      </tr>`).join(''));
  }

  $('#silences').addEventListener('click', async (ev) => {
    const button = ev.target.closest('button.expire');
    if (!button) return;
    button.disabled = true;
    const res = await mutate('DELETE', '/api/v1/silences/' + encodeURIComponent(button.dataset.id));
    if (res.status < 300) poll(); else button.disabled = false;
  });

  async function refreshHistory() {
    const res = await request('GET', '/api/v1/alerts/history?since=-24h&limit=1000');
    if (res.status !== 200 || !res.body) return;
    const rows = (res.body.data || []).slice(-100).reverse();
    $('#history-empty').hidden = rows.length > 0;
    setHtml($('#history tbody'), rows.map((h) => `
      <tr><td>${esc(fmtTime(h.at))}</td><td>${esc(h.rule)}</td><td class="labels">${esc(fmtLabels(h.labels))}</td>
        <td><span class="badge ${esc(h.from)}">${esc(h.from)}</span> → <span class="badge ${esc(h.to)}">${esc(h.to)}</span></td>
        <td>${esc(h.severity || '')}</td><td class="num">${esc(fmtNumber(h.value))}</td></tr>`).join(''));
  }

  // ---- incidents ---------------------------------------------------------------------------
  const incidentDetails = new Map();  // id -> timeline answer
  const openIncidents = new Set();     // ids whose timeline is shown

  function unavailable(el, res) {
    setHtml(el, `<p class="absent">not available (${res.status === 404 || res.status === 501 ?
      'this agent has no such API' : 'HTTP ' + res.status})</p>`);
  }

  function listOf(body, key) {
    const data = body && body.data !== undefined ? body.data : body;
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data[key])) return data[key];
    return [];
  }

  function timelineHtml(detail) {
    const events = (detail && (detail.timeline || detail.events)) || [];
    const actions = (detail && detail.actions) || [];
    if (!events.length && !actions.length) return '<ul class="timeline"><li>no events yet</li></ul>';
    const actionItems = actions.map((a) => {
      const outcome = a.state !== 'finished' ? a.state : a.ok ? 'ok' : 'failed';
      const took = a.finished_at && a.started_at ? ` in ${fmtDuration(a.finished_at - a.started_at)}` : '';
      const r = a.result || {};
      const note = r.error || r.summary || r.message || (r.exit_status !== undefined ? 'exit ' + r.exit_status : '');
      return `<li class="${outcome === 'ok' ? 'good' : outcome === 'failed' || outcome === 'interrupted' ? 'bad' : ''}">` +
        `<span class="t">${esc(fmtTime(toSeconds(a.started_at)))}</span><b>action</b> step ${esc(a.step)} ` +
        `${esc(a.name || a.type)} (${esc(a.type)}${a.dry_run ? ', dry run' : ''}): ${esc(outcome)}${esc(took)}` +
        `${note ? ' — ' + esc(String(note).slice(0, 200)) : ''}</li>`;
    });
    return '<ul class="timeline">' + events.map((e) => {
      const ok = e.ok === true || (e.detail && e.detail.ok === true);
      const bad = e.ok === false || (e.detail && e.detail.ok === false) || /fail|error|interrupt|^escalated$/.test(e.kind || '');
      const cls = bad ? 'bad' : ok ? 'good' : '';
      const text = e.message || e.summary || e.kind || '';
      return `<li class="${cls}"><span class="t">${esc(fmtTime(toSeconds(e.at ?? e.at_ms)))}</span>` +
        `<b>${esc(e.kind || '')}</b> ${esc(text === e.kind ? '' : text)}</li>`;
    }).join('') + '</ul>' + (actionItems.length ?
      '<div class="actions-title">actions and outcomes</div><ul class="timeline">' + actionItems.join('') + '</ul>' : '');
  }

  async function refreshIncidents() {
    const el = $('#incidents');
    const res = await request('GET', '/api/v1/incidents');
    if (res.status !== 200) return unavailable(el, res);
    const incidents = listOf(res.body, 'incidents');
    for (const inc of incidents) {
      if (!openIncidents.has(inc.id)) continue;
      const d = await request('GET', '/api/v1/incidents/' + encodeURIComponent(inc.id));
      if (d.status === 200 && d.body) incidentDetails.set(inc.id, d.body.data ?? d.body);
    }
    if (!incidents.length) { setHtml(el, '<p class="empty">No incidents.</p>'); return; }
    setHtml(el, incidents.slice(0, 50).map((inc) => {
      const acked = inc.acknowledged === true || inc.acknowledged_at || inc.acked_at;
      const ackedBy = inc.acknowledged_by || inc.acked_by;
      const closed = ['resolved', 'failed'].includes(inc.state);
      const opened = toSeconds(inc.opened_at ?? inc.opened_ms);
      return `<div class="incident" data-id="${esc(inc.id)}" data-state="${esc(inc.state)}" data-acked="${acked ? 'yes' : 'no'}">
        <div class="head">
          <span class="badge ${esc(inc.priority || '')}">${esc(inc.priority || '')}</span>
          <span class="badge ${esc(inc.state)}">${esc(inc.state)}</span>
          <span class="title">${esc(inc.alertname || inc.rule || inc.id)}</span>
          <span class="meta">${esc(inc.id)} · playbook ${esc(inc.playbook || '–')} · opened ${esc(fmtTime(opened))}` +
            `${inc.reason ? ' · ' + esc(inc.reason) : ''}${acked ? ' · acknowledged' + (ackedBy ? ' by ' + esc(ackedBy) : '') : ''}</span>
          <button class="timeline-toggle" data-id="${esc(inc.id)}">${openIncidents.has(inc.id) ? 'Hide' : 'Timeline'}</button>
          ${acked || closed ? '' : `<button class="ack" data-id="${esc(inc.id)}">Acknowledge</button>`}
        </div>
        ${openIncidents.has(inc.id) ? timelineHtml(incidentDetails.get(inc.id)) : ''}
      </div>`;
    }).join(''));
  }

  $('#incidents').addEventListener('click', async (ev) => {
    const toggle = ev.target.closest('button.timeline-toggle');
    if (toggle) {
      const id = toggle.dataset.id;
      if (openIncidents.has(id)) openIncidents.delete(id); else openIncidents.add(id);
      refreshIncidents();
      return;
    }
    const ack = ev.target.closest('button.ack');
    if (!ack) return;
    ack.disabled = true;
    const res = await mutate('POST', `/api/v1/incidents/${encodeURIComponent(ack.dataset.id)}/ack`,
      { by: 'dashboard' });
    if (res.status >= 300) ack.disabled = false;
    refreshIncidents();
  });

  // ---- maintenance -------------------------------------------------------------------------
  async function refreshMaintenance() {
    const el = $('#maintenance');
    const res = await request('GET', '/api/v1/maintenance');
    if (res.status !== 200) return unavailable(el, res);
    const tasks = listOf(res.body, 'tasks');
    if (!tasks.length) { setHtml(el, '<p class="empty">No maintenance tasks configured.</p>'); return; }
    const rows = tasks.map((t) => {
      const r = t.last_result;
      const outcome = r ? (r.ok ? 'ok' : 'failed') : '';
      return `<tr class="task" data-name="${esc(t.name)}">
        <td>${esc(t.name)}${t.dry_run ? ' <span class="badge">dry run</span>' : ''}<div class="labels">${esc(t.description || '')}</div></td>
        <td>${esc(t.enabled === false ? 'disabled' : t.schedule || '')}</td>
        <td>${esc(fmtTime(t.last_run))} ${outcome ? `<span class="badge ${outcome === 'ok' ? 'ok' : 'critical'}">${outcome}</span>` : ''}
          <div class="labels">${esc(r ? r.summary || '' : '')}</div></td>
        <td>${esc(fmtTime(t.next_run))}</td>
        <td class="num">${esc(t.runs ?? '')}${t.failures ? ` (${esc(t.failures)} failed)` : ''}</td>
        <td><button class="run" data-name="${esc(t.name)}"${t.running ? ' disabled' : ''}>${t.running ? 'Running…' : 'Run now'}</button></td></tr>`;
    }).join('');
    setHtml(el, `<table><thead><tr><th>task</th><th>schedule</th><th>last run</th><th>next run</th><th>runs</th><th></th></tr></thead><tbody>${rows}</tbody></table>`);
  }

  $('#maintenance').addEventListener('click', async (ev) => {
    const run = ev.target.closest('button.run');
    if (!run) return;
    run.disabled = true;
    run.textContent = 'Running…';
    // The agent answers when the task has finished.
    await mutate('POST', `/api/v1/maintenance/${encodeURIComponent(run.dataset.name)}/run`, {});
    refreshMaintenance();
  });

  async function panelLoop() {
    try {
      await Promise.all([refreshHistory(), refreshIncidents(), refreshMaintenance()]);
    } catch (e) {
      // The dashboard poll reports an unreachable agent; the panels just try again.
    }
    setTimeout(panelLoop, PANEL_POLL_MS);
  }

  pollLoop();
  panelLoop();
})();
