// End to end: the log's tools (filter, search, copy, export, auto-scroll, JSON pretty-printing,
// Send × N) and a keyboard-only session, in Debian's Chromium against the real backend.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { backendAndBrowser, fieldsFilled } from './support.mjs';

/** The backend and Chromium this file's tests share. */
const shared = backendAndBrowser();

const logLines = (page) => page.locator('#output .line .text').allInnerTexts();

/** A page with an open connection; `options` go to newContext (permissions, viewport). */
async function openPage(options = {}) {
  const context = await shared.browser.newContext(options);
  const page = await context.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  await page.click('#open');
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
  return page;
}

/** Sends `text` `times` times and waits until the stats count `received` messages back. */
async function send(page, text, { times = 1, received }) {
  await page.fill('#input', text);
  await page.fill('#repeat', String(times));
  await page.click('#send');
  await page.waitForFunction(
    (n) => document.querySelector('#stat-received').textContent.startsWith(`${n} msgs`),
    received,
    { timeout: 15_000 },
  );
}

test('filter by direction and search narrow the log; Send × N sends N copies', async () => {
  const page = await openPage();
  await send(page, 'alpha', { times: 3, received: 3 });
  await send(page, 'Beta', { received: 4 });

  await page.selectOption('#log-filter', 'sent');
  assert.deepEqual(await logLines(page), ['SEND: alpha', 'SEND: alpha', 'SEND: alpha', 'SEND: Beta']);
  await page.selectOption('#log-filter', 'received');
  assert.deepEqual(await logLines(page),
    ['RESPONSE: alpha', 'RESPONSE: alpha', 'RESPONSE: alpha', 'RESPONSE: Beta']);
  await page.selectOption('#log-filter', 'events');
  assert.deepEqual(await logLines(page), ['OPEN']);

  await page.selectOption('#log-filter', 'all');
  await page.fill('#log-search', 'BETA');
  assert.deepEqual(await logLines(page), ['SEND: Beta', 'RESPONSE: Beta']);
  await page.fill('#log-search', 'nothing like this');
  assert.deepEqual(await logLines(page), []);
  assert.equal(await page.textContent('#log-notice'), 'No entries match.');
  await page.fill('#log-search', '');
  assert.equal((await logLines(page)).length, 9);

  await page.fill('#repeat', '0');
  await page.click('#send');
  assert.match(await page.textContent('#input-error'), /not a whole number from 1 to 10000/);
  assert.equal((await logLines(page)).length, 9, 'nothing was sent');
  await page.context().close();
});

test('a JSON message is pretty-printed in the log, other text is left alone', async () => {
  const page = await openPage();
  await send(page, '{"user":"ada","tags":["a","b"]}', { received: 1 });
  const [, sent, echoed] = await logLines(page);
  const pretty = '{\n  "user": "ada",\n  "tags": [\n    "a",\n    "b"\n  ]\n}';
  assert.equal(sent, `SEND: ${pretty}`);
  assert.equal(echoed, `RESPONSE: ${pretty}`);
  await send(page, '{not json', { received: 2 });
  assert.equal((await logLines(page)).at(-1), 'RESPONSE: {not json');
  await page.context().close();
});

test('Copy puts the shown entries on the clipboard', async () => {
  const page = await openPage({ permissions: ['clipboard-read', 'clipboard-write'] });
  await send(page, 'copy me', { received: 1 });
  await send(page, 'not me', { received: 2 });
  await page.fill('#log-search', 'copy me');
  await page.click('#copy');
  await page.locator('#log-status', { hasText: 'Copied 2 entries.' }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  const lines = copied.trimEnd().split('\n');
  assert.equal(lines.length, 2, copied);
  assert.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} {2}SEND: copy me$/);
  assert.match(lines[1], /^\d\d:\d\d:\d\d\.\d{3} {2}RESPONSE: copy me$/);
  await page.context().close();
});

