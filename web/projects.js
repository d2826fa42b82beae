// The project sidebar: list (the selected one marked), create, rename, delete.
import { html, useState } from './lib.js';
import { api } from './api.js';
import { Confirm } from './dialog.js';

function NewProject({ onCreated }) {
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    const input = e.currentTarget.elements.name;
    try {
      const r = await api('POST', '/projects', { name: input.value.trim() });
      input.value = '';
      setError('');
      onCreated(r.project);
    } catch (err) {
      setError(err.message);
    }
  };
  return html`
    <form class="new-project" onSubmit=${submit}>
      <label for="new-project-name">New project name</label>
      <div class="row">
        <input id="new-project-name" name="name" required maxlength="200" placeholder="My film" />
        <button type="submit">Create project</button>
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>`;
}

function Rename({ project, onDone }) {
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    try {
      await api('PATCH', `/projects/${project.id}`, { name: e.currentTarget.elements.name.value.trim() });
      onDone(true);
    } catch (err) {
      setError(err.message);
    }
  };
  return html`
    <form class="rename" onSubmit=${submit} onKeyDown=${(e) => e.key === 'Escape' && onDone(false)}>
      <label for="rename-${project.id}" class="sr-only">New name for ${project.name}</label>
      <input id="rename-${project.id}" name="name" value=${project.name} required maxlength="200" autofocus />
      <button type="submit">Save</button>
      <button type="button" onClick=${() => onDone(false)}>Cancel</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>`;
}

export function Projects({ projects, selected, onSelect, onChanged, onDeleted }) {
  const [renaming, setRenaming] = useState(null);
  const [deleting, setDeleting] = useState(null);
  const [deleteError, setDeleteError] = useState('');

  const remove = async () => {
    try {
      await api('DELETE', `/projects/${deleting.id}`);
      const id = deleting.id;
      setDeleting(null);
      onDeleted(id);
    } catch (err) {
      setDeleteError(err.message);
    }
  };

  return html`
    <nav class="projects" aria-label="Projects">
      <h2>Projects</h2>
      <${NewProject} onCreated=${(p) => onChanged().then(() => onSelect(p.id))} />
      ${projects === null
        ? html`<p class="muted" role="status">Loading projects…</p>`
        : projects.length === 0
          ? html`<p class="muted">No projects yet.</p>`
          : html`<ul role="list">
              ${projects.map((p) => html`
                <li key=${p.id} class=${p.id === selected ? 'current' : ''}>
                  ${renaming === p.id
                    ? html`<${Rename} project=${p} onDone=${(changed) => { setRenaming(null); if (changed) onChanged(); }} />`
                    : html`
                      <a href=${`/?project=${p.id}`} aria-current=${p.id === selected ? 'page' : undefined}
                        onClick=${(e) => { e.preventDefault(); onSelect(p.id); }}>
                        <span class="name">${p.name}</span>
                        <span class="count muted" aria-label=${`${p.generationCount} videos`}>${p.generationCount}</span>
                      </a>
                      <span class="tools">
                        <button type="button" class="icon" aria-label=${`Rename ${p.name}`} onClick=${() => setRenaming(p.id)}>Rename</button>
                        <button type="button" class="icon" aria-label=${`Delete ${p.name}`} onClick=${() => { setDeleteError(''); setDeleting(p); }}>Delete</button>
                      </span>`}
                </li>`)}
            </ul>`}
      ${deleting && html`
        <${Confirm} title=${`Delete “${deleting.name}”?`}
          message=${deleting.generationCount > 0
            ? `Its ${deleting.generationCount} generation${deleting.generationCount === 1 ? '' : 's'} and their videos are deleted with it. This cannot be undone.`
            : 'The project is empty. This cannot be undone.'}
          confirmLabel="Delete project" error=${deleteError} onConfirm=${remove} onClose=${() => setDeleting(null)} />`}
    </nav>`;
}
