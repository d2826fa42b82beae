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
