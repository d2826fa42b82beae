// The selected project's generations, newest first: thumbnail, status, a live progress bar,
// the player and download for a finished one, cancel / retry / delete.
import { html, useState, useEffect, useMemo } from './lib.js';
import { api, PREFIX } from './api.js';
import { credits, age, statusText, isActive, OUTCOME_TEXT } from './format.js';
import { Confirm } from './dialog.js';

// The providers tried for `g`, from GET /generations/:id, asked for when the details are
// opened and again whenever the job moves while they are open.
function Attempts({ g, title }) {
  const [open, setOpen] = useState(false);
  const [attempts, setAttempts] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    if (!open) return undefined;
    let current = true;
    api('GET', `/generations/${g.id}`)
      .then((r) => { if (current) { setAttempts(r.generation.attempts); setError(''); } })
      .catch((e) => { if (current) setError(e.message); });
    return () => { current = false; };
  }, [open, g.status, g.phase, g.updatedAt]);
  return html`
    <details class="attempts" onToggle=${(e) => setOpen(e.currentTarget.open)}>
      <summary>Attempt history</summary>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${attempts === null
        ? !error && html`<p class="muted small" role="status">Loading…</p>`
        : attempts.length === 0
          ? html`<p class="muted small">Not sent to a provider yet.</p>`
          : html`
            <ol aria-label=${`Attempts for ${title}`}>
              ${attempts.map((a) => html`
                <li key=${a.n}>
                  <strong>${a.providerName}</strong>${` · ${a.model} · `}<span class=${`outcome ${a.outcome || 'running'}`}>${a.outcome ? OUTCOME_TEXT[a.outcome] || a.outcome : 'In progress'}</span>
                  ${a.error && html`<span class="error"> — ${a.error}</span>`}
                  ${a.providerJobId && html`<span class="muted small job"> Job ${a.providerJobId}</span>`}
                </li>`)}
            </ol>`}
    </details>`;
}

function Card({ g, providerName, onChanged }) {
  const [error, setError] = useState('');
  const [confirming, setConfirming] = useState(false);
  const act = async (method, path) => {
    setError('');
    try {
      await api(method, path);
      onChanged();
    } catch (e) {
      setError(e.message);
    }
  };
  const title = g.prompt.length > 80 ? `${g.prompt.slice(0, 77)}…` : g.prompt;
  return html`
    <li class=${`card ${g.status}`}>
      <article aria-label=${`Video: ${title}`}>
        ${g.status === 'completed' && g.videoUrl
          ? html`<video controls preload="metadata" playsinline src=${g.videoUrl} poster=${g.thumbnailUrl || undefined}
              aria-label=${`Player: ${title}`}></video>`
          : html`<div class="placeholder" aria-hidden="true" data-label=${statusText(g, providerName)}></div>`}
        <div class="meta">
          <p class="prompt">${g.prompt}</p>
          <p class="muted small">${g.modelName} · ${g.duration} s · ${g.resolution} · ${g.aspectRatio} · ${credits(g.creditUsed)} · ${age(g.createdAt)}</p>
          <p class="status">
            <span class=${`badge ${g.status}`}>${statusText(g, providerName)}</span>
            ${g.status === 'failed' && g.errorMessage && html` <span class="error">${g.errorMessage}</span>`}
            ${g.status === 'failed' && html` <span class="muted">Credits refunded.</span>`}
          </p>
          ${isActive(g) && html`
            <progress max="100" value=${g.progress} aria-label=${`Progress of ${title}`}>${g.progress}%</progress>`}
          <${Attempts} g=${g} title=${title} />
          <div class="actions">
            ${g.status === 'completed' && html`<a class="button" href=${`${PREFIX}/download/${g.id}`} download>Download</a>`}
            ${isActive(g) && !g.cancelRequested && html`<button type="button" onClick=${() => act('POST', `/generations/${g.id}/cancel`)}>Cancel</button>`}
            ${g.status === 'failed' && html`<button type="button" onClick=${() => act('POST', `/generations/${g.id}/retry`)}>Retry</button>`}
            ${!isActive(g) && html`<button type="button" class="quiet" onClick=${() => setConfirming(true)}>Delete</button>`}
          </div>
          ${error && html`<p class="error" role="alert">${error}</p>`}
        </div>
      </article>
      ${confirming && html`
        <${Confirm} title="Delete this video?" message=${`“${title}” and its video file are deleted. Credits are not returned. This cannot be undone.`}
          confirmLabel="Delete video" onConfirm=${() => { setConfirming(false); act('DELETE', `/generations/${g.id}`); }}
          onClose=${() => setConfirming(false)} />`}
    </li>`;
}

export function History({ generations, models, onChanged }) {
  const providerNames = useMemo(() => new Map((models || []).map((m) => [m.provider, m.providerName])), [models]);
  return html`
    <section class="history" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      ${generations === null
        ? html`<p class="muted" role="status">Loading history…</p>`
        : generations.length === 0
          ? html`<p class="muted">No videos in this project yet. Try the Local Preview Renderer: it needs no API key.</p>`
          : html`<ul class="cards" role="list" aria-label="Generations">
              ${generations.map((g) => html`<${Card} key=${g.id} g=${g} providerName=${providerNames.get(g.provider)} onChanged=${onChanged} />`)}
            </ul>`}
    </section>`;
}
