// The "Server behaviour" panel: its controls build the fault parameters into the URL, a share
// link brings them back into the panel, the server misbehaves as asked, and hello=request shows
// the request as the server saw it (the subprotocol sent, the headers, the instance).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser, fieldsFilled } from './support.mjs';

const shared = backendAndBrowser();

const line = (page, text) => page.locator('#output .line .text', { hasText: text });

test('the panel builds the URL, the share link restores it, and the server does what it says', async () => {
  const page = await shared.browser.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  const echoUrl = await page.inputValue('#url');
  await page.click('#behaviour summary');
  await page.fill('#fx-close_after', '2');
  await page.fill('#fx-close_code', '4000');
  await page.fill('#fx-close_reason', 'bye now');
  await page.check('#fx-hello');
  const url = await page.inputValue('#url');
  assert.equal(url, `${echoUrl}?close_after=2&close_code=4000&close_reason=bye+now&hello=request`);

  // A share link carries the URL, so the panel comes back filled in.
  await page.click('#share');
  const link = await page.inputValue('#share-link');
  const visitor = await shared.browser.newPage();
  await visitor.goto(link);
  await fieldsFilled(visitor);
  assert.equal(await visitor.inputValue('#url'), url);
  assert.equal(await visitor.inputValue('#fx-close_after'), '2');
  assert.equal(await visitor.inputValue('#fx-close_code'), '4000');
  assert.equal(await visitor.inputValue('#fx-close_reason'), 'bye now');
  assert.equal(await visitor.isChecked('#fx-hello'), true);
  assert.equal(await visitor.isChecked('#fx-pongs'), false);
  // Unsetting a control takes its parameter out of the URL.
  await visitor.uncheck('#fx-hello');
  assert.equal(await visitor.inputValue('#url'), `${echoUrl}?close_after=2&close_code=4000&close_reason=bye+now`);
  await visitor.close();

  // The server closes after two echoes with 4000 and the reason, as asked.
  await page.fill('#protocols', 'chat.v2');
  await page.click('#open');
  await page.locator('#request-seen').waitFor();
  await page.fill('#input', 'one');
  await page.click('#send');
  await line(page, 'RESPONSE: one').waitFor();
  await page.fill('#input', 'two');
  await page.click('#send');
  await line(page, 'RESPONSE: two').waitFor();
  await line(page, 'CLOSE (code 4000, reason: bye now)').waitFor();
  assert.equal(await page.textContent('#phase'), 'closed');
  await page.close();
});

test('hello=request shows the request as the server saw it in a table', async () => {
  const page = await shared.browser.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  await page.click('#behaviour summary');
  await page.check('#fx-hello');
  await page.fill('#protocols', 'chat.v2');
  await page.click('#open');
  const table = page.locator('#request-seen');
  await table.waitFor();
  const text = await table.textContent();
  assert.match(text, /GET \/echo\?hello=request HTTP\/1\.1/);
  assert.match(text, /Subprotocolchat\.v2/);
  const rows = await page.locator('#request-seen tbody tr').allTextContents();
  assert.ok(rows.includes('sec-websocket-protocolchat.v2'), rows.join('\n'));
  assert.ok(rows.some((row) => row.startsWith('user-agent')), rows.join('\n'));
  // The instance that answered: in the table and in the bar.
  const servedBy = await page.textContent('#served-by');
  assert.ok(servedBy.length > 0);
  assert.match(text, new RegExp(`Served by${servedBy}`));
  // The hello is not taken for an echo: the first echo's round trip is its own.
  await page.fill('#input', 'after the hello');
  await page.click('#send');
  await line(page, 'RESPONSE: after the hello').waitFor();
  assert.equal(await page.locator('#output .line.echoed .rtt').count(), 1);
  await page.close();
});
