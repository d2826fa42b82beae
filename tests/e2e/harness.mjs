// What the browser tests share: a real `vidgen serve` on a free loopback port with a fresh
// data directory, users made with the CLI, Debian's Chromium driven by playwright-core, and
// screenshots under build/e2e/.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { deflateSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.VIDGEN_BIN || path.join(REPO, 'build/vidgen');
export const OUT = process.env.E2E_OUT || path.join(REPO, 'build/e2e');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export class Server {
  // extraEnv: more environment; args: more `serve` arguments (e.g. ['--no-worker'], so that
  // a generation stays pending).
  static async start(extraEnv = {}, args = []) {
    const s = new Server();
    s.dir = mkdtempSync(path.join(tmpdir(), 'vidgen-e2e-'));
    s.port = await freePort();
    s.url = `http://127.0.0.1:${s.port}`;
    s.env = {
      PATH: process.env.PATH, HOME: process.env.HOME, VIDGEN_DATA_DIR: path.join(s.dir, 'data'),
      VIDGEN_ADDR: `127.0.0.1:${s.port}`, VIDGEN_ACCESS_LOG: 'off', ...extraEnv,
    };
    s.stderr = '';
    s.proc = spawn(BIN, ['serve', ...args], { cwd: s.dir, env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
    s.stdout = '';
    s.proc.stdout.on('data', (d) => { s.stdout += d; });
    s.proc.stderr.on('data', (d) => { s.stderr += d; });
    for (let i = 0; i < 200; i++) {
      if (s.proc.exitCode !== null) throw new Error(`vidgen serve exited: ${s.stderr}`);
      try {
        if ((await fetch(`${s.url}/healthz`)).ok) return s;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`vidgen serve not ready: ${s.stderr}`);
  }

  // A user with a web password (and `credits`; an admin with { admin: true }); returns its
  // API token.
  addUser(name, password, credits, { admin = false } = {}) {
    const args = ['user', 'add', name, '--credits', String(credits), '--password-stdin', ...(admin ? ['--admin'] : [])];
    return execFileSync(BIN, args, {
      cwd: this.dir, env: this.env, input: `${password}\n`, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'],
    }).trim();
  }

  async stop() {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
    if (this.proc.exitCode !== 0) throw new Error(`vidgen serve exited with ${this.proc.exitCode}: ${this.stderr}`);
  }
}

export async function launch() {
  mkdirSync(OUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
}

// A page that fails the test on any script error or CSP violation.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, ...options });
  const page = await context.newPage();
  page.errors = [];
  page.urls = []; // every URL the page asked for, to check that no secret travels in one
  page.on('request', (r) => page.urls.push(r.url()));
  page.on('pageerror', (e) => page.errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) page.errors.push(`console: ${m.text()}`);
  });
  return page;
}

// The URLs the page requested that carry any of `secrets` (a password, a token, the session
// cookie, the CSRF token), raw or URL-encoded: there must be none.
export function urlsWithSecrets(page, secrets) {
  const all = secrets.filter((s) => s && s.length >= 8).flatMap((s) => [s, encodeURIComponent(s)]);
  return page.urls.filter((u) => all.some((s) => u.includes(s)) || /[?&](token|key|password)=/i.test(u));
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

export async function login(page, server, name, password) {
  await page.goto(server.url + '/');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await page.getByRole('navigation', { name: 'Projects' }).waitFor();
}

export const readFile = readFileSync;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// A real PNG of w × h pixels of one colour ([r, g, b]), made here: no test image files.
export function makePng(w, h, [r, g, b]) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: h }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}
