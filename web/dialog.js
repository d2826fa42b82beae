// A modal dialog on the native <dialog> element: focus is kept inside, Escape closes it,
// and focus returns where it was.
import { html, useEffect, useRef } from './lib.js';

export function Dialog({ title, onClose, children, alert = false }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    const before = document.activeElement;
    d.showModal();
    return () => {
      if (d.open) d.close();
      if (before && before.focus) before.focus();
    };
  }, []);
  return html`
    <dialog ref=${ref} role=${alert ? 'alertdialog' : 'dialog'} aria-labelledby="dialog-title"
      onCancel=${(e) => { e.preventDefault(); onClose(); }}>
      <h2 id="dialog-title">${title}</h2>
      ${children}
    </dialog>`;
}

// "Are you sure?", naming what is lost. onConfirm may return a promise; its error is shown.
export function Confirm({ title, message, confirmLabel, onConfirm, onClose, error }) {
  return html`
    <${Dialog} title=${title} onClose=${onClose} alert>
      <p>${message}</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions">
        <button type="button" class="danger" onClick=${onConfirm}>${confirmLabel}</button>
        <button type="button" onClick=${onClose} autofocus>Cancel</button>
      </div>
    <//>`;
}
