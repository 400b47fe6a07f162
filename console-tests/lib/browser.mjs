// Debian's Chromium driven by playwright-core (no downloaded browser), plus small helpers:
// full-page screenshots under console-tests/screenshots/ and waits that fail with a message.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const SCREENSHOTS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');

export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page in a fresh browser context (its own cookies), failing fast on a missing element. */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = await context.newPage();
  return { context, page };
}

/**
 * Saves full-page screenshots as screenshots/<prefix>-NN-<name>.png, numbered in the order
 * taken. Returns `shot(page, name)`.
 */
export function screenshotter(prefix) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  let n = 0;
  return async (page, name) => {
    n += 1;
    const path = join(SCREENSHOTS, `${prefix}-${String(n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  };
}

/** Waits until the page's path (and query, if `expected` has one) is `expected`. */
export async function waitForPath(page, expected, timeout = 15_000) {
  const want = new URL(expected, 'http://x');
  try {
    await page.waitForURL(
      (url) => url.pathname === want.pathname && (!want.search || url.search === want.search),
      { timeout },
    );
  } catch {
    throw new Error(`expected to be at ${expected}, but the page is ${page.url()}:\n${await visibleText(page)}`);
  }
}

/** Waits for `locator` to be visible; on failure says what the page shows instead. */
export async function expectVisible(page, locator, what) {
  try {
    await locator.first().waitFor({ state: 'visible' });
  } catch {
    throw new Error(`expected ${what} on ${page.url()}, but the page shows:\n${await visibleText(page)}`);
  }
}

export async function visibleText(page) {
  try {
    return (await page.locator('body').innerText()).slice(0, 2000);
  } catch (e) {
    return `(no text: ${e.message})`;
  }
}
