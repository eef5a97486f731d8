// Takes the README's screenshots (docs/screenshot.png, -dark.png, -phone.png) of the page from a
// real backend after a short session: Open, three messages (one JSON), their echoes.
//
//   node screenshots.mjs      # from e2e/, after `trunk build --release` and `cargo build -p backend`

import { fileURLToPath } from 'node:url';
import { startBackend, launchChromium } from './support.mjs';

const docs = fileURLToPath(new URL('../docs/', import.meta.url));
const MESSAGES = ['Hello world!', '{"user": "ada", "text": "hi", "tags": ["test"]}', 'third message'];

async function session(page) {
  await page.locator('#open').click();
  await page.locator('#phase', { hasText: /^open$/ }).waitFor();
  for (const [i, message] of MESSAGES.entries()) {
    await page.fill('#input', message);
    await page.click('#send');
    await page.locator('#output .line.echoed').nth(i).waitFor();
    await page.waitForTimeout(200);
  }
  await page.waitForTimeout(500); // the stats redraw at most 4 times a second
}

const backend = await startBackend();
const browser = await launchChromium();
try {
  const desktop = await browser.newPage({ viewport: { width: 1280, height: 700 } });
  await desktop.goto(backend.url);
  await session(desktop);
  await desktop.screenshot({ path: `${docs}screenshot.png` });
  await desktop.emulateMedia({ colorScheme: 'dark' });
  await desktop.screenshot({ path: `${docs}screenshot-dark.png` });

  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto(backend.url);
  await session(phone);
  await phone.evaluate(() => window.scrollTo(0, 0));
  await phone.screenshot({ path: `${docs}screenshot-phone.png` });
  console.log(`screenshots written to ${docs}`);
} finally {
  await browser.close();
  backend.stop();
}
