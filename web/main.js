// The app's root: who is logged in decides between the login page and the workspace.
import { html, render, useState, useEffect } from './lib.js';
import { api, setCsrfToken, onUnauthorized } from './api.js';
import { Login } from './login.js';
import { Workspace } from './workspace.js';

function App() {
  const [session, setSession] = useState(undefined); // undefined: asking; null: logged out
  const [notice, setNotice] = useState('');

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
  return html`<${Workspace} user=${session.user} onLogout=${logout} />`;
}

render(html`<${App} />`, document.getElementById('app'));
