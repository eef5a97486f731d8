// The load generator's `--report FILE.html`, opened in Chromium as a user would (file://, no
// network): every chart is drawn, and what it draws is the run's own figures, the same run's
// `--json` line (per second, the percentiles, the handshake) held against the SVG's data.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { backendAndBrowser } from './support.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const shared = backendAndBrowser();

/** Runs the bench against the test backend: its JSON line and the report's path. */
function benchRun(args) {
  const bin = process.env.ECHO_BENCH_BIN ?? `${root}target/debug/bench`;
  if (!existsSync(bin)) throw new Error(`no bench binary at ${bin}: run \`cargo build -p bench\` first`);
  const report = join(mkdtempSync(join(tmpdir(), 'bench-report-')), 'run.html');
  const url = shared.backend.url.replace(/^http/, 'ws') + 'echo';
  const ran = spawnSync(bin, ['--url', url, '--json', '--report', report, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(ran.status, 0, `bench failed: ${ran.stderr}\n${ran.stdout}`);
  return { run: JSON.parse(ran.stdout), report };
}

/** Opens the report with nothing but file:// allowed; the requests it tried are returned too. */
async function open(report, colorScheme = 'light') {
  const page = await shared.browser.newPage({ colorScheme });
  const requests = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(report).href);
  return { page, requests };
}

const values = (page, chart, series) =>
  page.$eval(`svg[data-chart="${chart}"] polyline[data-series="${series}"]`, (line) => ({
    values: JSON.parse(line.dataset.values),
    points: line.getAttribute('points').trim().split(/\s+/).length,
    width: line.getBBox().width,
  }));

test('the report draws the run, and its charts carry the same figures as the JSON line', async () => {
  const { run, report } = benchRun(['--mode', 'rate', '--rate', '2000', '--connections', '10',
    '--ramp', '1s', '--duration', '2s']);
  const { page, requests } = await open(report);
  assert.deepEqual(requests.filter((url) => !url.startsWith('file:')), [], 'no network');

  // The JSON embedded in the page is the run's own.
  const embedded = JSON.parse(await page.textContent('#run'));
  assert.equal(embedded.received, run.received);
  assert.deepEqual(embedded.per_second, run.per_second);

  // Throughput, latency over time, connections, errors: one value per second of the JSON.
  const seconds = run.per_second;
  assert.ok(seconds.length >= 3, JSON.stringify(seconds));
  for (const [chart, series, key] of [
    ['throughput', 'received', 'received'],
    ['throughput', 'sent', 'sent'],
    ['latency', 'p50', 'p50_us'],
    ['latency', 'p99', 'p99_us'],
    ['connections', 'open', 'open'],
    ['errors', 'errors', 'errors'],
  ]) {
    const drawn = await values(page, chart, series);
    assert.deepEqual(drawn.values, seconds.map((s) => s[key]), `${chart}/${series}`);
    assert.equal(drawn.points, seconds.filter((s) => s[key] !== null).length, `${chart}/${series}`);
    assert.ok(drawn.width > 100, `${chart}/${series} is drawn across the chart: ${drawn.width}`);
  }
  // The ramp shows: fewer connections open in the first second than at the end of the ramp.
  assert.ok(seconds[0].open < 10 && seconds[1].open === 10, JSON.stringify(seconds));

  // The distribution: the curve's points are the run's percentiles.
  const curve = Object.fromEntries(await page.$$eval('svg[data-chart="distribution"] circle',
    (points) => points.map((p) => [p.dataset.quantile, Number(p.dataset.value)])));
  assert.equal(curve['0.5'], run.p50_us);
  assert.equal(curve['0.9'], run.p90_us);
  assert.equal(curve['0.99'], run.p99_us);
  assert.equal(curve['0.999'], run.p999_us);
  assert.equal(curve['1'], run.max_us);

  // Handshake times: a bar per step and statistic, as in the JSON.
  for (const step of ['total', 'connect', 'upgrade']) {
    for (const stat of ['p50', 'p90', 'p99', 'max']) {
      const bar = await page.$(`svg[data-chart="handshake"] rect[data-step="${step}"][data-stat="${stat}"]`);
      assert.ok(bar, `${step} ${stat}`);
      assert.equal(Number(await bar.getAttribute('data-value')), run.handshake[step][`${stat}_us`]);
      assert.ok((await bar.boundingBox()).height >= 0);
    }
  }

  // The headline figures, the generator's CPU, the command line.
  assert.equal(Number(await page.textContent('[data-figure="received"]')), run.received);
  assert.match(await page.textContent('#generator'), /% of its one core/);
  assert.match(await page.textContent('.command'), /--ramp 1s/);
  await page.close();
});

test('the report follows the system colour scheme, light and dark', async () => {
  const { report } = benchRun(['--connections', '2', '--duration', '1s']);
  const background = async (scheme) => {
    const { page } = await open(report, scheme);
    const colours = await page.evaluate(() => ({
      body: getComputedStyle(document.body).backgroundColor,
      line: getComputedStyle(document.querySelector('polyline.s0')).stroke,
    }));
    await page.close();
    return colours;
  };
  const light = await background('light');
  const dark = await background('dark');
  assert.equal(light.body, 'rgb(246, 247, 249)');
  assert.equal(dark.body, 'rgb(20, 23, 28)');
  assert.notEqual(light.line, dark.line);
  assert.equal(readFileSync(report, 'utf8').includes('http://'), false, 'no outside resource');
});
