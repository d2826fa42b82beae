// The admin page (admin users only; the API answers 404 to anyone else): the queue and the
// providers at a glance, small charts sampled from GET /metrics while the page is open, the
// recent failures (the dead letters) and every user with their balance.
import { html, useState, useEffect, useRef } from './lib.js';
import { api } from './api.js';
import { credits, age } from './format.js';

export const SAMPLE_MS = 3000; // how often /metrics is sampled while the page is open
const KEEP = 60; // samples kept per chart: three minutes at SAMPLE_MS

// The Prometheus text format, version 0.0.4: [{name, labels, value}] (comments skipped).
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let l; (l = re.exec(m[2] || ''));) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

// The sum of every series named `name` whose labels include `where`.
export function sum(samples, name, where = {}) {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(where).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

// What the charts show: a gauge is drawn as read, a counter as its rate between two samples.
const CHARTS = [
  { id: 'queue', title: 'Queue depth', unit: 'jobs', read: (m) => sum(m, 'vidgen_queue_depth') },
  { id: 'oldest', title: 'Oldest pending', unit: 's', read: (m) => sum(m, 'vidgen_queue_oldest_age_seconds') },
  { id: 'inflight', title: 'Jobs at providers', unit: 'jobs', read: (m) => sum(m, 'vidgen_provider_jobs_in_flight') },
  { id: 'completed', title: 'Completed', unit: '/min', rate: 60, read: (m) => sum(m, 'vidgen_generations_total', { status: 'completed' }) },
  { id: 'failed', title: 'Failed', unit: '/min', rate: 60, read: (m) => sum(m, 'vidgen_generations_total', { status: 'failed' }) },
  { id: 'http', title: 'HTTP requests', unit: '/s', rate: 1, read: (m) => sum(m, 'vidgen_http_requests_total') },
];

const round = (n) => (Math.abs(n) >= 10 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1));

