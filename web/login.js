// The login page: a user name and password, or a pasted API token.
import { html, useState } from './lib.js';
import { api } from './api.js';

export function Login({ onLogin, notice }) {
  const [withToken, setWithToken] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const body = withToken
      ? { token: String(form.get('token')).trim() }
      : { name: String(form.get('name')).trim(), password: String(form.get('password')) };
    setBusy(true);
    setError('');
    try {
      onLogin(await api('POST', '/auth/login', body, { root: true }));
    } catch (err) {
      setError(err.status === 429 ? `${err.message}.` : err.message);
      setBusy(false);
    }
  };

  return html`
    <main class="login">
      <h1 elementtiming="login"><span class="logo" aria-hidden="true"></span>vidgen</h1>
      <p class="muted">Make videos from a prompt: ModelsLab, Eden AI, Runway, Kling, or the built-in preview renderer.</p>
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      <form onSubmit=${submit} aria-label="Log in" novalidate>
        ${withToken
          ? html`
              <label for="login-token">API token</label>
              <input id="login-token" name="token" autocomplete="off" spellcheck="false" required placeholder="vg_…" />`
          : html`
              <label for="login-name">User name</label>
              <input id="login-name" name="name" autocomplete="username" required autofocus />
              <label for="login-password">Password</label>
              <input id="login-password" name="password" type="password" autocomplete="current-password" required />`}
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Logging in…' : 'Log in'}</button>
      </form>
      <button type="button" class="link" onClick=${() => { setWithToken(!withToken); setError(''); }}>
        ${withToken ? 'Log in with a password instead' : 'Log in with an API token instead'}
      </button>
    </main>`;
}
