// The live round-trip chart draws and updates as echoes arrive, and the histogram counts every
// round trip: checked against the pixels on the canvas and the backend's own message counter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser } from './support.mjs';

const shared = backendAndBrowser();

/** Pixels of the chart's canvas that are not blank, and the canvas as an image. */
const canvasState = (page) => page.evaluate(() => {
  const canvas = document.querySelector('#rtt-chart');
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let drawn = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) drawn++;
  return { drawn, image: canvas.toDataURL() };
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
  assert.match(await page.textContent('#rtt-chart-caption'), /appear here/);
  assert.equal((await canvasState(page)).drawn, 0, 'nothing drawn before any echo');
  assert.deepEqual(await histogram(page), []);

  const before = await echoesIn(shared.backend.url);
  await page.click('#open');
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
  await sendTimes(page, 50);
  await page.locator('#rtt-chart-caption', { hasText: 'Last 50 round trips' }).waitFor();
  const first = await canvasState(page);
  assert.ok(first.drawn > 100, `the line and bars are drawn (${first.drawn} pixels)`);
  let bins = await histogram(page);
  assert.equal(bins.reduce((sum, b) => sum + b.count, 0), 50, 'every round trip in the histogram');
  assert.ok(bins.some((b) => b.count > 0 && b.tall), 'bars with height');
  assert.equal(await echoesIn(shared.backend.url) - before, 50, 'the backend echoed that many');

  await sendTimes(page, 100);
  await page.locator('#rtt-chart-caption', { hasText: 'Last 150 round trips' }).waitFor();
  const second = await canvasState(page);
  assert.notEqual(second.image, first.image, 'redrawn with the new round trips');
  bins = await histogram(page);
  assert.equal(bins.reduce((sum, b) => sum + b.count, 0), 150);
  assert.match(await page.getAttribute('#rtt-histogram', 'aria-label'), /150 round trips/);
  await page.close();
});
