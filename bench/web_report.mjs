// bench/web_report.mjs SUMMARY.json BUDGET_KB LOOPBACK_BUDGET_MS RTT_MS: bench/web.sh's table (for
// bench/README.md) and its verdicts on the budget, from bench/web.mjs's summary line.
import { readFileSync } from 'node:fs';

const [file, kb, ms, rtt] = process.argv.slice(2);
const { summary, chromium } = JSON.parse(readFileSync(file, 'utf8'));
const f1 = (x) => x.toFixed(1);
console.log(`\nChromium ${chromium}; medians of ${summary[0].rounds} cold visits, in brackets the fastest and the slowest\n`);
console.log('| network | target | first render (ms) | FCP (ms) | transferred (bytes) | body bytes | requests |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const s of summary) {
  console.log(`| ${s.profile} | ${s.target} | ${f1(s.firstRender)} (${f1(s.firstRenderMin)}–${f1(s.firstRenderMax)}) | ${f1(s.fcp)} | ${s.bytes} | ${s.body} | ${s.requests} |`);
}
console.log('\n```');
const vg = summary.filter((s) => s.target === 'vidgen');
const verdict = (ok, text) => console.log(`${ok ? 'PASS' : 'MISS'}  ${text}`);
const bytes = Math.max(...vg.map((s) => s.bytes));
verdict(bytes <= kb * 1000, `transferred before the first render: ${(bytes / 1000).toFixed(1)} KB (budget ≤ ${kb} KB)`);
const lo = vg.find((s) => s.profile === 'loopback');
verdict(lo.firstRender <= Number(ms), `first render, loopback: ${f1(lo.firstRender)} ms (budget ≤ ${ms} ms)`);
const th = vg.find((s) => s.profile !== 'loopback');
const limit = 6 * Number(rtt) + 100;
verdict(th.firstRender <= limit, `first render, ${th.profile}: ${f1(th.firstRender)} ms (budget ≤ 6 × ${rtt} + 100 = ${limit} ms)`);
for (const s of vg) {
  const same = summary.find((x) => x.profile === s.profile && x.target === 'nginx-same-bytes');
  const flat = summary.find((x) => x.profile === s.profile && x.target === 'nginx-static-page');
  console.log(`INFO  ${s.profile}: vidgen ${f1(s.firstRender)} ms = ${(s.firstRender / same.firstRender).toFixed(2)}× nginx with the same bytes (${f1(same.firstRender)} ms); the static page ${f1(flat.firstRender)} ms, ${flat.bytes} bytes`);
}
console.log('```');
