// The console without a mouse: from the dashboard to a new API client's credentials with the
// keyboard alone (Tab, Space, Enter), every stop showing a visible focus outline.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, screenshotter } from '../lib/browser.mjs';
import { api, expectVisible, signIn, startConsole, waitForPath } from '../lib/console.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** What has the focus: its tag, id, accessible-ish name, and whether an outline shows. */
function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    const style = el ? getComputedStyle(el) : null;
    return {
      tag: el?.tagName.toLowerCase(),
      id: el?.id || '',
      text: (el?.innerText || el?.value || el?.getAttribute('aria-label') || '').trim(),
      outlined: !!style && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    };
  });
}

/** Presses Tab until `wanted(focus)` holds (at most `limit` times); every stop must show focus. */
async function tabTo(page, wanted, what, limit = 80) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    assert.ok(f.outlined, `the focused ${f.tag}#${f.id} "${f.text}" shows no focus outline`);
    if (wanted(f)) return f;
  }
  throw new Error(`Tab never reached ${what}`);
}

test('an API client is created with the keyboard alone', { timeout: 90_000 }, async () => {
  const server = await startConsole();
  const shot = screenshotter('11-keyboard');
  const { context, page } = await signIn(browser, server);
  try {
    const made = await api(server, 'POST', '/apis', {
      name: 'Reports API',
      identifier: 'https://reports.example.com',
      permissions: [{ value: 'reports:read', description: 'Read reports' }],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await page.goto(`${server.base}/console`);

    await tabTo(page, (f) => f.tag === 'a' && f.text === 'API clients', 'the API clients link');
    await page.keyboard.press('Enter');
    await waitForPath(page, '/console/clients');
    await tabTo(page, (f) => f.text === 'Create API client', 'Create API client');
    await page.keyboard.press('Enter');
    await waitForPath(page, '/console/clients/new');

    await tabTo(page, (f) => f.id === 'name', 'the Name field');
    await page.keyboard.type('Keyboard exporter');
    await tabTo(page, (f) => f.id === 'description', 'the Description field');
    await page.keyboard.type('Made without a mouse');
    const box = await tabTo(page, (f) => f.tag === 'input' && f.text === 'reports:read', 'the reports:read checkbox');
    assert.equal(box.tag, 'input');
    await page.keyboard.press('Space');
    assert.ok(await page.getByLabel('reports:read').isChecked(), 'Space ticks the permission');
    await shot(page, 'form');
    await tabTo(page, (f) => f.tag === 'button' && f.text === 'Create API client', 'the Create API client button');
    await page.keyboard.press('Enter');

    await expectVisible(page, page.locator('#client-secret'), 'the credentials page');
    assert.match(await page.locator('h1').innerText(), /Keyboard exporter/);
    await tabTo(page, (f) => f.id === 'stored', 'the "I have stored the secret" box');
    await page.keyboard.press('Space');
    await tabTo(page, (f) => f.text === 'Continue to the client', 'Continue to the client');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/clients\/tgc_[0-9a-f]+$/);
    await expectVisible(page, page.getByRole('heading', { name: 'Keyboard exporter' }), "the client's page");
    await shot(page, 'client');
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await context.close();
    await server.stop();
  }
});
