// End to end: the real backend serves the trunk-built page, Debian's Chromium (driven by
// playwright-core, no browser download) clicks Open / Send / Close and reads the log.
//
//   node --test            # from e2e/, after `trunk build --release` and `cargo build -p backend`
//
// ECHO_BACKEND_BIN and ECHO_DIST point at another backend binary or bundle.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { backendAndBrowser, startBackend, fieldsFilled } from './support.mjs';

/** The backend and Chromium this file's tests share. */
const shared = backendAndBrowser();

/** The log's lines, as the user reads them. */
async function logLines(page) {
  return page.locator('#output .line .text').allInnerTexts();
}

/** Waits until the log has `line` (exactly), up to 10 s. */
async function waitForLine(page, line) {
  await page.locator('#output .line .text').filter({ hasText: new RegExp(`^${escape(line)}$`) })
    .first().waitFor({ timeout: 10_000 });
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('the page from the backend opens, echoes and closes', async () => {
  const page = await shared.browser.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  await page.locator('#open').waitFor();
  assert.equal(await page.inputValue('#input'), 'Hello world!');
  assert.equal(await page.isDisabled('#send'), true, 'Send does nothing before Open');

  await page.click('#open');
  await waitForLine(page, 'OPEN');
  await page.click('#send');
  await waitForLine(page, 'RESPONSE: Hello world!');
  await page.click('#close');
  await waitForLine(page, 'CLOSE (code 1000)');

  assert.deepEqual(await logLines(page), [
    'OPEN',
    'SEND: Hello world!',
    'RESPONSE: Hello world!',
    'CLOSE (code 1000)',
  ]);
  assert.ok(await shared.backend.waitForLog('recv: Hello world!'), 'the backend logged the message');

  mkdirSync('artifacts', { recursive: true });
  await page.screenshot({ path: 'artifacts/page.png', fullPage: true });
  await page.close();
});

test('markup in a message is shown as text, never run', async () => {
  const page = await shared.browser.newPage();
  let dialogs = 0;
  page.on('dialog', (dialog) => { dialogs += 1; dialog.dismiss(); });
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  await page.click('#open');
  await waitForLine(page, 'OPEN');

  const payload = '<img src=x onerror=alert(1)>';
  await page.fill('#input', payload);
  await page.press('#input', 'Enter');
  await waitForLine(page, `RESPONSE: ${payload}`);

  assert.deepEqual(await logLines(page), ['OPEN', `SEND: ${payload}`, `RESPONSE: ${payload}`]);
  assert.equal(await page.locator('#output img').count(), 0, 'no <img> element was created');
  await page.waitForTimeout(300);
  assert.equal(dialogs, 0, 'no alert ran');
  await page.close();
});

test('the page connects with the scheme and host it was loaded from', async () => {
  const page = await shared.browser.newPage();
  const sockets = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  await page.click('#open');
  await waitForLine(page, 'OPEN');
  assert.deepEqual(sockets, [`${shared.backend.url.replace('http://', 'ws://')}echo`]);
  await page.close();
});

test('binary messages round-trip as hex, and Close sends the chosen code and reason', async () => {
  const page = await shared.browser.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  await page.click('#open');
  await waitForLine(page, 'OPEN');

  await page.fill('#input', 'de ad be ef');
  await page.selectOption('#format', 'hex');
  await page.click('#send');
  await waitForLine(page, 'RESPONSE: <binary, 4 bytes> de ad be ef');
  assert.equal(await page.inputValue('#input'), 'de ad be ef', 'typed text survives the echo');

  await page.fill('#input', 'not hex');
  await page.click('#send');
  await page.locator('#input-error').waitFor();
  assert.match(await page.innerText('#input-error'), /is not a hex digit/);

  await page.fill('#close-code', '4000');
  await page.fill('#close-reason', 'bye from e2e');
  await page.click('#close');
  await waitForLine(page, 'CLOSE (code 4000, reason: bye from e2e)');
  assert.deepEqual(await logLines(page), [
    'OPEN',
    'SEND: <binary, 4 bytes> de ad be ef',
    'RESPONSE: <binary, 4 bytes> de ad be ef',
    'CLOSE (code 4000, reason: bye from e2e)',
  ]);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'artifacts/page-phone.png', fullPage: true });
  await page.close();
});

test('the page reconnects by itself after the backend restarts', async () => {
  const first = await startBackend();
  const port = new URL(first.url).port;
  const page = await shared.browser.newPage();
  await page.goto(first.url);
  await fieldsFilled(page);
  await page.check('#reconnect');
  await page.click('#open');
  await waitForLine(page, 'OPEN');

  first.stop(); // SIGTERM: close 1001 to the page, then the process exits
  await page.locator('#output .line .text', { hasText: /^RECONNECT: in / }).first().waitFor({ timeout: 10_000 });
  const second = await startBackend({ addr: `127.0.0.1:${port}` });
  try {
    await page.locator('#output .line .text', { hasText: /^OPEN$/ }).nth(1).waitFor({ timeout: 20_000 });
    await page.fill('#input', 'after the restart');
    await page.click('#send');
    await waitForLine(page, 'RESPONSE: after the restart');
    const lines = await logLines(page);
    assert.ok(lines.some((l) => l.startsWith('CLOSE (code 1001, reason: server shutting down')), lines.join('\n'));
  } finally {
    await page.close();
    second.stop();
  }
});
