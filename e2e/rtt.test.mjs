// The round-trip times the page shows are true: compared with a plain WebSocket timed with
// performance.now() in the same page, against the same backend.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser } from './support.mjs';

const shared = backendAndBrowser();

/** Messages timed on each side. */
const COUNT = 40;

/** Between two messages, on both sides. */
const PAUSE_MS = 30;

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
  // Both sides are driven from inside the page, one message at a time with the same pause
  // between messages: Playwright's own polling (waitFor) runs on the page's thread and would
  // delay the echo's event for the page's socket only.
  await page.evaluate(async ({ count, pauseMs }) => {
    const input = document.querySelector('#input');
    const log = document.querySelector('#output');
    for (let i = 0; i < count; i++) {
      const expected = `RESPONSE: timed ${i}`;
      const echoed = new Promise((resolve) => {
        const seen = () => [...log.querySelectorAll('.line .text')].some((e) => e.textContent === expected);
        const observer = new MutationObserver(() => { if (seen()) { observer.disconnect(); resolve(); } });
        observer.observe(log, { childList: true, subtree: true, characterData: true });
      });
      input.value = `timed ${i}`;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      document.querySelector('#send').click();
      await echoed;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }, { count: COUNT, pauseMs: PAUSE_MS });
  const shownTexts = await page.locator('#output .line .rtt').allInnerTexts();
  assert.equal(shownTexts.length, COUNT, 'one round trip per echo');
  for (const text of shownTexts) {
    const value = Number.parseFloat(text);
    if (value < 10) assert.match(text, /^\d\.\d\d ms$/, 'hundredths below 10 ms');
  }
  const shown = shownTexts.map((t) => Number.parseFloat(t));

  // The probe: a WebSocket of its own in the same page, one message at a time.
  const echoUrl = shared.backend.url.replace(/^http/, 'ws') + 'echo';
  const probe = await page.evaluate(async ({ url, count, pauseMs }) => {
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
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    socket.close();
    return times;
  }, { url: echoUrl, count: COUNT, pauseMs: PAUSE_MS });

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
