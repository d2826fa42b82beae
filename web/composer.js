// The composer: model (grouped by provider, unavailable ones greyed with the reason), the
// settings that model allows, the prompt, a live estimate and the Generate button.
import { html, useState, useEffect, useRef, useMemo } from './lib.js';
import { api } from './api.js';
import { credits, rupiah } from './format.js';
import { ImageZone } from './images.js';

const ESTIMATE_DELAY_MS = 250;
const SAME_CLICK_MS = 1500; // clicks on Generate this close together make one video

// Settings kept within what `m` allows: a value it does not take becomes its default.
function fit(m, s) {
  const pick = (list, v, d) => (list.includes(v) ? v : d);
  return {
    ...s,
    modelId: m.id,
    resolution: pick(m.resolutions, s.resolution, m.resolutions[0]),
    duration: pick(m.durations, s.duration, m.defaultDuration),
    aspectRatio: pick(m.aspectRatios, s.aspectRatio, m.aspectRatios[0]),
    generateAudio: m.supportsAudioGeneration ? s.generateAudio : false,
    enhancePrompt: m.supportsPromptEnhancement ? s.enhancePrompt : false,
    negativePrompt: m.supportsNegativePrompt ? s.negativePrompt : '',
    startImage: m.supportsImageToVideo ? s.startImage : null,
    endImage: m.supportsEndImage ? s.endImage : null,
  };
}

function randomKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// The estimate of `s`, asked for after the settings rest for a moment; a reply to settings
// that have changed since is dropped.
function useEstimate(s) {
  const [state, setState] = useState({ estimate: null, error: null, busy: false });
  const seq = useRef(0);
  const key = s && JSON.stringify([s.modelId, s.resolution, s.duration, s.aspectRatio, s.generateAudio, s.enhancePrompt,
    s.startImage && s.startImage.uploadId, s.endImage && s.endImage.uploadId]);
  useEffect(() => {
    if (!s) return undefined;
    const mine = ++seq.current;
    const ctl = new AbortController();
    setState((st) => ({ ...st, busy: true }));
    const timer = setTimeout(async () => {
      const body = {
        modelId: s.modelId, resolution: s.resolution, duration: s.duration, aspectRatio: s.aspectRatio,
        generateAudio: s.generateAudio, enhancePrompt: s.enhancePrompt, ...imageFields(s),
      };
      try {
        const r = await api('POST', '/estimate-credits', body, { signal: ctl.signal });
        if (mine === seq.current) setState({ estimate: r.estimate, error: null, busy: false });
      } catch (e) {
        if (e.name !== 'AbortError' && mine === seq.current) setState({ estimate: null, error: e, busy: false });
      }
    }, ESTIMATE_DELAY_MS);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [key]);
  return state;
}

// The uploads chosen for the start and end images, as the API takes them.
function imageFields(s) {
  const f = {};
  if (s.startImage) f.startImageId = s.startImage.uploadId;
  if (s.endImage) f.endImageId = s.endImage.uploadId;
  return f;
}

function Select({ id, label, value, options, onChange, format = String }) {
  return html`
    <div class="field">
      <label for=${id}>${label}</label>
      <select id=${id} value=${String(value)} onChange=${(e) => onChange(e.currentTarget.value)}>
        ${options.map((o) => html`<option value=${String(o)}>${format(o)}</option>`)}
      </select>
    </div>`;
}

function ModelSelect({ models, value, onChange }) {
  const groups = useMemo(() => {
    const by = new Map();
    for (const m of models) {
      if (!by.has(m.providerName)) by.set(m.providerName, []);
      by.get(m.providerName).push(m);
    }
    return [...by.entries()];
  }, [models]);
  return html`
    <div class="field model">
      <label for="model">Model</label>
      <select id="model" value=${value} onChange=${(e) => onChange(e.currentTarget.value)} aria-describedby="model-about">
        ${groups.map(([provider, list]) => html`
          <optgroup label=${provider}>
            ${list.map((m) => html`
              <option value=${m.id} disabled=${!m.available}>
                ${m.name} — from ${credits(m.baseCredits)}${m.available ? '' : ` (unavailable: ${m.unavailableReason})`}
              </option>`)}
          </optgroup>`)}
      </select>
    </div>`;
}

function ModelAbout({ m }) {
  const limits = [
    `${m.minDuration === m.maxDuration ? `${m.minDuration} s` : `${m.minDuration}–${m.maxDuration} s`}`,
    m.resolutions.join(', '),
    m.aspectRatios.join(', '),
    m.supportsImageToVideo ? (m.supportsEndImage ? 'start and end images' : 'start image') : 'text only',
    m.supportsAudioGeneration ? 'audio' : null,
  ].filter(Boolean);
  return html`<p id="model-about" class="muted about">${m.description} <span class="limits">${limits.join(' · ')}</span></p>`;
}

function Estimate({ state }) {
  const { estimate, error, busy } = state;
  return html`
    <div class="estimate" role="status" aria-live="polite" aria-busy=${busy ? 'true' : 'false'} aria-label="Estimate">
      ${estimate
        ? html`<strong>${credits(estimate.total)}</strong> <span class="muted">(${rupiah(estimate.idr)})</span>
            <ul class="breakdown" aria-label="Breakdown">
              ${Object.entries(estimate.breakdown).map(([k, v]) => html`<li><span>${k}</span> <span>${credits(v)}</span></li>`)}
            </ul>`
        : error
          ? html`<span class="error">${error.message}</span>`
          : html`<span class="muted">Estimating…</span>`}
    </div>`;
}

export function Composer({ models, project, balance, onGenerated }) {
  const usable = models ? models.filter((m) => m.available) : [];
  const [s, setS] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [showOptions, setShowOptions] = useState(false); // on a phone: prompt and Generate, settings behind a button
  const idempotency = useRef(null);

  useEffect(() => {
    if (models && !s && usable.length) setS(fit(usable[0], { prompt: '', negativePrompt: '', generateAudio: false, enhancePrompt: false, startImage: null, endImage: null }));
  }, [models]);

  const est = useEstimate(s);
  if (!models) return html`<section class="composer" aria-label="Composer"><p class="muted" role="status">Loading models…</p></section>`;
  if (!s) return html`<section class="composer" aria-label="Composer"><p>No model is available: set a provider's API key.</p></section>`;
  const m = models.find((x) => x.id === s.modelId);
  const set = (patch) => {
    idempotency.current = null; // different settings: a different generation
    setError(null);
    setS((now) => ({ ...now, ...patch }));
  };
  const total = est.estimate ? est.estimate.total : null;
  const tooLong = s.prompt.length > m.maxPromptLength;
  const reason = !s.prompt.trim() ? 'Write a prompt to generate.'
    : tooLong ? `The prompt is ${s.prompt.length - m.maxPromptLength} characters too long.`
    : est.error ? est.error.message
    : total === null ? 'Waiting for the estimate…'
    : total > balance ? `You need ${credits(total - balance)} more.`
    : '';

  const generate = async (e) => {
    e.preventDefault();
    if (reason || busy) return;
    if (!idempotency.current) idempotency.current = randomKey();
    setBusy(true);
    setError(null);
    const body = {
      projectId: project.id, modelId: s.modelId, prompt: s.prompt, resolution: s.resolution,
      duration: s.duration, aspectRatio: s.aspectRatio, generateAudio: s.generateAudio, enhancePrompt: s.enhancePrompt,
      ...imageFields(s),
    };
    if (s.negativePrompt) body.negativePrompt = s.negativePrompt;
    try {
      const key = idempotency.current;
      const r = await api('POST', '/generate', body, { headers: { 'Idempotency-Key': key } });
      // The second click of a double click may come after this reply: for a moment it sends
      // the same key and gets the same generation back. After that (or once a setting
      // changes), Generate makes a new video from the same settings.
      setTimeout(() => { if (idempotency.current === key) idempotency.current = null; }, SAME_CLICK_MS);
      onGenerated(r.generation);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`
    <section class="composer" aria-labelledby="composer-title">
      <h2 id="composer-title">New video in ${project.name}</h2>
      <form onSubmit=${generate} novalidate>
        <button type="button" class="options-toggle quiet" aria-expanded=${showOptions ? 'true' : 'false'} aria-controls="composer-options"
          onClick=${() => setShowOptions(!showOptions)}>
          <span class="label">Settings</span><span class="sr-only"> · </span><span class="summary muted">${m.name} · ${s.resolution} · ${s.duration} s · ${s.aspectRatio}</span>
        </button>
        <div id="composer-options" class=${showOptions ? 'options open' : 'options'}>
        <${ModelSelect} models=${models} value=${s.modelId} onChange=${(id) => set(fit(models.find((x) => x.id === id), s))} />
        <${ModelAbout} m=${m} />
        <div class="settings">
          <${Select} id="resolution" label="Resolution" value=${s.resolution} options=${m.resolutions} onChange=${(v) => set({ resolution: v })} />
          <${Select} id="duration" label="Duration" value=${s.duration} options=${m.durations} format=${(d) => `${d} s`}
            onChange=${(v) => set({ duration: Number(v) })} />
          <${Select} id="aspect" label="Aspect ratio" value=${s.aspectRatio} options=${m.aspectRatios} onChange=${(v) => set({ aspectRatio: v })} />
          ${m.supportsAudioGeneration && html`
            <label class="check"><input type="checkbox" checked=${s.generateAudio} onChange=${(e) => set({ generateAudio: e.currentTarget.checked })} /> Audio</label>`}
          ${m.supportsPromptEnhancement && html`
            <label class="check"><input type="checkbox" checked=${s.enhancePrompt} onChange=${(e) => set({ enhancePrompt: e.currentTarget.checked })} /> Enhance prompt</label>`}
        </div>
        ${m.supportsImageToVideo && html`
          <div class="images">
            <${ImageZone} kind="start" label="Start image" value=${s.startImage} onChange=${(v) => set({ startImage: v })} />
            ${m.supportsEndImage && html`<${ImageZone} kind="end" label="End image" value=${s.endImage} onChange=${(v) => set({ endImage: v })} />`}
          </div>`}
        </div>
        <div class="field">
          <label for="prompt">Prompt</label>
          <textarea id="prompt" rows="3" value=${s.prompt} aria-describedby="prompt-count" aria-invalid=${tooLong ? 'true' : 'false'}
            placeholder="A red fox walking through fresh snow at dawn"
            onInput=${(e) => { const v = e.currentTarget.value; idempotency.current = null; setS((now) => ({ ...now, prompt: v })); }}></textarea>
          <p id="prompt-count" class=${tooLong ? 'count error' : 'count muted'}>${s.prompt.length} / ${m.maxPromptLength} characters</p>
        </div>
        ${m.supportsNegativePrompt && html`
          <div class=${showOptions ? 'field options open' : 'field options'}>
            <label for="negative">Negative prompt</label>
            <input id="negative" value=${s.negativePrompt} placeholder="What to keep out" onInput=${(e) => set({ negativePrompt: e.currentTarget.value })} />
          </div>`}
        <div class="go">
          <${Estimate} state=${est} />
          <button type="submit" class="primary" disabled=${Boolean(reason) || busy} aria-describedby="generate-why">
            ${busy ? 'Starting…' : total === null ? 'Generate' : `Generate · ${credits(total)}`}
          </button>
          <p id="generate-why" class="muted why">${reason}</p>
          ${error && html`<p class="error" role="alert">${error.message}</p>`}
        </div>
      </form>
    </section>`;
}
