// Browser benchmark: how fast the page becomes usable and how it copes with a flood of echoes,
// in Debian's Chromium against the real backend on loopback. Prints the figures; it asserts
// only that the work got done (every echo arrived), not how fast.
//
//   node bench.mjs                      # from e2e/, after `trunk build --release` and a backend build
//   node bench.mjs --echoes 1000 --runs 1   # the smoke run the test command does
//   bash scripts/bench-browser.sh       # builds release first, then runs this
//
// Figures:
// - interactive: navigation start to the Open button being enabled (the wasm app mounted),
//   median of --runs fresh page loads;
// - append N echoes: Send with "× N" clicked to the stats showing N received, with the longest
//   gap between animation frames meanwhile (how long the page was frozen at worst);
// - search over the full log: typing a query to the filtered log drawn.

import { startBackend, launchChromium } from './support.mjs';

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`error: --${name} needs a whole number above 0, got "${process.argv[at + 1] ?? ''}"`);
    process.exit(2);
  }
  return value;
}

const echoes = option('echoes', 10_000);
const runs = option('runs', 5);
const APPEND_TIMEOUT_MS = 120_000;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (value) => `${value.toFixed(1)} ms`;

const backend = await startBackend();
const browser = await launchChromium();
try {
  const interactive = [];
  for (let run = 0; run < runs; run += 1) {
    const page = await browser.newPage();
    await page.goto(backend.url);
    await page.waitForFunction(() => document.querySelector('#open')?.disabled === false);
    interactive.push(await page.evaluate(() => performance.now()));
    await page.close();
  }

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(backend.url);
  await page.click('#open');
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
  await page.fill('#input', '{"benchmark": true, "note": "a JSON message, pretty-printed in the log"}');
  await page.fill('#repeat', String(echoes));

  // Longest gap between animation frames while the echoes arrive: the worst freeze.
  await page.evaluate(() => {
    window.benchGaps = [];
    let last = performance.now();
    const frame = (now) => {
      window.benchGaps.push(now - last);
      last = now;
      if (!window.benchStop) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  const started = Date.now();
  await page.click('#send');
  await page.waitForFunction(
    (n) => document.querySelector('#stat-received')?.textContent.startsWith(`${n} msgs`),
    echoes,
    { timeout: APPEND_TIMEOUT_MS, polling: 50 },
  );
  const appendMs = Date.now() - started;
  const gaps = await page.evaluate(() => { window.benchStop = true; return window.benchGaps; });
  const drawn = await page.locator('#output .line').count();

  const searchMs = await page.evaluate(async () => {
    const input = document.querySelector('#log-search');
    const start = performance.now();
    input.value = 'benchmark';
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    return performance.now() - start;
  });
  const notice = await page.locator('#log-notice').count() ? await page.textContent('#log-notice') : '';

  const figures = {
    interactive_ms_median: Math.round(median(interactive) * 10) / 10,
    interactive_runs: runs,
    echoes,
    append_ms: appendMs,
    echoes_per_s: Math.round(echoes / (appendMs / 1000)),
    longest_frame_gap_ms: Math.round(Math.max(0, ...gaps) * 10) / 10,
    frames_over_50ms: gaps.filter((gap) => gap > 50).length,
    lines_drawn: drawn,
    search_ms: Math.round(searchMs * 10) / 10,
  };
  console.log(`interactive (navigation to Open enabled), median of ${runs}: ${ms(figures.interactive_ms_median)}`);
  console.log(`append ${echoes} echoes: ${figures.append_ms} ms (${figures.echoes_per_s} echoes/s), `
    + `longest frame gap ${ms(figures.longest_frame_gap_ms)}, ${figures.frames_over_50ms} frames over 50 ms, `
    + `${drawn} lines drawn`);
  console.log(`search the log for "benchmark": ${ms(figures.search_ms)} to draw${notice ? ` (${notice})` : ''}`);
  console.log(JSON.stringify(figures));
} finally {
  await browser.close();
  backend.stop();
}
