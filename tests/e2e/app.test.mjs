// The web app in headless Chromium, found by roles and accessible names as a screen reader
// user would: log in, make a project, compose with local-preview, watch the estimate follow
// the settings, generate, see the progress reach completed live, play and download the
// video, see the balance drop, and find it all again after a reload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { Server, launch, newPage, shot, login, makePng, urlsWithSecrets } from './harness.mjs';

const PASSWORD = 'fox in the snow 42';
let server;
let idle; // a second server with no worker: what is generated there stays queued
let browser;

before(async () => {
  server = await Server.start();
  server.addUser('ana', PASSWORD, 1000);
  server.addUser('ben', PASSWORD, 20);
  idle = await Server.start({}, ['--no-worker']);
  idle.addUser('cleo', PASSWORD, 100);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await idle?.stop();
  await server?.stop();
});

const balanceOf = async (page) => (await page.getByTestId('balance').innerText()).trim();
const estimate = (page) => page.getByRole('status', { name: 'Estimate' });

// Logs in to the server with no worker, makes a project and composes local-preview at
// 5 s 720p (10 credits) with `prompt`; returns the Generate button.
async function composeQueued(page, project, prompt) {
  await login(page, idle, 'cleo', PASSWORD);
  await page.getByLabel('New project name').fill(project);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('heading', { name: `New video in ${project}` }).waitFor();
  await page.getByRole('combobox', { name: 'Model' }).selectOption('local-preview');
  await page.getByRole('combobox', { name: 'Duration' }).selectOption('5');
  await page.getByRole('combobox', { name: 'Resolution' }).selectOption('720p');
  await page.getByRole('textbox', { name: 'Prompt' }).fill(prompt);
  await estimate(page).filter({ hasText: /^10 credits/ }).waitFor();
  return page.getByRole('button', { name: 'Generate · 10 credits' });
}

// The ledger dialog's rows (header excluded) as their text, newest first; closes it again.
async function ledgerRows(page) {
  await page.getByRole('button', { name: 'Credit history' }).click();
  const ledger = page.getByRole('dialog', { name: 'Credit history' });
  await ledger.getByRole('table').waitFor();
  const rows = await ledger.getByRole('row').allInnerTexts();
  await ledger.getByRole('button', { name: 'Close' }).click();
  return rows.slice(1).map((r) => r.replace(/\s+/g, ' ').trim());
}

