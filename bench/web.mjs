// bench/web.mjs: the measuring half of bench/web.sh (which starts the servers and passes the
// targets in the environment). Each round opens every target in a fresh Chromium context (an
// empty HTTP cache, new connections) and waits for the login form, then reads from the
// page's own Performance API:
//   first render   the paint of the login heading, from Element Timing (a PerformanceObserver
//                  of type "element" on <h1 elementtiming="login">): the first paint that
//                  shows the user something to do; for the app it comes after its modules ran
//   FCP            first-contentful-paint (for the app: its "Loading vidgen…" line)
//   transferred    the navigation's and every resource's transferSize (headers + body as
//                  sent, compressed where it was), up to that paint; and how many requests
// Targets: WEB_TARGETS="name=url name=url …"; profiles: loopback, and one with the network
// throttled by Chromium (CDP Network.emulateNetworkConditions: WEB_RTT_MS of latency per
// request, WEB_MBIT Mbit/s down). Prints one JSON line per (profile, target, round), then a
// JSON summary line; bench/web.sh reads them.
import { chromium } from 'playwright-core';

const targets = (process.env.WEB_TARGETS || '').split(/\s+/).filter(Boolean).map((t) => {
  const i = t.indexOf('=');
  return { name: t.slice(0, i), url: t.slice(i + 1) };
});
const rounds = Number(process.env.WEB_ROUNDS || 15);
const rtt = Number(process.env.WEB_RTT_MS || 50);
const mbit = Number(process.env.WEB_MBIT || 10);
const profiles = [
  { name: 'loopback', net: null },
  { name: `${rtt} ms, ${mbit} Mbit/s`, net: { offline: false, latency: rtt, downloadThroughput: (mbit * 1e6) / 8, uploadThroughput: (mbit * 1e6) / 16 } },
];
if (!targets.length || !(rounds >= 1)) throw new Error('WEB_TARGETS and WEB_ROUNDS are required');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});

async function measure(target, net) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  if (net) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', net);
  }
  await page.goto(target.url, { waitUntil: 'commit' });
  await page.getByLabel('User name').waitFor({ state: 'visible', timeout: 30000 });
  const m = await page.evaluate(async () => {
    const element = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), 5000);
      new PerformanceObserver((list, obs) => {
        const e = list.getEntries().find((x) => x.identifier === 'login');
        if (e) {
          clearTimeout(timer);
          obs.disconnect();
          resolve(e.renderTime || e.loadTime);
        }
      }).observe({ type: 'element', buffered: true });
    });
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource').filter((r) => element === null || r.responseEnd <= element);
    return {
      firstRender: element,
      fcp: fcp ? fcp.startTime : null,
      bytes: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
      body: nav.encodedBodySize + res.reduce((n, r) => n + r.encodedBodySize, 0),
      requests: 1 + res.length,
    };
  });
  await context.close();
  if (m.firstRender === null) throw new Error(`${target.name}: no Element Timing entry for the login heading`);
  return m;
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// One unmeasured visit per target first (Chromium's own start-up, the servers' first reply).
for (const t of targets) await measure(t, null);
const all = {};
for (const p of profiles) {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...targets].reverse() : targets; // who goes first alternates
    for (const t of order) {
      const m = await measure(t, p.net);
      ((all[p.name] ||= {})[t.name] ||= []).push(m);
      console.log(JSON.stringify({ profile: p.name, target: t.name, round: r + 1, ...m }));
    }
  }
}
const summary = [];
for (const p of profiles) {
  for (const t of targets) {
    const list = all[p.name][t.name];
    const pick = (k) => list.map((m) => m[k]);
    summary.push({
      profile: p.name, target: t.name, rounds: list.length,
      firstRender: median(pick('firstRender')), firstRenderMin: Math.min(...pick('firstRender')), firstRenderMax: Math.max(...pick('firstRender')),
      fcp: median(pick('fcp')), bytes: median(pick('bytes')), body: median(pick('body')), requests: median(pick('requests')),
    });
  }
}
console.log(JSON.stringify({ summary, chromium: browser.version() }));
await browser.close();
