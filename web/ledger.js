// The credit ledger: every grant, charge and refund, newest first.
import { html, useState, useEffect } from './lib.js';
import { api } from './api.js';
import { credits } from './format.js';
import { Dialog } from './dialog.js';

export function Ledger({ onClose }) {
  const [entries, setEntries] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api('GET', '/credits/ledger?limit=50').then((r) => setEntries(r.entries)).catch((e) => setError(e.message));
  }, []);
  return html`
    <${Dialog} title="Credit history" onClose=${onClose}>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${entries === null && !error
        ? html`<p class="muted" role="status">Loading…</p>`
        : entries && html`
          <table class="ledger">
            <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col" class="num">Credits</th><th scope="col" class="num">Balance</th></tr></thead>
            <tbody>
              ${entries.map((e) => html`
                <tr key=${e.id}>
                  <td>${new Date(e.createdAt).toLocaleString()}</td>
                  <td>${e.kind}${e.note ? ` — ${e.note}` : ''}</td>
                  <td class="num">${e.amount > 0 ? '+' : ''}${credits(e.amount)}</td>
                  <td class="num">${credits(e.balanceAfter)}</td>
                </tr>`)}
            </tbody>
          </table>`}
      <div class="actions"><button type="button" onClick=${onClose} autofocus>Close</button></div>
    <//>`;
}