test('main flow: login, project, estimate, generate, live progress, play, download, reload', async () => {
  const page = await newPage(browser);
  await page.goto(server.url + '/');
  await shot(page, '01-login');
  await page.getByLabel('User name').fill('ana');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'wrong user name or password' }).waitFor();
  await login(page, server, 'ana', PASSWORD);
  await page.getByRole('heading', { name: 'Start with a project' }).waitFor();
  assert.equal(await balanceOf(page), '1,000 credits');
  await shot(page, '02-empty');

  await page.getByLabel('New project name').fill('Fox film');
  await page.getByRole('button', { name: 'Create project' }).click();
  const link = page.getByRole('link', { name: /Fox film/ });
  await link.waitFor();
  assert.equal(await link.getAttribute('aria-current'), 'page');
  const projectId = new URL(page.url()).searchParams.get('project');
  assert.match(projectId, /^[0-9A-Z]{26}$/);

  // the model selector: grouped by provider, the unconfigured ones greyed with the reason;
  // on a desktop the settings are always shown, with no button to open them
  assert.equal(await page.getByRole('button', { name: /^Settings · / }).count(), 0);
  const model = page.getByRole('combobox', { name: 'Model' });
  await model.selectOption('local-preview');
  const veo = page.getByRole('option', { name: /Google Veo 3.*unavailable: MODELSLAB_API_KEY is not set/ });
  assert.equal(await veo.isDisabled(), true);
  assert.ok(await page.locator('optgroup[label="ModelsLab"] option[value="veo3"]').count());

  // the estimate follows the settings: base 10, 10 s = +5, 1080p = +3
  await estimate(page).filter({ hasText: '10 credits' }).waitFor();
  await page.getByRole('combobox', { name: 'Duration' }).selectOption('10');
  await estimate(page).filter({ hasText: '15 credits' }).waitFor();
  await page.getByRole('combobox', { name: 'Resolution' }).selectOption('1080p');
  await estimate(page).filter({ hasText: '18 credits' }).waitFor();
  assert.match(await estimate(page).innerText(), /Rp 900/);
  const generate = page.getByRole('button', { name: 'Generate · 18 credits' });
  assert.equal(await generate.isDisabled(), true, 'no prompt yet');
  await page.getByRole('textbox', { name: 'Prompt' }).fill('a red fox in the snow');
  assert.match(await page.locator('#prompt-count').innerText(), /^21 \/ 2000/);
  await shot(page, '03-composed');

  // generate: the card appears and reaches completed with no reload
  await page.evaluate(() => { window.noReload = true; });
  await generate.click();
  const card = page.getByRole('article', { name: 'Video: a red fox in the snow' });
  await card.waitFor();
  await card.getByText('Completed', { exact: true }).waitFor({ timeout: 30000 });
  assert.equal(await page.evaluate(() => window.noReload), true, 'the page was reloaded');
  assert.equal(await balanceOf(page), '982 credits');
  await shot(page, '04-completed');

  // its attempt history: one attempt, at the local renderer, completed
  await card.getByText('Attempt history', { exact: true }).click();
  const attempts = card.getByRole('list', { name: 'Attempts for a red fox in the snow' });
  await attempts.waitFor();
  const tried = await attempts.getByRole('listitem').allInnerTexts();
  assert.equal(tried.length, 1, `attempts: ${tried}`);
  assert.match(tried[0], /^Local · preview-v1 · Completed$/);
  await shot(page, '04b-attempts');

  // the video plays inline: metadata, a 10 s duration, time moving
  const video = card.getByLabel('Player: a red fox in the snow');
  const media = await video.evaluate(async (v) => {
    v.muted = true;
    if (v.readyState < 1) await new Promise((r) => v.addEventListener('loadedmetadata', r, { once: true }));
    await v.play();
    await new Promise((r) => setTimeout(r, 600));
    return { readyState: v.readyState, duration: v.duration, time: v.currentTime, w: v.videoWidth, h: v.videoHeight };
  });
  assert.ok(media.readyState >= 2, `readyState ${media.readyState}`);
  assert.ok(Math.abs(media.duration - 10) < 0.2, `duration ${media.duration}`);
  assert.ok(media.time > 0, 'the video does not play');
  assert.deepEqual([media.w, media.h], [1920, 1080]);
  await shot(page, '05-playing');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    card.getByRole('link', { name: 'Download' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /\.mp4$/);
  assert.ok(statSync(await download.path()).size > 10000);

  // the ledger lists the charge
  await page.getByRole('button', { name: 'Credit history' }).click();
  const ledger = page.getByRole('dialog', { name: 'Credit history' });
  await ledger.getByRole('cell', { name: '-18 credits' }).waitFor();
  await ledger.getByRole('button', { name: 'Close' }).click();

  // reload: the same project, its finished video, the same balance
  await page.reload();
  await page.getByRole('link', { name: /Fox film/ }).waitFor();
  assert.equal(new URL(page.url()).searchParams.get('project'), projectId);
  assert.equal(await page.getByRole('link', { name: /Fox film/ }).getAttribute('aria-current'), 'page');
  await page.getByRole('article', { name: 'Video: a red fox in the snow' }).getByText('Completed', { exact: true }).waitFor();
  assert.equal(await balanceOf(page), '982 credits');
  await shot(page, '06-reloaded');
  assert.deepEqual(page.errors, []);
  // no secret in any URL the page asked for: not the password, the session, its CSRF token
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'vg_session')?.value;
  assert.ok(session, 'the session cookie is set');
  const csrf = await page.evaluate(async () => (await (await fetch('/auth/session')).json()).csrfToken);
  assert.ok(page.urls.length > 10, `only ${page.urls.length} requests seen`);
  assert.deepEqual(urlsWithSecrets(page, [PASSWORD, session, csrf]), []);
  await page.context().close();
});

