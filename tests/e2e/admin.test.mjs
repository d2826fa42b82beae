// The admin page in headless Chromium: an admin opens it from the header and finds the
// providers (the local renderer available, a remote one unavailable with the reason), a
// failed generation among the recent failures with its last error, every user with their
// balance, and metrics charts that gain points while the page is open; the URL keeps the page
// across a reload. A user who is not an admin sees no link, and `?view=admin` shows them
// their workspace and no admin data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { Server, launch, newPage, shot, login } from './harness.mjs';

const PASSWORD = 'owl over the lake 7';
const PREFIX = '/api/apps/video-generator';
let server;
let browser;
let dora; // the API token of a user whose generation fails

before(async () => {
  server = await Server.start();
  server.addUser('root', PASSWORD, 5000, { admin: true });
  dora = server.addUser('dora', PASSWORD, 321);
  server.addUser('eli', PASSWORD, 42);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function call(token, method, p, body) {
  const res = await fetch(server.url + PREFIX + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const js = await res.json();
  assert.ok(res.ok, `${method} ${p}: ${res.status} ${JSON.stringify(js)}`);
  return js;
}

// A local-preview generation that fails as tests/integration/test_admin.py makes one fail:
// data/videos is a plain file, so the render cannot be moved into place (and is refunded).
async function failOne() {
  const pid = (await call(dora, 'POST', '/projects', { name: 'Doomed' })).project.id;
  const videos = path.join(server.env.VIDGEN_DATA_DIR, 'videos');
  renameSync(videos, `${videos}.keep`);
  writeFileSync(videos, 'not a directory');
  try {
    const g = (await call(dora, 'POST', '/generate', {
      projectId: pid, modelId: 'local-preview', prompt: 'a heron that never lands', resolution: '720p', duration: 1,
    })).generation;
    for (let i = 0; i < 600; i++) {
      const st = (await call(dora, 'GET', `/generations/${g.id}/status`)).status;
      if (st.status === 'failed') return g;
      assert.ok(st.status === 'pending' || st.status === 'processing', `status ${st.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the generation did not fail');
  } finally {
    unlinkSync(videos);
    renameSync(`${videos}.keep`, videos);
  }
}

test('an admin sees providers, recent failures, users and live charts; the URL keeps the page', async () => {
  const failed = await failOne();
  const page = await newPage(browser);
  await login(page, server, 'root', PASSWORD);
  const link = page.getByRole('link', { name: 'Admin', exact: true });
  await link.click();
  const admin = page.getByRole('main', { name: 'Admin' });
  await admin.getByRole('heading', { name: 'Admin', level: 1 }).waitFor();
  assert.equal(new URL(page.url()).searchParams.get('view'), 'admin');

  // queue and providers: the local renderer available, ModelsLab unavailable with the reason
  const providers = admin.getByRole('table', { name: 'Providers' });
  await providers.waitFor();
  const header = await providers.getByRole('columnheader').allInnerTexts();
  assert.deepEqual(header.map((h) => h.trim()), ['Provider', 'Status', 'In flight', 'Queued', 'Health', 'Last failure']);
  const local = providers.getByRole('row', { name: /^Local/ });
  assert.match(await local.innerText(), /Available/);
  assert.doesNotMatch(await local.innerText(), /Unavailable/);
  const modelslab = providers.getByRole('row', { name: /^ModelsLab/ });
  assert.match(await modelslab.innerText(), /Unavailable: MODELSLAB_API_KEY is not set/);
  await admin.getByTestId('queue').filter({ hasText: /0 jobs waiting at vidgen/ }).waitFor();

  // recent failures: dora's generation with its last error and its attempt
  const failures = admin.getByRole('table', { name: 'Recent failures' });
  await failures.waitFor();
  const rows = failures.getByRole('row');
  assert.equal(await rows.count(), 2, 'a header row and one failure');
  const row = (await rows.nth(1).innerText()).replace(/\s+/g, ' ');
  assert.match(row, /dora/);
  assert.match(row, /cannot move the video into place/);
  assert.match(row, new RegExp(failed.prompt));
  assert.equal((await rows.nth(1).getByRole('cell').nth(3).innerText()).trim(), '1', 'one attempt');

  // users and balances: dora was refunded, so she has her 321 credits again
  const users = admin.getByRole('table', { name: 'Users' });
  const userRow = async (name) => (await users.getByRole('row', { name: new RegExp(`^${name}\\b`) }).innerText()).replace(/\s+/g, ' ');
  assert.match(await userRow('root'), /Admin 5,000 credits/);
  assert.match(await userRow('dora'), /User 321 credits/);
  assert.match(await userRow('eli'), /User 42 credits/);
  assert.equal(await users.getByRole('row').count(), 5, 'a header row and admin, root, dora, eli');

  // the charts gain a point every few seconds; the failure shows in the failed total's rate
  const queueChart = admin.getByRole('img', { name: /^Queue depth: \d+ samples/ });
  await queueChart.waitFor();
  const samples = async () => Number(await queueChart.getAttribute('data-samples'));
  const first = await samples();
  await page.waitForFunction((n) => Number(document.querySelector('svg[aria-label^="Queue depth"]').dataset.samples) >= n + 2,
    first, { timeout: 15000 });
  assert.ok(await admin.locator('svg.spark polyline').count() >= 1, 'a line is drawn');
  const http = admin.getByRole('img', { name: /^HTTP requests: \d+ samples, now \d/ });
  await http.waitFor();
  assert.ok(Number(await http.getAttribute('data-samples')) >= 1);
  // a generation that completes while the page is open shows as a rate above zero
  const pid = (await call(dora, 'POST', '/projects', { name: 'Fine' })).project.id;
  const ok = (await call(dora, 'POST', '/generate', {
    projectId: pid, modelId: 'local-preview', prompt: 'a heron that lands', resolution: '720p', duration: 1,
  })).generation;
  await admin.getByRole('img', { name: /^Completed: \d+ samples, now [0-9.]*[1-9][0-9.]* \/min$/ }).waitFor({ timeout: 30000 });
  assert.equal((await call(dora, 'GET', `/generations/${ok.id}/status`)).status.status, 'completed');
  await shot(page, 'admin-01-page');

  // a reload keeps the page
  await page.reload();
  await page.getByRole('main', { name: 'Admin' }).getByRole('table', { name: 'Users' }).waitFor();
  await page.getByRole('link', { name: 'Projects', exact: true }).click();
  await page.getByRole('navigation', { name: 'Projects' }).waitFor();
  assert.equal(new URL(page.url()).searchParams.get('view'), null);
  await page.goBack();
  await page.getByRole('main', { name: 'Admin' }).waitFor();

  // at phone width it still reads: the tables scroll inside their panels, not the page
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole('table', { name: 'Providers' }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
  await shot(page, 'admin-02-phone');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a user who is not an admin sees no Admin link, and ?view=admin shows no admin data', async () => {
  const page = await newPage(browser);
  const asked = [];
  page.on('response', (r) => { if (/\/(admin\/|metrics)/.test(new URL(r.url()).pathname)) asked.push(`${r.status()} ${r.url()}`); });
  await login(page, server, 'eli', PASSWORD);
  assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
  await page.goto(server.url + '/?view=admin');
  await page.getByRole('navigation', { name: 'Projects' }).waitFor();
  await page.getByRole('heading', { name: 'Start with a project' }).waitFor();
  assert.equal(await page.getByRole('main', { name: 'Admin' }).count(), 0);
  assert.equal(await page.getByRole('table').count(), 0);
  assert.equal(await page.getByText('dora').count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
  assert.deepEqual(asked, [], 'the page asked for no admin data');
  await shot(page, 'admin-03-not-admin');
  assert.deepEqual(page.errors, []);
  // and the API would not have answered anyway
  for (const p of [`${PREFIX}/admin/users`, `${PREFIX}/admin/failed`, '/metrics']) {
    const status = await page.evaluate(async (u) => (await fetch(u)).status, p);
    assert.equal(status, 404, p);
  }
  await page.context().close();
});
