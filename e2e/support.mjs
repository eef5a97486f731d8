// Helpers for the end-to-end tests: the backend as a child process, Debian's Chromium.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const STARTUP_TIMEOUT_MS = 20_000;

/** Starts the backend on a free port; resolves when it logs the address it listens on. */
export function startBackend({ args = [], addr = '127.0.0.1:0' } = {}) {
  const bin = process.env.ECHO_BACKEND_BIN ?? `${root}target/debug/backend`;
  const dist = process.env.ECHO_DIST ?? `${root}dist`;
  if (!existsSync(bin)) throw new Error(`no backend binary at ${bin}: run \`cargo build -p backend\` first`);
  if (!existsSync(`${dist}/index.html`)) throw new Error(`no bundle in ${dist}: run \`trunk build --release\` first`);

  const child = spawn(bin, ['--addr', addr, '--dist', dist, ...args], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let log = '';
  let started = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the backend did not log its address within ${STARTUP_TIMEOUT_MS} ms:\n${log}`));
    }, STARTUP_TIMEOUT_MS);
    child.on('exit', (code) => reject(new Error(`the backend exited with ${code}:\n${log}`)));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const found = log.match(/listening on (http:\/\/[^\s]+)/);
      if (found && !started) {
        started = true;
        clearTimeout(timer);
        resolve({
          url: `${found[1]}/`,
          /** True once the backend's log has `text`, waiting up to 5 s. */
          async waitForLog(text) {
            for (let waited = 0; waited < 5_000; waited += 50) {
              if (log.includes(text)) return true;
              await new Promise((r) => setTimeout(r, 50));
            }
            return false;
          },
          stop() { child.kill('SIGTERM'); },
        });
      }
    });
  });
}

/** Debian's Chromium, headless, with the flags it needs as root on a machine with no network. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** Starts a backend and Chromium before a test file's tests and stops both after them; the
 *  returned object's `backend` and `browser` are set once the tests run. */
export function backendAndBrowser() {
  const shared = {};
  before(async () => {
    shared.backend = await startBackend();
    shared.browser = await launchChromium();
  });
  after(async () => {
    await shared.browser?.close();
    shared.backend?.stop();
  });
  return shared;
}

/**
 * Waits until the page has filled its URL and message fields: they are set just after the first
 * render (an effect), so a value read straight after `goto` can still be empty.
 */
export async function fieldsFilled(page) {
  await page.waitForFunction(() => document.querySelector('#url')?.value && document.querySelector('#input')?.value);
}