test('projects: rename, delete with a confirmation naming the loss; the URL follows', async () => {
  const page = await newPage(browser);
  await login(page, server, 'ana', PASSWORD);
  await page.getByLabel('New project name').fill('Scratch');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('link', { name: /Scratch/ }).waitFor();
  const scratchId = new URL(page.url()).searchParams.get('project');

  await page.getByRole('button', { name: 'Rename Scratch' }).click();
  const name = page.getByRole('textbox', { name: 'New name for Scratch' });
  await name.fill('Scratch two');
  await name.press('Enter');
  await page.getByRole('link', { name: /Scratch two/ }).waitFor();

  // switching projects changes the URL; Back returns
  await page.getByRole('link', { name: /Fox film/ }).click();
  await page.getByRole('heading', { name: 'New video in Fox film' }).waitFor();
  assert.notEqual(new URL(page.url()).searchParams.get('project'), scratchId);
  await page.goBack();
  await page.getByRole('heading', { name: 'New video in Scratch two' }).waitFor();

  await page.getByRole('button', { name: 'Delete Fox film' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Delete “Fox film”?' });
  assert.match(await confirm.innerText(), /1 generation and their videos/);
  await shot(page, '07-confirm-delete');
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Delete Scratch two' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Delete project' }).click();
  await page.getByRole('link', { name: /Scratch two/ }).waitFor({ state: 'detached' });
  await page.getByRole('heading', { name: 'New video in Fox film' }).waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('another user sees none of it; a short balance disables Generate with the reason', async () => {
  const page = await newPage(browser);
  await login(page, server, 'ben', PASSWORD);
  await page.getByRole('heading', { name: 'Start with a project' }).waitFor();
  assert.equal(await page.getByRole('link', { name: /Fox film/ }).count(), 0);
  await page.getByLabel('New project name').fill('Ben');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('combobox', { name: 'Model' }).selectOption('local-preview');
  await page.getByRole('combobox', { name: 'Resolution' }).selectOption('4K');
  await page.getByRole('combobox', { name: 'Duration' }).selectOption('20');
  await page.getByRole('textbox', { name: 'Prompt' }).fill('too dear');
  await estimate(page).filter({ hasText: '35 credits' }).waitFor();
  const button = page.getByRole('button', { name: 'Generate · 35 credits' });
  assert.equal(await button.isDisabled(), true);
  await page.getByText('You need 15 credits more.').waitFor();
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

// Presses Tab until the focused element matches `want` (a CSS selector); fails after `max`.
async function tabTo(page, want, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((sel) => document.activeElement?.matches(sel), want)) return;
  }
  assert.fail(`Tab never reached ${want}`);
}

test('keyboard only: log in, create a project, compose and generate', async () => {
  const page = await newPage(browser);
  await page.goto(server.url + '/');
  await page.getByLabel('User name').waitFor();
  await page.keyboard.type('ana'); // the name field has focus when the page opens
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation', { name: 'Projects' }).waitFor();
  await tabTo(page, '#new-project-name');
  await page.keyboard.type('Keys only');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'New video in Keys only' }).waitFor();
  await tabTo(page, '#prompt');
  await page.keyboard.type('typed without a mouse');
  await tabTo(page, 'button[type=submit].primary');
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(ring, 'none', 'the focused button shows no focus ring');
  await page.keyboard.press('Enter');
  await page.getByRole('article', { name: 'Video: typed without a mouse' }).getByText('Completed', { exact: true })
    .waitFor({ timeout: 30000 });
  await shot(page, '09-keyboard');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('images: pick a start image, see it priced in, a refused end image explained, remove', async () => {
  const page = await newPage(browser);
  await login(page, server, 'ana', PASSWORD);
  await page.getByRole('heading', { name: /^New video in/ }).waitFor();
  await page.getByRole('combobox', { name: 'Model' }).selectOption('local-preview');
  await page.getByRole('combobox', { name: 'Duration' }).selectOption('5');
  await page.getByRole('combobox', { name: 'Resolution' }).selectOption('720p');
  await estimate(page).filter({ hasText: /^10 credits/ }).waitFor();
  await page.getByLabel('Start image').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: makePng(96, 64, [200, 30, 30]) });
  await page.getByRole('img', { name: 'Start image: red.png' }).waitFor();
  await estimate(page).filter({ hasText: /^12 credits/ }).waitFor(); // +20 % for a start image
  await page.getByLabel('End image').setInputFiles({ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('not an image at all') });
  const refusal = page.locator('.zone').filter({ has: page.getByLabel('End image') }).getByRole('alert');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /JPEG|PNG|WebP|image/i);
  await shot(page, '10-images');
  await page.getByRole('textbox', { name: 'Prompt' }).fill('zoom into the red');
  await page.getByRole('button', { name: 'Generate · 12 credits' }).click();
  await page.getByRole('article', { name: 'Video: zoom into the red' }).getByText('Completed', { exact: true })
    .waitFor({ timeout: 30000 });
  await page.getByRole('button', { name: 'Remove start image' }).click();
  await estimate(page).filter({ hasText: /^10 credits/ }).waitFor();
  assert.deepEqual(page.errors.filter((e) => !/status of 4\d\d/.test(e)), []);
  await page.context().close();
});

