// The app's root: who is logged in decides between the login page and the workspace.
// The workspace's modules are not needed to draw the login form, so they are loaded apart
// (bench/web.sh): at once for a user who is logged in, after the form is drawn otherwise.
import { html, render, useState, useEffect } from './lib.js';
import { api, setCsrfToken, onUnauthorized } from './api.js';
import { Login } from './login.js';

let workspaceModule = null;
const loadWorkspace = () => (workspaceModule ||= import('./workspace.js'));

function App() {
  const [session, setSession] = useState(undefined); // undefined: asking; null: logged out
  const [notice, setNotice] = useState('');
  const [Workspace, setWorkspace] = useState(null);
  const [loadError, setLoadError] = useState('');

  useEffect(() => {
    if (session === undefined) return;
    if (session === null) { // fetched while the user types
      requestAnimationFrame(() => setTimeout(() => loadWorkspace().catch(() => {}), 0));
      return;
    }
    loadWorkspace()
      .then((m) => setWorkspace(() => m.Workspace))
      .catch(() => { workspaceModule = null; setLoadError('The app could not be loaded. Check your connection and reload.'); });
  }, [session]);

  const start = (s) => {
    setCsrfToken(s.csrfToken || null);
    setSession(s);
    setNotice('');
  };

  useEffect(() => {
    api('GET', '/auth/session', undefined, { root: true })
      .then(start)
      .catch(() => setSession(null));
    return onUnauthorized(() => {
      setCsrfToken(null);
      setSession(null);
      setNotice('Your session has ended. Log in again to go on where you were.');
    });
  }, []);

  const logout = async () => {
    try {
      await api('POST', '/auth/logout', undefined, { root: true });
    } finally {
      setCsrfToken(null);
      setSession(null);
      setNotice('You have logged out.');
    }
  };

  if (session === undefined) return html`<p class="boot" role="status">Loading vidgen…</p>`;
  if (session === null) return html`<${Login} onLogin=${start} notice=${notice} />`;
  if (loadError) return html`<p class="boot error" role="alert">${loadError}</p>`;
  if (!Workspace) return html`<p class="boot" role="status">Loading vidgen…</p>`;
  return html`<${Workspace} user=${session.user} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById('app'));