// A tiny line chart of `values` (oldest first) in inline SVG: no library, no inline style.
// The newest sample is at the right edge; until there are MIN_SPAN samples they fill part of it.
const MIN_SPAN = 10;
export function Sparkline({ values, label }) {
  const w = 120;
  const h = 32;
  const max = Math.max(1, ...values);
  const y = (v) => (h - 2 - (v / max) * (h - 4)).toFixed(1);
  const step = w / Math.max(MIN_SPAN, values.length - 1);
  const pts = values.length === 1 ? [[w - step, values[0]], [w, values[0]]] : values.map((v, i) => [w - step * (values.length - 1 - i), v]);
  return html`
    <svg class="spark" viewBox=${`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label=${label}
      data-samples=${values.length}>
      <line class="axis" x1="0" y1=${h - 1} x2=${w} y2=${h - 1} />
      ${pts.length > 0 && html`<polyline points=${pts.map(([x, v]) => `${x.toFixed(1)},${y(v)}`).join(' ')} />`}
    </svg>`;
}

function Charts({ series, error }) {
  return html`
    <section class="panel" aria-labelledby="admin-charts">
      <h2 id="admin-charts">Metrics <span class="muted small">sampled every ${SAMPLE_MS / 1000} s while this page is open</span></h2>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <ul class="charts">
        ${CHARTS.map((c) => {
          const values = series[c.id] || [];
          const now = values.length ? `${round(values[values.length - 1])} ${c.unit}` : '…';
          return html`
            <li key=${c.id}>
              <span class="name">${c.title}</span>
              <strong class="now">${now}</strong>
              <${Sparkline} values=${values} label=${`${c.title}: ${values.length} samples, now ${now}`} />
            </li>`;
        })}
      </ul>
    </section>`;
}

const CIRCUIT_TEXT = { closed: 'Healthy', open: 'Circuit open', 'half-open': 'Trying again' };

function Providers({ providers, queue }) {
  return html`
    <section class="panel" aria-labelledby="admin-providers">
      <h2 id="admin-providers">Queue and providers</h2>
      <p data-testid="queue">
        ${queue
          ? html`<strong>${queue.depth}</strong> ${queue.depth === 1 ? 'job' : 'jobs'} waiting at vidgen${queue.depth > 0 ? `, the oldest for ${Math.round(queue.oldest)} s` : ''}`
          : html`<span class="muted">Queue: …</span>`}
      </p>
      ${providers === null
        ? html`<p class="muted" role="status">Loading…</p>`
        : html`
          <div class="scroll">
            <table class="grid" aria-label="Providers">
              <thead><tr>
                <th scope="col">Provider</th><th scope="col">Status</th><th scope="col" class="num">In flight</th>
                <th scope="col" class="num">Queued</th><th scope="col">Health</th><th scope="col">Last failure</th>
              </tr></thead>
              <tbody>
                ${providers.map((p) => {
                  const health = p.health || {};
                  return html`
                    <tr key=${p.name}>
                      <th scope="row">${p.displayName}</th>
                      <td>${p.available
                        ? html`<span class="ok">Available</span>`
                        : html`<span class="muted">Unavailable: ${p.unavailableReason || 'not set up'}</span>`}</td>
                      <td class="num">${p.inFlight ?? 0}${p.limits && p.limits.maxInFlight ? ` / ${p.limits.maxInFlight}` : ''}</td>
                      <td class="num">${p.queued ?? 0}</td>
                      <td><span class=${`circuit ${health.circuit || 'closed'}`}>${CIRCUIT_TEXT[health.circuit] || health.circuit || '—'}</span>
                        ${health.failuresInARow ? html`<span class="muted small"> · ${health.failuresInARow} failures in a row</span>` : ''}</td>
                      <td>${health.lastFailureAt
                        ? html`<span class="small">${age(health.lastFailureAt)}${health.lastFailure ? ` — ${health.lastFailure}` : ''}</span>`
                        : html`<span class="muted">—</span>`}</td>
                    </tr>`;
                })}
              </tbody>
            </table>
          </div>`}
    </section>`;
}

function Failures({ failed, names }) {
  return html`
    <section class="panel" aria-labelledby="admin-failed">
      <h2 id="admin-failed">Recent failures</h2>
      ${failed === null
        ? html`<p class="muted" role="status">Loading…</p>`
        : failed.length === 0
          ? html`<p class="muted">No failed generations.</p>`
          : html`
            <div class="scroll">
              <table class="grid" aria-label="Recent failures">
                <thead><tr>
                  <th scope="col">When</th><th scope="col">User</th><th scope="col">Model</th>
                  <th scope="col" class="num">Attempts</th><th scope="col">Last error</th>
                </tr></thead>
                <tbody>
                  ${failed.map((g) => html`
                    <tr key=${g.id}>
                      <td><time datetime=${g.createdAt} title=${new Date(g.createdAt).toLocaleString()}>${age(g.createdAt)}</time></td>
                      <td>${names[g.userId] || g.userId}</td>
                      <td>${g.modelName || g.modelId}<span class="muted small"> · ${g.provider}</span></td>
                      <td class="num">${(g.attempts || []).length}</td>
                      <td class="wrap"><span class="error">${g.lastError || g.errorMessage || '—'}</span>
                        <span class="muted small"> · ${g.prompt}</span></td>
                    </tr>`)}
                </tbody>
              </table>
            </div>`}
    </section>`;
}

function Users({ users }) {
  return html`
    <section class="panel" aria-labelledby="admin-users">
      <h2 id="admin-users">Users and balances</h2>
      ${users === null
        ? html`<p class="muted" role="status">Loading…</p>`
        : html`
          <div class="scroll">
            <table class="grid" aria-label="Users">
              <thead><tr>
                <th scope="col">User</th><th scope="col">Role</th><th scope="col" class="num">Balance</th><th scope="col">Since</th>
              </tr></thead>
              <tbody>
                ${users.map((u) => html`
                  <tr key=${u.id}>
                    <th scope="row">${u.name}</th>
                    <td>${u.isAdmin ? 'Admin' : 'User'}${u.disabledAt ? html`<span class="error"> · disabled</span>` : ''}</td>
                    <td class="num">${credits(u.balance)}</td>
                    <td>${u.createdAt ? new Date(u.createdAt).toLocaleDateString() : '—'}</td>
                  </tr>`)}
              </tbody>
            </table>
          </div>`}
    </section>`;
}

export function Admin() {
  const [providers, setProviders] = useState(null);
  const [users, setUsers] = useState(null);
  const [failed, setFailed] = useState(null);
  const [queue, setQueue] = useState(null);
  const [series, setSeries] = useState({});
  const [error, setError] = useState('');
  const [metricsError, setMetricsError] = useState('');
  const last = useRef(null); // the previous sample, for the rates: {at, values}

  useEffect(() => {
    let alive = true;
    const controller = new AbortController();
    const sampleMetrics = async () => {
      try {
        const res = await fetch('/metrics', { credentials: 'same-origin', signal: controller.signal, headers: { Accept: 'text/plain' } });
        if (!res.ok) throw new Error(`the metrics answered ${res.status}`);
        const m = parseMetrics(await res.text());
        if (!alive) return;
        const at = performance.now();
        const values = Object.fromEntries(CHARTS.map((c) => [c.id, c.read(m)]));
        const prev = last.current;
        last.current = { at, values };
        setQueue({ depth: values.queue, oldest: values.oldest });
        setSeries((s) => {
          const next = { ...s };
          for (const c of CHARTS) {
            let v = values[c.id];
            if (c.rate) {
              if (!prev) continue; // a rate needs two samples
              const dt = (at - prev.at) / 1000;
              v = dt > 0 ? Math.max(0, (v - prev.values[c.id]) / dt) * c.rate : 0;
            }
            next[c.id] = [...(s[c.id] || []), v].slice(-KEEP);
          }
          return next;
        });
        setMetricsError('');
      } catch (e) {
        if (alive && e.name !== 'AbortError') setMetricsError(`Metrics: ${e.message}`);
      }
    };
    const load = () => {
      sampleMetrics();
      Promise.all([
        api('GET', '/providers', undefined, { signal: controller.signal }),
        api('GET', '/admin/users?limit=100', undefined, { signal: controller.signal }),
        api('GET', '/admin/failed?limit=20', undefined, { signal: controller.signal }),
      ]).then(([p, u, f]) => {
        if (!alive) return;
        setProviders(p.providers);
        setUsers(u.users);
        setFailed(f.failed);
        setError('');
      }).catch((e) => { if (alive && e.name !== 'AbortError') setError(e.message); });
    };
    load();
    const timer = setInterval(() => { if (!document.hidden) load(); }, SAMPLE_MS);
    return () => { alive = false; clearInterval(timer); controller.abort(); };
  }, []);

  const names = Object.fromEntries((users || []).map((u) => [u.id, u.name]));
  return html`
    <main class="admin" aria-label="Admin">
      <h1>Admin</h1>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <${Providers} providers=${providers} queue=${queue} />
      <${Charts} series=${series} error=${metricsError} />
      <${Failures} failed=${failed} names=${names} />
      <${Users} users=${users} />
    </main>`;
}
