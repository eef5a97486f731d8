// What the page keeps across a reload (localStorage): the URL, subprotocols, reconnect option,
// format, recent connections and sent messages (sent again with one click), cleared on request;
// and the share link that opens the page with a URL and message filled in.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser, fieldsFilled } from './support.mjs';

const shared = backendAndBrowser();

const opened = (page) => page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();

test('settings and history survive a reload, a message is sent again with one click, and Clear forgets', async () => {
  const page = await shared.browser.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  const echoUrl = await page.inputValue('#url');
  await page.fill('#protocols', 'chat.v2');
  await page.check('#reconnect');
  await page.fill('#reconnect-limit', '3');
  await page.click('#open');
  await opened(page);
  await page.fill('#input', 'remember me');
  await page.click('#send');
  await page.locator('#output .line .text', { hasText: 'RESPONSE: remember me' }).waitFor();
  await page.selectOption('#format', 'hex');
  await page.fill('#input', 'c0ffee');
  await page.click('#send');
  await page.locator('#output .line .text', { hasText: /RESPONSE: <binary, 3 bytes>/ }).waitFor();
  await page.click('#close');

  await page.reload();
  await fieldsFilled(page);
  assert.equal(await page.inputValue('#url'), echoUrl);
  assert.equal(await page.inputValue('#protocols'), 'chat.v2');
  assert.equal(await page.isChecked('#reconnect'), true);
  assert.equal(await page.inputValue('#reconnect-limit'), '3');
  assert.equal(await page.inputValue('#format'), 'hex', 'the last message, in its format');
  assert.equal(await page.inputValue('#input'), 'c0ffee');
  assert.deepEqual(await page.locator('#recent-connections button').allTextContents(), [`${echoUrl} (chat.v2)`]);
  const messages = await page.locator('#recent-messages button').allTextContents();
  assert.deepEqual(messages, ['c0ffee [hex]', 'remember me']);
  assert.equal(await page.locator('#recent-messages button').first().isDisabled(), true, 'not while closed');

  await page.click('#open');
  await opened(page);
  await page.locator('#recent-messages button', { hasText: 'remember me' }).click();
  await page.locator('#output .line .text', { hasText: 'RESPONSE: remember me' }).waitFor();
  assert.deepEqual(await page.locator('#recent-messages button').allTextContents(),
    ['remember me', 'c0ffee [hex]'], 'sent again: first in the list');
  await page.click('#close');

  await page.click('#forget');
  assert.equal(await page.locator('#recent-messages').count(), 0);
  assert.match(await page.textContent('#history-note'), /cleared/);
  await page.reload();
  await fieldsFilled(page);
  assert.equal(await page.inputValue('#protocols'), '');
  assert.equal(await page.isChecked('#reconnect'), false);
  assert.equal(await page.inputValue('#input'), 'Hello world!');
  await page.close();
});

test('a recent connection goes back into the fields with one click', async () => {
  const page = await shared.browser.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  const echoUrl = await page.inputValue('#url');
  for (const protocols of ['first', 'second']) {
    await page.fill('#protocols', protocols);
    await page.click('#open');
    await page.locator('#phase', { hasText: /^open$/ }).waitFor();
    await page.click('#close');
    await page.locator('#phase', { hasText: /^closed$/ }).waitFor();
  }
  await page.locator('#recent-connections button', { hasText: '(first)' }).click();
  assert.equal(await page.inputValue('#protocols'), 'first');
  assert.equal(await page.inputValue('#url'), echoUrl);
  await page.close();
});

test('a share link opens the page with the URL and message filled in', async () => {
  const page = await shared.browser.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  const echoUrl = await page.inputValue('#url');
  const message = 'shared ✓ & "quoted" = 100%?\nsecond line';
  await page.fill('#input', message);
  await page.click('#share');
  const link = await page.inputValue('#share-link');
  assert.ok(link.startsWith(shared.backend.url), link);

  const visitor = await shared.browser.newPage();
  await visitor.goto(link);
  await fieldsFilled(visitor);
  assert.equal(await visitor.inputValue('#url'), echoUrl);
  assert.equal(await visitor.inputValue('#input'), message);
  await visitor.click('#open');
  await opened(visitor);
  await visitor.click('#send');
  await visitor.locator('#output .line .text', { hasText: 'RESPONSE: shared ✓' }).waitFor();

  // Binary in hex keeps its format.
  await visitor.goto(`${shared.backend.url}?url=${encodeURIComponent(echoUrl)}&message=00ff&format=hex`);
  await fieldsFilled(visitor);
  assert.equal(await visitor.inputValue('#format'), 'hex');
  assert.equal(await visitor.inputValue('#input'), '00ff');
  await page.close();
  await visitor.close();
});
