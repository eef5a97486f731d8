// The dev loop: `trunk serve` builds and serves the page and proxies its WebSocket on /echo to
// the backend, so Open / Send / Close work through it.
//
// Trunk.toml's proxy points at 127.0.0.1:8080; this test derives a config from it that points at
// a backend on a free port instead (and serves on a free port), so it never needs 8080.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startBackend, launchChromium } from './support.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const config = `${root}.trunk-serve-test.toml`;
/** A cold debug build of the frontend by trunk can take this long on 2 cores. */
const SERVE_TIMEOUT_MS = 300_000;

let backend;
let trunk;
let browser;
let pageUrl;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200 with a page that loads the wasm bundle. */
async function waitForPage(url, child) {
  const deadline = Date.now() + SERVE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`trunk serve exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok && (await response.text()).includes('.wasm')) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`trunk serve did not serve ${url} within ${SERVE_TIMEOUT_MS} ms`);
}

before(async () => {
  backend = await startBackend();
  const backendHost = new URL(backend.url).host;
  const port = await freePort();
  const original = readFileSync(`${root}Trunk.toml`, 'utf8');
  const derived = original
    .replace('ws://127.0.0.1:8080/echo', `ws://${backendHost}/echo`)
    .replace(/^port = \d+$/m, `port = ${port}`)
    .replace(/^dist = "dist"$/m, 'dist = "target/trunk-serve-test-dist"');
  assert.notEqual(derived, original, 'Trunk.toml still has the proxy and port this test rewrites');
  assert.ok(derived.includes(`ws://${backendHost}/echo`), 'the proxy now points at the test backend');
  writeFileSync(config, derived);

  trunk = spawn('trunk', ['serve', '--config', config, '--no-autoreload'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true, // its own process group, so the cargo it runs is stopped with it
  });
  pageUrl = `http://127.0.0.1:${port}/`;
  await waitForPage(pageUrl, trunk);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (trunk && trunk.exitCode === null) {
    try { process.kill(-trunk.pid, 'SIGTERM'); } catch { /* already gone */ }
  }
  backend?.stop();
  rmSync(config, { force: true });
});

test('Open / Send / Close work on the trunk serve page through its /echo proxy', async () => {
  const page = await browser.newPage();
  const sockets = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  await page.goto(pageUrl);
  const line = (text) => page.locator('#output .line .text').filter({ hasText: new RegExp(`^${text}$`) })
    .first().waitFor({ timeout: 10_000 });

  await page.click('#open');
  await line('OPEN');
  await page.fill('#input', 'through the proxy');
  await page.click('#send');
  await line('RESPONSE: through the proxy');
  await page.click('#close');
  await line('CLOSE \\(code 1000\\)');

  assert.ok(sockets.includes(`${pageUrl.replace('http://', 'ws://')}echo`), `the page used trunk's /echo: ${sockets}`);
  assert.ok(await backend.waitForLog('recv: through the proxy'), 'the message reached the backend');
  await page.close();
});
