// The page follows the system's light or dark setting, and on a phone the log comes first: it
// is in the first screen, with the controls below it. Screenshots of both go to artifacts/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser } from './support.mjs';

const shared = backendAndBrowser();

const background = (page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
const phaseColour = (page) => page.evaluate(() => getComputedStyle(document.querySelector('#phase')).color);

test('light and dark themes follow the system setting', async () => {
  const page = await shared.browser.newPage();
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(shared.backend.url);
  await page.locator('#open').waitFor();
  const light = await background(page);
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await background(page);
  assert.notEqual(light, dark);
  assert.equal(light, 'rgb(246, 247, 249)');
  assert.equal(dark, 'rgb(20, 23, 28)');
  // The state is shown in colour as well as words.
  const closed = await phaseColour(page);
  await page.click('#open');
  await page.locator('#phase', { hasText: 'open' }).waitFor();
  assert.notEqual(await phaseColour(page), closed);
  await page.fill('#input', 'in the dark');
  await page.click('#send');
  await page.locator('#output .line .text', { hasText: 'RESPONSE: in the dark' }).waitFor();
  await page.screenshot({ path: 'artifacts/page-dark.png' });
  await page.close();
});

test('on a 1280x700 window the stats and most of the log are in the first screen', async () => {
  const page = await shared.browser.newPage({ viewport: { width: 1280, height: 700 } });
  await page.goto(shared.backend.url);
  const stats = await page.locator('#stat-rtt').boundingBox();
  const chart = await page.locator('#rtt-chart').boundingBox();
  const log = await page.locator('#output').boundingBox();
  assert.ok(stats.y + stats.height <= 700 && chart.y + chart.height <= 700, 'the figures and the chart, without scrolling');
  assert.ok(log.y + log.height <= 700 && log.height >= 350, `the log below them, ${log.height} px tall`);
  assert.ok(log.width > 1280 / 2, `and wider than half the window (${log.width} px)`);
  await page.close();
});

test('on a phone the log is in the first screen and the controls follow it', async () => {
  const page = await shared.browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(shared.backend.url);
  const log = await page.locator('#output').boundingBox();
  assert.ok(log.y < 200, `the log starts near the top (${log.y})`);
  assert.ok(log.y + log.height <= 844, 'all of it in the first screen');
  assert.ok(log.height > 300, `and most of it (${log.height} px)`);
  const open = await page.locator('#open').boundingBox();
  assert.ok(open.y > log.y + log.height, 'the controls come after the log');
  await page.locator('#open').click();
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
  await page.close();
});
