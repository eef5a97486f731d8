// The page follows the system's light or dark setting, and on a phone the log comes first: it
// is in the first screen, with the controls below it. Screenshots of both go to artifacts/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser, fieldsFilled } from './support.mjs';

const shared = backendAndBrowser();

const background = (page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
const phaseColour = (page) => page.evaluate(() => getComputedStyle(document.querySelector('#phase')).color);

test('light and dark themes follow the system setting', async () => {
  const page = await shared.browser.newPage();
  await page.emulateMedia({ colorScheme: 'light' });
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
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
  await fieldsFilled(page);
  const stats = await page.locator('#stat-rtt').boundingBox();
  const chart = await page.locator('#rtt-chart').boundingBox();
  const log = await page.locator('#output').boundingBox();
  assert.ok(stats.y + stats.height <= 700 && chart.y + chart.height <= 700, 'the figures and the chart, without scrolling');
  assert.ok(log.y + log.height <= 700 && log.height >= 350, `the log below them, ${log.height} px tall`);
  assert.ok(log.width > 1280 / 2, `and wider than half the window (${log.width} px)`);
  await page.close();
});

test('on a phone the log is in the first screen, under the connection bar, the message box after it', async () => {
  const page = await shared.browser.newPage({ viewport: { width: 390, height: 844 } });
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  const log = await page.locator('#output').boundingBox();
  assert.ok(log.y < 200, `the log starts near the top (${log.y})`);
  assert.ok(log.y + log.height <= 844, 'all of it in the first screen');
  assert.ok(log.height > 300, `and most of it (${log.height} px)`);
  const open = await page.locator('#open').boundingBox();
  assert.ok(open.y + open.height <= log.y, 'Open is above it, in the first screen');
  const input = await page.locator('#input').boundingBox();
  const stats = await page.locator('#stat-rtt').boundingBox();
  assert.ok(input.y > log.y + log.height && input.y < stats.y, 'the message box comes right after the log');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `nothing wider than the phone (${width} px)`);
  await page.locator('#open').click();
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
  await page.close();
});

// Every piece of text on the page, measured as drawn: its colour over the backgrounds under it
// (blended through a 1x1 canvas, so any CSS colour form and any transparency count), against
// WCAG AA: 4.5:1, or 3:1 for large text. Disabled controls are exempt, as WCAG allows.
function lowContrastText() {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const paint = (layers) => {
    ctx.globalAlpha = 1;
    ctx.clearRect(0, 0, 1, 1);
    for (const [colour, alpha] of layers) {
      ctx.globalAlpha = alpha;
      ctx.fillStyle = colour;
      ctx.fillRect(0, 0, 1, 1);
    }
    return ctx.getImageData(0, 0, 1, 1).data;
  };
  const opaque = (colour) => paint([[colour, 1]])[3] === 255;
  const luminance = ([r, g, b]) => {
    const linear = (v) => { const c = v / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  const failures = [];
  const seen = new Set();
  const candidates = [...document.querySelectorAll('body *')].filter((el) =>
    [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim())
    || (el.matches('input:not([type=checkbox]), textarea, select') && (el.value || el.placeholder)));
  for (const el of candidates) {
    const box = el.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1 || !el.checkVisibility()) continue;
    if (el.closest(':disabled, [aria-disabled=true]') || el.closest('.visually-hidden')) continue;
    const backgrounds = [];
    let fade = 1;
    for (let at = el; at; at = at.parentElement) {
      const style = getComputedStyle(at);
      fade *= Number(style.opacity);
      backgrounds.push(style.backgroundColor);
      if (opaque(style.backgroundColor)) break;
    }
    // An empty field shows its placeholder, in the placeholder's colour.
    const style = el.value === '' && el.placeholder ? getComputedStyle(el, '::placeholder') : getComputedStyle(el);
    const layers = [...backgrounds].reverse().map((c) => [c, 1]);
    const back = paint(layers);
    const front = paint([...layers, [style.color, fade]]);
    const [hi, lo] = [luminance(front), luminance(back)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const needed = large ? 3 : 4.5;
    const name = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className?.baseVal ?? el.className}`;
    if (ratio < needed && !seen.has(name)) {
      seen.add(name);
      failures.push(`${name} "${(el.value || el.placeholder || el.textContent).trim().slice(0, 30)}": ${ratio.toFixed(2)} < ${needed}`
        + ` (${style.color} on ${backgrounds.join(' over ')})`);
    }
  }
  return { failures, checked: candidates.length };
}

test('every text meets WCAG AA contrast in both themes, closed and open, with errors showing', async () => {
  const page = await shared.browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  await page.locator('#open').waitFor();
  const audit = async (when) => {
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      const { failures, checked } = await page.evaluate(lowContrastText);
      assert.ok(checked > 30, `${checked} texts checked`);
      assert.deepEqual(failures, [], `${scheme} theme, ${when}`);
    }
  };
  await audit('closed');
  await page.fill('#reconnect-limit', '0');
  await page.check('#reconnect');
  await page.click('#open');
  await page.locator('#close-error').waitFor();
  await page.uncheck('#reconnect');
  await page.click('#open');
  await page.locator('#phase', { hasText: /^open$/ }).waitFor();
  await page.fill('#input', '{"a": 1}');
  await page.click('#send');
  await page.locator('#output .line .text', { hasText: 'RESPONSE:' }).waitFor();
  await page.selectOption('#format', 'hex');
  await page.fill('#input', 'not hex');
  await page.click('#send');
  await page.locator('#input-error').waitFor();
  await page.click('#share');
  await page.locator('#history-note').waitFor();
  await audit('open, with an echo, a history and two errors');
  await page.close();
});