test('phone width: the zones stack, the composer is the prompt and Generate, settings behind a button', async () => {
  const page = await newPage(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await login(page, server, 'ana', PASSWORD);
  await page.getByRole('article').first().waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the page scrolls sideways: ${width} px`);
  await shot(page, '08-phone');

  // the composer is the prompt and Generate; the settings open behind a button and close again
  const prompt = page.getByRole('textbox', { name: 'Prompt' });
  const model = page.getByRole('combobox', { name: 'Model' });
  const settings = page.getByRole('button', { name: /^Settings · / });
  await prompt.waitFor();
  assert.equal(await model.isVisible(), false, 'the settings show at phone width before they are asked for');
  assert.equal(await settings.getAttribute('aria-expanded'), 'false');
  await prompt.fill('a fox on a small screen');
  const generate = page.getByRole('button', { name: /^Generate · \d+ credits$/ });
  await generate.waitFor();
  await shot(page, '08b-phone-composer');
  await settings.click();
  assert.equal(await settings.getAttribute('aria-expanded'), 'true');
  await model.selectOption('local-preview');
  await page.getByRole('combobox', { name: 'Duration' }).selectOption('5');
  await page.getByRole('combobox', { name: 'Resolution' }).selectOption('720p');
  await page.getByRole('button', { name: 'Settings · Local Preview Renderer · 720p · 5 s · 16:9' }).waitFor();
  await shot(page, '08c-phone-settings');
  await settings.click();
  await model.waitFor({ state: 'hidden' });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390);
  await page.getByRole('button', { name: 'Generate · 10 credits' }).click();
  await page.getByRole('article', { name: 'Video: a fox on a small screen' }).getByText('Completed', { exact: true })
    .waitFor({ timeout: 30000 });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('logout ends the session; the page asks to log in again', async () => {
  const page = await newPage(browser);
  await login(page, server, 'ana', PASSWORD);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
  await page.reload();
  await page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
  const r = await page.evaluate(async () => (await fetch('/api/apps/video-generator/projects')).status);
  assert.equal(r, 401);
  await page.context().close();
});

test('cancel one and see the refund: queued, cancelled, the balance back, the refund in the ledger', async () => {
  const page = await newPage(browser);
  const generate = await composeQueued(page, 'Cancel me', 'a slow boat that never sails');
  const before = await balanceOf(page);
  await generate.click();
  const card = page.getByRole('article', { name: 'Video: a slow boat that never sails' });
  await card.getByText('Queued', { exact: true }).waitFor();
  await page.getByTestId('balance').filter({ hasText: /^90 credits$/ }).waitFor();
  assert.equal(before, '100 credits');
  await shot(page, '11-queued');

  await card.getByRole('button', { name: 'Cancel' }).click();
  await card.getByText('Cancelled', { exact: true }).waitFor();
  assert.equal(await card.getByRole('button', { name: 'Cancel' }).count(), 0);
  await card.getByText('Attempt history', { exact: true }).click();
  await card.getByText('Not sent to a provider yet.').waitFor();
  await page.getByTestId('balance').filter({ hasText: /^100 credits$/ }).waitFor();
  const rows = await ledgerRows(page);
  assert.match(rows[0], /refund.*cancelled before it started.*\+10 credits.*100 credits/);
  assert.match(rows[1], /charge.*-10 credits.*90 credits/);
  await shot(page, '12-cancelled');

  // after a reload it is still cancelled and the balance still whole
  await page.reload();
  await page.getByRole('article', { name: 'Video: a slow boat that never sails' }).getByText('Cancelled', { exact: true }).waitFor();
  assert.equal(await balanceOf(page), '100 credits');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

// Two clicks on Generate, made `how`: 'dblclick' (Playwright's, as a mouse does it: the
// second may find the button already disabled), 'same-task' (both clicks dispatched
// before the page can redraw, so both reach the handler and both requests go out) or
// 'after-reply' (the second click after the first one's reply, still a double click).
// Checks one card, one generation on the server and one charge more in the ledger; returns
// what the requests were answered.
async function generateTwice(page, prompt, how) {
  await page.getByRole('textbox', { name: 'Prompt' }).fill(prompt);
  const generate = page.getByRole('button', { name: 'Generate · 10 credits' });
  await generate.waitFor();
  const posts = [];
  const answered = [];
  const isGenerate = (r) => r.method() === 'POST' && r.url().endsWith('/api/apps/video-generator/generate');
  const onRequest = (r) => { if (isGenerate(r)) posts.push(r.headers()['idempotency-key']); };
  const onFinished = async (r) => { if (isGenerate(r)) answered.push((await r.response()).status()); };
  const chargesBefore = (await ledgerRows(page)).filter((r) => /charge/.test(r)).length;
  const balanceBefore = Number((await balanceOf(page)).replace(/\D/g, ''));
  page.on('request', onRequest);
  page.on('requestfinished', onFinished);
  if (how === 'dblclick') await generate.dblclick();
  else if (how === 'same-task') await generate.evaluate((b) => { b.click(); b.click(); });
  else { // 'after-reply': the second click lands once the first one's card is shown
    await generate.click();
    await page.getByRole('article', { name: `Video: ${prompt}` }).waitFor();
    await generate.click();
  }
  const card = page.getByRole('article', { name: `Video: ${prompt}` });
  await card.first().getByText('Queued', { exact: true }).waitFor();
  for (let i = 0; i < 100 && (posts.length === 0 || answered.length < posts.length); i++) await new Promise((r) => setTimeout(r, 50));
  page.off('request', onRequest);
  page.off('requestfinished', onFinished);
  assert.equal(answered.length, posts.length, 'a POST /generate never came back');
  assert.equal(new Set(posts).size, 1, `the clicks sent different Idempotency-Keys: ${posts}`);
  assert.equal(await card.count(), 1);

  // the server agrees: one generation with this prompt, one charge more, 10 credits less
  const projectId = new URL(page.url()).searchParams.get('project');
  const listed = await page.evaluate(async ([id, p]) => {
    const r = await fetch(`/api/apps/video-generator/generations?projectId=${id}`);
    return (await r.json()).generations.filter((g) => g.prompt === p).length;
  }, [projectId, prompt]);
  assert.equal(listed, 1);
  const charges = (await ledgerRows(page)).filter((r) => /charge/.test(r));
  assert.equal(charges.length, chargesBefore + 1);
  assert.match(charges[0], /-10 credits/);
  await page.getByTestId('balance').filter({ hasText: new RegExp(`^${balanceBefore - 10} credits$`) }).waitFor();
  return { requests: posts.length, answered };
}

test('a double click on Generate charges once: one generation, one ledger charge', async () => {
  const page = await newPage(browser);
  await composeQueued(page, 'Double', 'clicked twice in a hurry');
  const mouse = await generateTwice(page, 'clicked twice in a hurry', 'dblclick');
  // both clicks before a redraw: two requests with one key, still one generation
  const fast = await generateTwice(page, 'clicked twice faster than a redraw', 'same-task');
  assert.equal(fast.requests, 2, 'the second click did not send a request: the server side went untested');
  const late = await generateTwice(page, 'clicked again as the card appeared', 'after-reply');
  assert.equal(late.requests, 2);
  console.log(`double click: mouse ${mouse.requests} request(s) answered ${mouse.answered}; ` +
    `same task ${fast.requests} requests answered ${fast.answered}; after the reply ${late.requests} answered ${late.answered}`);
  await shot(page, '13-double-click');
  await page.reload();
  await page.getByRole('article', { name: 'Video: clicked twice in a hurry' }).waitFor();
  assert.equal(await page.getByRole('article', { name: 'Video: clicked twice faster than a redraw' }).count(), 1);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('an API token pasted at login works, and no URL ever carries it', async () => {
  const token = server.addUser('tess', PASSWORD, 100);
  assert.match(token, /^vg_/);
  const page = await newPage(browser);
  await page.goto(server.url + '/');
  await page.getByRole('button', { name: 'Log in with an API token instead' }).click();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Projects' }).waitFor();
  await page.getByLabel('New project name').fill('By token');
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('link', { name: /By token/ }).waitFor();
  await page.reload(); // the session cookie carries on; the token is never kept in the page
  await page.getByRole('link', { name: /By token/ }).waitFor();
  assert.equal(await page.evaluate((t) => JSON.stringify(localStorage).includes(t) ||
    JSON.stringify(sessionStorage).includes(t) || document.cookie.includes(t), token), false);
  assert.deepEqual(urlsWithSecrets(page, [token]), []);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
