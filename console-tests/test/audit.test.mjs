// The audit log in a real browser: events made through the admin API, filtered by client and
// by event type (the select), paged older and newer, a bad filter answered beside its field;
// every page passes the accessibility scan in both colour schemes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, screenshotter } from '../lib/browser.mjs';
import { api, expectAccessible, expectVisible, inBothSchemes, signIn, startConsole, waitForPath } from '../lib/console.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

async function createClient(server, name) {
  const r = await api(server, 'POST', '/clients', { name, description: 'audit log test' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.client.client_id;
}

test('the audit log filters by client and event type and pages', { timeout: 120_000 }, async () => {
  const server = await startConsole();
  const shot = screenshotter('7-audit');
  let page;
  try {
    const billing = await createClient(server, 'Billing Sync');
    const added = await api(server, 'POST', `/clients/${billing}/secrets`, {});
    assert.equal(added.status, 201, JSON.stringify(added.body));
    await createClient(server, 'Reports <Export>');
    const made = await api(server, 'POST', '/apis', {
      identifier: 'https://reports.example.com',
      name: 'Reports',
      permissions: [{ value: 'reports:read', description: 'Read reports' }],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    for (let i = 0; i < 52; i++) await createClient(server, `bulk-${String(i).padStart(2, '0')}`);

    ({ page } = await signIn(browser, server));
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await waitForPath(page, '/console/audit');
    await expectVisible(page, page.getByRole('heading', { name: 'Audit log' }), 'the audit log');
    const rows = page.locator('table.audit tbody tr');
    assert.equal(await rows.count(), 50, 'a page of 50 events, newest first');
    await expectVisible(page, page.getByText('the From and To filters are read as UTC'), 'the time zone note');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the audit log (${scheme})`));
    await shot(page, 'newest');

    // By client: only the client's events, each linking to the client.
    await page.getByLabel('Client id').fill(billing);
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitForPath(page, '/console/audit');
    assert.equal(await rows.count(), 2, await page.locator('main').innerText());
    for (const row of await rows.all()) {
      assert.equal(await row.getByRole('link', { name: billing }).count(), 1);
    }
    await expectVisible(page, rows.first().getByText('secret.added'), 'the newest event first');
    await expectAccessible(page, 'the audit log filtered by client');
    await shot(page, 'by-client');

    // By event type, through the select; the client filter cleared.
    await page.getByRole('link', { name: 'Clear filters' }).click();
    await page.getByLabel('Event type').selectOption('api.created');
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitForPath(page, '/console/audit');
    assert.equal(await rows.count(), 1);
    await expectVisible(page, rows.first().getByRole('link', { name: 'Reports' }), 'the API, named');
    await shot(page, 'by-event-type');

    // Pages: 55 client.created events (the admin client, two clients, 52 bulk ones).
    await page.getByLabel('Event type').selectOption('client.created');
    await page.getByRole('button', { name: 'Filter' }).click();
    await waitForPath(page, '/console/audit');
    assert.equal(await rows.count(), 50);
    const newest = await rows.first().innerText();
    assert.match(newest, /bulk-51/);
    await page.getByRole('link', { name: 'Older events' }).click();
    await waitForPath(page, '/console/audit');
    assert.equal(await rows.count(), 5);
    assert.equal(await page.getByLabel('Event type').inputValue(), 'client.created', 'the filter stays');
    await expectAccessible(page, 'the second page');
    await shot(page, 'older');
    await page.getByRole('link', { name: 'Newer events' }).click();
    await waitForPath(page, '/console/audit');
    assert.equal(await rows.count(), 50);
    assert.equal(await rows.first().innerText(), newest);

    // A bad filter: 400, the message beside the field, what was typed kept.
    const bad = await page.goto(`${server.base}/console/audit?from=yesterday&action=client.created`);
    assert.equal(bad.status(), 400);
    await expectVisible(page, page.locator('#f-from-error'), 'the error beside From');
    assert.equal(await page.getByLabel('From (UTC)').getAttribute('aria-invalid'), 'true');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `a bad filter (${scheme})`));
    await shot(page, 'bad-filter');

    // Narrow screens: the filters stack, each event is a card.
    await page.setViewportSize({ width: 360, height: 800 });
    await page.goto(`${server.base}/console/audit?client_id=${billing}`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `no sideways scrolling of the page at 360 px (${width})`);
    await shot(page, 'narrow');
  } catch (e) {
    if (page) await shot(page, 'failure').catch(() => {});
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await server.stop();
  }
});
