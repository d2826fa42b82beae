// What a card's badge and attempt history say, from web/format.js itself (no browser): the
// phases a local-preview job never passes through in the browser tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statusText, OUTCOME_TEXT } from '../../web/format.js';

test('badge: queued at vidgen, queued at the provider, otherwise the status', () => {
  const cases = [
    [{ status: 'pending', phase: 'queued', provider: 'modelslab' }, 'ModelsLab', 'Queued'],
    [{ status: 'processing', phase: 'provider_queue', provider: 'modelslab' }, 'ModelsLab', 'Queued at ModelsLab'],
    [{ status: 'processing', phase: 'provider_queue', provider: 'kling' }, undefined, 'Queued at kling'],
    [{ status: 'processing', phase: 'polling', provider: 'runway' }, 'Runway', 'Rendering'],
    [{ status: 'pending', phase: 'submitting', provider: 'runway' }, 'Runway', 'Queued'],
    [{ status: 'completed', phase: 'done', provider: 'local' }, 'Local', 'Completed'],
    [{ status: 'cancelled', phase: 'provider_queue', provider: 'runway' }, 'Runway', 'Cancelled'],
  ];
  for (const [g, name, want] of cases) assert.equal(statusText(g, name), want, JSON.stringify(g));
});

test('every attempt outcome the API names has words', () => {
  for (const o of ['completed', 'failed', 'cancelled', 'retried', 'fell_back', 'interrupted']) assert.ok(OUTCOME_TEXT[o], o);
});
