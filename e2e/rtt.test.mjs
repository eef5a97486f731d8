// The round-trip times the page shows are true: compared with a plain WebSocket timed with
// performance.now() in the same page, against the same backend.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser } from './support.mjs';

const shared = backendAndBrowser();

/** Messages timed on each side. */
const COUNT = 40;

/** The medians may differ by this much, in ms. */
const AGREE_WITHIN_MS = 0.5;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

test('the page times round trips as a plain WebSocket does, to the hundredth of a ms', async () => {
  const page = await shared.browser.newPage();
  await page.goto(shared.backend.url);
  await page.click('#open');
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
  for (let i = 0; i < COUNT; i++) {
    await page.fill('#input', `timed ${i}`);
    await page.click('#send');
    await page.locator('#output .line .text', { hasText: new RegExp(`^RESPONSE: timed ${i}$`) })
      .waitFor({ timeout: 10_000 });
  }
  const shownTexts = await page.locator('#output .line .rtt').allInnerTexts();
  assert.equal(shownTexts.length, COUNT, 'one round trip per echo');
  for (const text of shownTexts) {
    const value = Number.parseFloat(text);
    if (value < 10) assert.match(text, /^\d\.\d\d ms$/, 'hundredths below 10 ms');
  }
  const shown = shownTexts.map((t) => Number.parseFloat(t));

  // The probe: a WebSocket of its own in the same page, one message at a time.
  const echoUrl = shared.backend.url.replace(/^http/, 'ws') + 'echo';
  const probe = await page.evaluate(async ({ url, count }) => {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error('probe could not connect'));
    });
    const times = [];
    for (let i = 0; i < count; i++) {
      const arrived = new Promise((resolve) => { socket.onmessage = () => resolve(performance.now()); });
      const sent = performance.now();
      socket.send(`probe ${i}`);
      times.push((await arrived) - sent);
    }
    socket.close();
    return times;
  }, { url: echoUrl, count: COUNT });

  const [pageMedian, probeMedian] = [median(shown), median(probe)];
  console.log(`round trip medians: page ${pageMedian.toFixed(3)} ms, probe ${probeMedian.toFixed(3)} ms`);
  assert.ok(
    Math.abs(pageMedian - probeMedian) <= AGREE_WITHIN_MS,
    `the page's median ${pageMedian} ms and the probe's ${probeMedian} ms differ by more than ${AGREE_WITHIN_MS} ms`,
  );
  // The stats panel summarises the same figures.
  const stats = await page.textContent('#stat-rtt');
  const [min] = stats.split(' / ').map((t) => Number.parseFloat(t));
  assert.ok(Math.abs(min - Math.min(...shown)) < 0.02, `stats min ${stats} vs log ${Math.min(...shown)}`);
  await page.close();
});
