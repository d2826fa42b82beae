// How numbers, money and times read in the app.
const number = new Intl.NumberFormat('en-US');

export const credits = (n) => `${number.format(n)} credit${n === 1 ? '' : 's'}`;
export const rupiah = (n) => `Rp ${number.format(n)}`;

export function age(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export const STATUS_TEXT = {
  pending: 'Queued',
  processing: 'Rendering',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export const isActive = (g) => g.status === 'pending' || g.status === 'processing';

// What a card's badge says: a job waiting at vidgen is "Queued", one waiting in the
// provider's own queue "Queued at <provider>" (`providerName` is its display name).
export function statusText(g, providerName) {
  if (isActive(g) && g.phase === 'provider_queue') return `Queued at ${providerName || g.provider}`;
  if (isActive(g) && g.phase === 'queued') return 'Queued';
  return STATUS_TEXT[g.status] || g.status;
}

// How one attempt at a provider ended (GET /generations/:id, `attempts[].outcome`).
export const OUTCOME_TEXT = {
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
  retried: 'Failed, tried again',
  fell_back: 'Failed, passed to the next provider',
  interrupted: 'Interrupted (vidgen restarted), resumed',
};
