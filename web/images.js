// Start and end image zones: drop an image or pick one, see it, remove it. The image is
// uploaded at once (POST /upload-image, with upload progress) and the composer keeps its
// uploadId; the server's refusal is shown beside the zone.
import { html, useState, useEffect } from './lib.js';
import { PREFIX, getCsrfToken } from './api.js';

const TYPES = 'image/jpeg,image/png,image/webp';

// Sends `file` as the `kind` image; progress(0..100) as it goes. Resolves with the upload.
function upload(file, kind, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const form = new FormData();
    form.append('type', kind);
    form.append('file', file);
    xhr.open('POST', `${PREFIX}/upload-image`);
    const csrf = getCsrfToken();
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.upload.onprogress = (e) => e.lengthComputable && progress(Math.round((100 * e.loaded) / e.total));
    xhr.onerror = () => reject(new Error('The upload did not reach the server.'));
    xhr.onload = () => {
      let js = null;
      try {
        js = JSON.parse(xhr.responseText);
      } catch {
        js = null;
      }
      if (xhr.status < 300 && js && js.success) resolve(js);
      else reject(new Error((js && js.error && js.error.message) || `The upload was refused (${xhr.status}).`));
    };
    xhr.send(form);
  });
}

export function ImageZone({ kind, label, value, onChange }) {
  const [progress, setProgress] = useState(null);
  const [error, setError] = useState('');
  const [over, setOver] = useState(false);
  const id = `${kind}-image`;

  useEffect(() => () => value && URL.revokeObjectURL(value.preview), [value]);

  const take = async (file) => {
    if (!file) return;
    setError('');
    setProgress(0);
    try {
      const r = await upload(file, kind, setProgress);
      onChange({ uploadId: r.uploadId, name: r.fileName || file.name, preview: URL.createObjectURL(file),
        width: r.width, height: r.height });
    } catch (e) {
      setError(e.message);
    } finally {
      setProgress(null);
    }
  };

  const drop = (e) => {
    e.preventDefault();
    setOver(false);
    take(e.dataTransfer.files[0]);
  };

  return html`
    <div class=${`zone${over ? ' over' : ''}`} onDragOver=${(e) => { e.preventDefault(); setOver(true); }}
      onDragLeave=${() => setOver(false)} onDrop=${drop}>
      ${value
        ? html`
            <img src=${value.preview} alt=${`${label}: ${value.name}`} />
            <p class="small">${value.name} · ${value.width}×${value.height}</p>
            <button type="button" onClick=${() => onChange(null)}>Remove ${label.toLowerCase()}</button>`
        : html`
            <label for=${id}>${label}</label>
            <p class="small muted">Drop a JPEG, PNG or WebP here, or pick one.</p>
            <input id=${id} type="file" accept=${TYPES} onChange=${(e) => { take(e.currentTarget.files[0]); e.currentTarget.value = ''; }} />`}
      ${progress !== null && html`<progress max="100" value=${progress} aria-label=${`Uploading ${label.toLowerCase()}`}>${progress}%</progress>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </div>`;
}