test('Export downloads the shown entries as JSON lines', async () => {
  const page = await openPage({ acceptDownloads: true });
  await send(page, 'say "hi"\nthere', { received: 1 });
  await page.fill('#close-code', '4000');
  await page.fill('#close-reason', 'done');
  await page.click('#close');
  await page.locator('#output .line .text', { hasText: /^CLOSE/ }).waitFor();

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.match(download.suggestedFilename(), /^echo-log-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.jsonl$/);
  const entries = (await readFile(await download.path(), 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(entries.map((e) => e.kind), ['open', 'send', 'response', 'close']);
  const [, sent, echoed, closed] = entries;
  assert.deepEqual({ type: sent.type, size: sent.size, text: sent.text }, { type: 'text', size: 14, text: 'say "hi"\nthere' });
  assert.equal(echoed.text, 'say "hi"\nthere');
  assert.ok(echoed.rtt_ms >= 0, 'the echo carries its round trip');
  assert.ok(!Number.isNaN(Date.parse(sent.time)), `an ISO time: ${sent.time}`);
  assert.deepEqual({ code: closed.code, reason: closed.reason, was_clean: closed.was_clean },
    { code: 4000, reason: 'done', was_clean: true });
  assert.match(await page.textContent('#log-status'), /^Exported 4 entries to echo-log-/);
  await page.context().close();
});

test('the log follows new entries until the user scrolls up', async () => {
  const page = await openPage({ viewport: { width: 1280, height: 600 } });
  const position = () => page.$eval('#output', (o) => ({
    top: o.scrollTop, end: o.scrollHeight - o.clientHeight,
  }));
  await send(page, 'line', { times: 100, received: 100 });
  let at = await position();
  assert.ok(at.end > 0, 'the log overflows');
  assert.ok(at.end - at.top <= 4, `following: ${JSON.stringify(at)}`);
  assert.equal(await page.locator('#follow').count(), 0);

  await page.$eval('#output', (o) => o.scrollTo(0, 0));
  await page.locator('#follow').waitFor();
  await send(page, 'more', { times: 20, received: 120 });
  at = await position();
  assert.equal(at.top, 0, 'scrolled up: the view stays where the user put it');

  await page.click('#follow');
  await page.locator('#follow').waitFor({ state: 'detached' });
  at = await position();
  assert.ok(at.end - at.top <= 4, `following again: ${JSON.stringify(at)}`);
  await send(page, 'last', { received: 121 });
  at = await position();
  assert.ok(at.end - at.top <= 4, `new entries scroll into view: ${JSON.stringify(at)}`);
  await page.context().close();
});

test('keyboard only: every control is reachable by Tab, and a whole session works', async () => {
  const context = await shared.browser.newContext();
  const page = await context.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  await page.locator('#open').waitFor();

  // Tab through the page once, noting where focus lands (disabled buttons are skipped, as
  // they should be: Send, Close and Start do nothing before Open).
  const tabOrder = async () => {
    const order = [];
    for (let i = 0; i < 40; i += 1) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
      if (order.includes(id)) break;
      order.push(id);
    }
    return order;
  };
  const reachable = (order, ids) => ids.forEach((id) =>
    assert.ok(order.includes(id), `#${id} is reachable by Tab; order: ${order.join(' ')}`));
  reachable(await tabOrder(), ['url', 'protocols', 'open', 'reconnect', 'input', 'format', 'repeat',
    'ticker-ms', 'log-filter', 'log-search', 'copy', 'export', 'clear']);
  // Every field has a name a screen reader can read.
  const unnamed = await page.$$eval('input, select, textarea, button', (controls) => controls
    .filter((c) => !(c.labels?.length || c.getAttribute('aria-label') || c.textContent.trim()))
    .map((c) => c.id));
  assert.deepEqual(unnamed, []);

  const focus = async (id) => {
    await page.keyboard.press('Tab');
    for (let i = 0; i < 40 && await page.evaluate(() => document.activeElement?.id) !== id; i += 1) {
      await page.keyboard.press('Tab');
    }
    assert.equal(await page.evaluate(() => document.activeElement?.id), id);
  };
  await focus('open');
  await page.keyboard.press('Enter');
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
  reachable(await tabOrder(), ['send', 'close', 'close-code', 'close-reason', 'ticker-start']);
  await focus('input');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('typed, not clicked');
  await page.keyboard.press('Enter');
  await page.locator('#output .line .text', { hasText: /^RESPONSE: typed, not clicked$/ }).waitFor();
  await focus('close');
  await page.keyboard.press('Space');
  await page.locator('#output .line .text', { hasText: /^CLOSE \(code 1000\)$/ }).waitFor();
  assert.deepEqual(await logLines(page),
    ['OPEN', 'SEND: typed, not clicked', 'RESPONSE: typed, not clicked', 'CLOSE (code 1000)']);
  // Enter in the URL field opens, as in an address bar.
  await focus('url');
  await page.keyboard.press('Enter');
  await page.locator('#phase', { hasText: /^open$/ }).waitFor();
  assert.equal((await logLines(page)).at(-1), 'OPEN');
  await context.close();
});

test('subprotocols are offered, the state is shown, the ticker and the stats run', async () => {
  const context = await shared.browser.newContext();
  const page = await context.newPage();
  // The handshake as Chromium sends it, from the DevTools protocol.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const handshakes = [];
  cdp.on('Network.webSocketWillSendHandshakeRequest', (event) => handshakes.push(event.request.headers));
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  assert.equal(await page.textContent('#phase'), 'closed');

  await page.fill('#protocols', 'chat.v2, echo');
  await page.click('#open');
  await page.locator('#phase', { hasText: /^open$/ }).waitFor();
  const offered = handshakes.map((h) => h['Sec-WebSocket-Protocol'] ?? h['sec-websocket-protocol']);
  assert.deepEqual(offered, ['chat.v2, echo']);
  assert.equal(await page.textContent('#protocol'), 'chat.v2', 'the one the backend agreed to');
  assert.equal(await page.isDisabled('#open'), true);
  assert.equal(await page.isDisabled('#url'), true, 'the URL is fixed while connected');

  await page.fill('#ticker-ms', '100');
  await page.click('#ticker-start');
  await page.locator('#output .line .text', { hasText: /^RESPONSE: 20\d\d-/ }).nth(2).waitFor();
  await page.click('#ticker-stop');
  // A tick that fired just before Stop can still go out: a lone send waits for the two frames
  // the click paints (about 33 ms). Count once those are done.
  await page.waitForTimeout(150);
  const ticks = (await logLines(page)).filter((l) => /^SEND: 20\d\d-\d\d-\d\d/.test(l)).length;
  assert.ok(ticks >= 3, `the ticker sent the time: ${ticks}`);
  await page.waitForTimeout(400);
  const after = (await logLines(page)).filter((l) => l.startsWith('SEND: ')).length;
  assert.equal(after, ticks, 'nothing more after Stop');

  await page.waitForFunction(() => /^[1-9]\d* msgs/.test(document.querySelector('#stat-received').textContent)
    && document.querySelector('#stat-sent').textContent === document.querySelector('#stat-received').textContent);
  assert.match(await page.textContent("#stat-rtt"), /^\d+(\.\d+)? ms \/ \d+(\.\d+)? ms \/ \d+(\.\d+)? ms$/);
  assert.match(await page.textContent('#stat-uptime'), /^0:00:0\d$/);

  await page.click('#close');
  await page.locator('#phase', { hasText: /^closed$/ }).waitFor();
  assert.equal(await page.textContent('#stat-uptime'), '–');
  await context.close();
});
