// Shared by the browser tests (web/browsertest/*.test.mjs), which
// cmd/civic/browser_test.go runs one node process each, with BASE_URL
// (the server, http://127.0.0.1:PORT) and SCREENSHOT_DIR in the
// environment. A test exits 0 when it passes; it prints what it checked,
// and non-zero with a message when something failed.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// CHROMIUM is Debian's chromium (apt-get install chromium): playwright
// never downloads a browser here (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// launch starts headless chromium without anything that reaches out on
// its own (component updates, background networking), so the requests a
// test sees are the page's.
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
}

// env returns BASE_URL (without a trailing slash) and SCREENSHOT_DIR,
// failing when either is missing.
export function env() {
  const base = process.env.BASE_URL;
  const shots = process.env.SCREENSHOT_DIR;
  if (!base || !shots) fail('BASE_URL and SCREENSHOT_DIR must be set (see web/browsertest/browser.mjs)');
  mkdirSync(shots, { recursive: true });
  return { base: base.replace(/\/$/, ''), shots };
}

// watchOrigins records every request the page (and its workers) makes
// to an origin other than base's; the list should stay empty.
export function watchOrigins(context, base) {
  const origin = new URL(base).origin;
  const wsOrigin = origin.replace(/^http/, 'ws');
  const foreign = [];
  const seen = { requests: 0, sockets: 0 };
  const check = (url) => {
    if (url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank') return;
    const o = new URL(url).origin;
    if (o !== origin && o !== wsOrigin) foreign.push(url);
  };
  context.on('request', (req) => {
    seen.requests++;
    check(req.url());
  });
  context.on('page', (page) => page.on('websocket', (ws) => {
    seen.sockets++;
    check(ws.url());
  }));
  return { foreign, seen };
}

// shot saves a full-page PNG screenshot as SCREENSHOT_DIR/NAME.png.
export async function shot(page, shots, name) {
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${file}`);
  return file;
}

// step runs one named check and prints it, with what fn returns; a
// failure is thrown again with the step's name (uncaught, it ends node
// with a non-zero code; caught, a test can take a last screenshot).
export async function step(name, fn) {
  const t0 = Date.now();
  let detail;
  try {
    detail = await fn();
  } catch (err) {
    throw new Error(`${name}: ${err?.message || err}`, { cause: err });
  }
  console.log(`ok   ${name} (${Date.now() - t0} ms)${detail ? `: ${detail}` : ''}`);
}

// fail prints the message and exits non-zero.
export function fail(message) {
  console.error(`FAIL ${message}`);
  process.exit(1);
}
