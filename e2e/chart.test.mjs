// The live round-trip chart draws and updates as echoes arrive, and the histogram counts every
// round trip: checked against the SVG drawn and the backend's own message counter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser, fieldsFilled } from './support.mjs';

const shared = backendAndBrowser();

/** The chart's drawing: the points of its round-trip line and its echoes-per-second bars. */
const chartState = (page) => page.evaluate(() => {
  const points = document.querySelector('#rtt-chart polyline').getAttribute('points').trim();
  const bars = [...document.querySelectorAll('#rtt-chart rect')].map((r) => Number(r.getAttribute('height')));
  const box = document.querySelector('#rtt-chart').getBoundingClientRect();
  return { points: points ? points.split(/\s+/).length : 0, line: points, bars, width: box.width, height: box.height };
});

/** The histogram's bars: the count in each bar's title, and whether it has height. */
const histogram = (page) => page.$$eval('#rtt-histogram .bin', (bins) => bins.map((bin) => ({
  count: Number(bin.title.split(': ').pop()),
  tall: bin.getBoundingClientRect().height > 0,
})));

async function echoesIn(backendUrl) {
  const text = await (await fetch(`${backendUrl}metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('echo_messages_total{direction="in",type="text"} '));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function sendTimes(page, times) {
  await page.fill('#input', 'chart me');
  await page.fill('#repeat', String(times));
  await page.click('#send');
}

test('the chart draws the round trips and redraws as more arrive; the histogram counts them all', async () => {
  const page = await shared.browser.newPage();
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  assert.match(await page.textContent('#rtt-chart-caption'), /appear here/);
  assert.equal((await chartState(page)).points, 0, 'nothing drawn before any echo');
  assert.deepEqual(await histogram(page), []);

  const before = await echoesIn(shared.backend.url);
  await page.click('#open');
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
  await sendTimes(page, 50);
  await page.locator('#rtt-chart-caption', { hasText: 'Last 50 round trips' }).waitFor();
  const first = await chartState(page);
  assert.equal(first.points, 50, 'a point for each round trip');
  assert.ok(first.bars.length >= 1 && first.bars.some((h) => h > 0), 'echoes per second drawn');
  assert.ok(first.width > 200 && first.height > 50, `visible (${first.width} x ${first.height})`);
  let bins = await histogram(page);
  assert.equal(bins.reduce((sum, b) => sum + b.count, 0), 50, 'every round trip in the histogram');
  assert.ok(bins.some((b) => b.count > 0 && b.tall), 'bars with height');
  assert.equal(await echoesIn(shared.backend.url) - before, 50, 'the backend echoed that many');

  await sendTimes(page, 100);
  await page.locator('#rtt-chart-caption', { hasText: 'Last 150 round trips' }).waitFor();
  const second = await chartState(page);
  assert.equal(second.points, 150);
  assert.notEqual(second.line, first.line, 'redrawn with the new round trips');
  bins = await histogram(page);
  assert.equal(bins.reduce((sum, b) => sum + b.count, 0), 150);
  assert.match(await page.getAttribute('#rtt-histogram', 'aria-label'), /150 round trips/);
  await page.close();
});
