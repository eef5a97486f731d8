// The round-trip times the page shows are true: compared with a plain WebSocket timed with
// performance.now() in the same page, against the same backend.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser, fieldsFilled } from './support.mjs';

const shared = backendAndBrowser();

/** Messages timed on each side. */
const COUNT = 60;

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
  await fieldsFilled(page);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true,
    'cross-origin isolated: performance.now() has 5 µs resolution, not 100 µs');
  await page.click('#open');
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
  // Both sides are driven from inside the page, taking turns message by message, so that they
  // meet the same machine at the same time (Playwright's own polling, waitFor, would run on the
  // page's thread and delay the echo's event for the page's socket only).
  const echoUrl = shared.backend.url.replace(/^http/, 'ws') + 'echo';
  const probe = await page.evaluate(async ({ url, count, pauseMs }) => {
    const pause = () => new Promise((r) => setTimeout(r, pauseMs));
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error('probe could not connect'));
    });
    const input = document.querySelector('#input');
    const log = document.querySelector('#output');
    const times = [];
    for (let i = 0; i < count; i++) {
      // The page: type and click Send, wait for the echo's line.
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
      await pause();
      // The probe: a plain WebSocket timed with performance.now().
      const arrived = new Promise((resolve) => { socket.onmessage = () => resolve(performance.now()); });
      const sent = performance.now();
      socket.send(`probe ${i}`);
      times.push((await arrived) - sent);
      await pause();
    }
    socket.close();
    return times;
  }, { url: echoUrl, count: COUNT, pauseMs: PAUSE_MS });
  const shownTexts = await page.locator('#output .line .rtt').allInnerTexts();
  assert.equal(shownTexts.length, COUNT, 'one round trip per echo');
  for (const text of shownTexts) {
    const value = Number.parseFloat(text);
    if (value < 10) assert.match(text, /^\d\.\d\d ms$/, 'hundredths below 10 ms');
  }
  const shown = shownTexts.map((t) => Number.parseFloat(t));

  const [pageMedian, probeMedian] = [median(shown), median(probe)];
  console.log(`round trip medians: page ${pageMedian.toFixed(3)} ms, probe ${probeMedian.toFixed(3)} ms`);
  assert.ok(
    Math.abs(pageMedian - probeMedian) <= AGREE_WITHIN_MS,
    `the page's median ${pageMedian} ms and the probe's ${probeMedian} ms differ by more than ${AGREE_WITHIN_MS} ms`,
  );
  // The stats panel summarises the same figures. It redraws at most four times a second and
  // catches up with the uptime's render each second (components/stats_panel.rs): read it until
  // it has, for up to 2 s (read at once, it failed in CI once: 0.84 ms shown while the log
  // already had 0.76).
  const logMin = Math.min(...shown);
  const statsMin = (text) => Number.parseFloat(text.split(' / ')[0]);
  let stats = await page.textContent('#stat-rtt');
  for (const until = Date.now() + 2000; Math.abs(statsMin(stats) - logMin) >= 0.02 && Date.now() < until;) {
    await page.waitForTimeout(100);
    stats = await page.textContent('#stat-rtt');
  }
  assert.ok(Math.abs(statsMin(stats) - logMin) < 0.02, `stats min ${stats} vs log ${logMin}`);
  await page.close();
});
