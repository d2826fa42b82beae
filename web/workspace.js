// The workspace of a logged-in user: header with the balance, the project sidebar, the
// composer and the selected project's history, kept live from the event stream.
import { html, useState, useEffect, useCallback } from './lib.js';
import { api } from './api.js';
import { credits } from './format.js';
import { isActive } from './format.js';
import { Projects } from './projects.js';
import { Composer } from './composer.js';
import { History } from './history.js';
import { Ledger } from './ledger.js';
import { useLiveEvents } from './events.js';

const projectInUrl = () => new URLSearchParams(location.search).get('project');
const viewInUrl = () => new URLSearchParams(location.search).get('view');

// The admin page's module, loaded only for an admin who opens it.
let adminModule = null;
const loadAdmin = () => (adminModule ||= import('./admin.js'));

function selectInUrl(id, replace) {
  const url = new URL(location.href);
  if (id) url.searchParams.set('project', id);
  else url.searchParams.delete('project');
  history[replace ? 'replaceState' : 'pushState']({ project: id }, '', url);
}

export function Workspace({ user, onLogout }) {
  const [projects, setProjects] = useState(null);
  const [selected, setSelected] = useState(projectInUrl());
  const [models, setModels] = useState(null);
  const [balance, setBalance] = useState(user.balance);
  const [generations, setGenerations] = useState(null);
  const [loadError, setLoadError] = useState('');
  const [showLedger, setShowLedger] = useState(false);
  // `?view=admin`: the admin page, for an admin only (for anyone else the workspace)
  const [view, setView] = useState(viewInUrl());
  const [Admin, setAdmin] = useState(null);
  const adminView = user.isAdmin && view === 'admin';

  useEffect(() => {
    if (!adminView || Admin) return;
    loadAdmin()
      .then((m) => setAdmin(() => m.Admin))
      .catch(() => { adminModule = null; setLoadError('The admin page could not be loaded. Check your connection and reload.'); });
  }, [adminView]);

  const openView = (e, next) => {
    e.preventDefault();
    const url = new URL(location.href);
    if (next) url.searchParams.set('view', next);
    else url.searchParams.delete('view');
    history.pushState({ project: projectInUrl(), view: next }, '', url);
    setView(next);
  };

  const refreshBalance = useCallback(() => {
    api('GET', '/credits').then((r) => setBalance(r.balance)).catch(() => {});
  }, []);

  const loadProjects = useCallback(async () => {
    try {
      const r = await api('GET', '/projects?limit=100');
      setProjects(r.projects);
      return r.projects;
    } catch (e) {
      setLoadError(e.message);
      return [];
    }
  }, []);

  const loadGenerations = useCallback(async (id) => {
    if (!id) return setGenerations(null);
    try {
      const r = await api('GET', `/generations?projectId=${encodeURIComponent(id)}&limit=100`);
      setGenerations((now) => (projectInUrl() === id || !now ? r.generations : now));
    } catch (e) {
      if (e.status === 404) setGenerations([]);
      else setLoadError(e.message);
    }
  }, []);

  useEffect(() => {
    api('GET', '/models').then((r) => setModels(r.models)).catch((e) => setLoadError(e.message));
    loadProjects().then((list) => {
      const want = projectInUrl();
      const id = want && list.some((p) => p.id === want) ? want : list[0] ? list[0].id : null;
      setSelected(id);
      selectInUrl(id, true);
    });
    refreshBalance();
    const back = () => { setSelected(projectInUrl()); setView(viewInUrl()); };
    addEventListener('popstate', back);
    return () => removeEventListener('popstate', back);
  }, []);

  useEffect(() => {
    setGenerations(null);
    loadGenerations(selected);
  }, [selected]);

  const select = (id) => {
    if (id === selected) return;
    selectInUrl(id, false);
    setSelected(id);
  };

  // A change from the event stream: merged into the card it belongs to. An ended job may
  // have been refunded, so the balance is asked for again.
  const live = useLiveEvents((u) => {
    setGenerations((list) => {
      if (!list) return list;
      if (!list.some((g) => g.id === u.id)) {
        loadGenerations(selected); // made elsewhere (another tab, the CLI): fetched whole
        return list;
      }
      return list.map((g) => (g.id === u.id ? { ...g, ...u } : g));
    });
    if (!isActive(u)) refreshBalance();
  });

  // Polling only as a fallback: while the stream is down and something is still running.
  useEffect(() => {
    if (live === 'live' || !generations || !generations.some(isActive)) return undefined;
    const timer = setInterval(() => {
      loadGenerations(selected);
      refreshBalance();
    }, 3000);
    return () => clearInterval(timer);
  }, [live, generations, selected]);

  const generated = (g, balanceAfter) => {
    setGenerations((list) => [g, ...(list || []).filter((x) => x.id !== g.id)]);
    if (typeof balanceAfter === 'number') setBalance(balanceAfter);
    else refreshBalance();
    loadProjects();
  };

  const project = projects && projects.find((p) => p.id === selected);
  return html`
    <div class="shell">
      <header class="top">
        <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>vidgen</a>
        <p class="balance" aria-live="polite">
          <span class="muted">Balance</span> <strong data-testid="balance">${credits(balance)}</strong>
        </p>
        <button type="button" class="quiet" onClick=${() => setShowLedger(true)}>Credit history</button>
        ${user.isAdmin && (adminView
          ? html`<a class="button quiet" href="?" onClick=${(e) => openView(e, null)}>Projects</a>`
          : html`<a class="button quiet" href="?view=admin" onClick=${(e) => openView(e, 'admin')}>Admin</a>`)}
        <span class="who muted">${user.name}</span>
        <button type="button" class="quiet" onClick=${onLogout}>Log out</button>
      </header>
      ${live === 'down' || live === 'connecting'
        ? html`<p class="connection" role="status">${live === 'down' ? 'Live updates are off; checking every few seconds.' : 'Connecting live updates…'}</p>`
        : html`<p class="connection sr-only" role="status">Live updates on</p>`}
      ${loadError && html`<p class="error" role="alert">${loadError}</p>`}
      ${adminView
        ? (Admin ? html`<${Admin} />` : html`<p class="boot admin" role="status">Loading the admin page…</p>`)
        : html`
      <${Projects} projects=${projects} selected=${selected} onSelect=${select} onChanged=${loadProjects}
        onDeleted=${(id) => loadProjects().then((list) => { if (id === selected) { const next = list[0] ? list[0].id : null; selectInUrl(next, true); setSelected(next); } })} />
      <main class="work" aria-label=${project ? `Project ${project.name}` : 'Workspace'}>
        ${project
          ? html`
              <${Composer} models=${models} project=${project} balance=${balance} onGenerated=${generated} />
              <${History} generations=${generations} models=${models} onChanged=${() => { loadGenerations(selected); refreshBalance(); }} />`
          : html`<section class="empty">
              <h2>Start with a project</h2>
              <p>Create a project on the left. The <strong>Local Preview Renderer</strong> works without any API key, so you can try everything right away.</p>
            </section>`}
      </main>`}
      ${showLedger && html`<${Ledger} onClose=${() => setShowLedger(false)} />`}
    </div>`;
}
