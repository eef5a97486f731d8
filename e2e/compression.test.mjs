// permessage-deflate between Chromium and the backend: agreed on the handshake, shown by the page,
// and used both ways, which the backend's own counters (an independent probe: the page cannot
// see wire sizes) confirm.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendAndBrowser, startBackend, fieldsFilled } from './support.mjs';

const shared = backendAndBrowser();

/** A deflate counter from the backend's /metrics. */
async function deflated(backendUrl, direction, stage) {
  const text = await (await fetch(`${backendUrl}metrics`)).text();
  const line = text.split('\n')
    .find((l) => l.startsWith(`echo_deflate_bytes_total{direction="${direction}",stage="${stage}"} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('Chromium and the backend agree on permessage-deflate and the page shows it', async () => {
  const page = await shared.browser.newPage();
  const handshakes = [];
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => handshakes.push(e.response.headers));
  await page.goto(shared.backend.url);
  await fieldsFilled(page);
  await page.click('#open');
  await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();

  const shown = await page.textContent('#extensions');
  assert.match(shown, /^permessage-deflate/, 'the page shows what was agreed');
  const answered = handshakes.map((h) => h['Sec-WebSocket-Extensions'] ?? h['sec-websocket-extensions']);
  assert.deepEqual(answered, [shown], 'exactly what the server answered');

  const [inBefore, outBefore] = [
    await deflated(shared.backend.url, 'in', 'wire'),
    await deflated(shared.backend.url, 'out', 'wire'),
  ];
  const message = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ id: i, name: `user-${i}`, ok: true })));
  await page.fill('#input', message);
  await page.click('#send');
  const echo = page.locator('#output .line', { hasText: 'RESPONSE: [' }).first();
  await echo.waitFor();
  assert.match(await echo.textContent(), /user-99/, 'the whole message came back');

  const wireIn = (await deflated(shared.backend.url, 'in', 'wire')) - inBefore;
  const wireOut = (await deflated(shared.backend.url, 'out', 'wire')) - outBefore;
  assert.ok(wireIn > 0 && wireIn * 4 < message.length,
    `Chromium sent it compressed: ${wireIn} bytes on the wire for ${message.length}`);
  assert.ok(wireOut > 0 && wireOut * 4 < message.length,
    `the echo came back compressed: ${wireOut} bytes for ${message.length}`);
  await page.close();
});

test('with compression off on the server, the page says none was agreed', async () => {
  const backend = await startBackend({ args: ['--permessage-deflate', 'off'] });
  try {
    const page = await shared.browser.newPage();
    await page.goto(backend.url);
    await fieldsFilled(page);
    await page.click('#open');
    await page.locator('#output .line .text', { hasText: /^OPEN$/ }).waitFor();
    assert.equal(await page.textContent('#extensions'), 'none agreed');
    await page.fill('#input', 'plain');
    await page.click('#send');
    await page.locator('#output .line .text', { hasText: 'RESPONSE: plain' }).waitFor();
    await page.close();
  } finally {
    backend.stop();
  }
});
