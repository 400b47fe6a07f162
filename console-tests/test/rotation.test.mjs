// A whole secret rotation in the browser, as an administrator does it: create the client,
// read its secret from the page and get a token, "Add secret" on the client's page, move to
// the new secret, "Remove" the old one and see it refused, then "Delete client" and see the
// new one refused too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, screenshotter } from '../lib/browser.mjs';
import { api, clientToken, expectAccessible, expectVisible, signIn, startConsole, waitForPath } from '../lib/console.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('a client is created, rotated to a new secret and deleted, all in the browser', { timeout: 120_000 }, async () => {
  const server = await startConsole();
  const shot = screenshotter('10-rotation');
  const { context, page } = await signIn(browser, server);
  try {
    const made = await api(server, 'POST', '/apis', {
      name: 'Billing API',
      identifier: 'https://billing.example.com',
      permissions: [{ value: 'invoices:read', description: 'Read invoices' }],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));

    // Create it and read the first secret from the page.
    await page.goto(`${server.base}/console/clients`);
    await page.getByRole('link', { name: 'Create API client' }).first().click();
    await page.getByLabel('Name').fill('Invoice exporter');
    await page.getByLabel('Description').fill('Nightly export of invoices to the data warehouse');
    await page.getByLabel('invoices:read').check();
    await page.getByRole('button', { name: 'Create API client' }).click();
    const clientId = (await page.locator('#client-id').innerText()).trim();
    const first = (await page.locator('#client-secret').innerText()).trim();
    const firstId = (await page.locator('#secret-id').innerText()).trim();
    assert.match(firstId, /\S/, 'the secret id is on the page');
    assert.equal((await clientToken(server, clientId, first)).status, 200, 'the first secret works');
    await page.getByLabel('I have stored the secret').check();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API clients' }).click();
    await waitForPath(page, '/console/clients');
    const listed = page.getByRole('row').filter({ hasText: clientId });
    await expectVisible(page, listed.getByText('invoices:read'), 'the new client in the list with its permission');
    await expectAccessible(page, 'the clients list');
    await shot(page, 'clients');
    await listed.getByRole('link', { name: 'Invoice exporter' }).click();
    await waitForPath(page, `/console/clients/${clientId}`);

    // Add a second secret: shown once, on its own page; both work.
    await page.getByRole('button', { name: 'Add secret' }).click();
    await expectVisible(page, page.locator('#client-secret'), 'the new secret');
    const second = (await page.locator('#client-secret').innerText()).trim();
    assert.notEqual(second, first);
    assert.equal((await page.locator('#client-id').innerText()).trim(), clientId);
    await expectAccessible(page, 'the added secret');
    await shot(page, 'added-secret');
    assert.equal((await clientToken(server, clientId, second)).status, 200, 'the new secret works');
    assert.equal((await clientToken(server, clientId, first)).status, 200, 'the old one still works');
    await page.getByLabel('I have stored the secret').check();
    await page.getByRole('link', { name: 'Continue to the client' }).click();
    await waitForPath(page, `/console/clients/${clientId}`);

    // Remove the old one: the row with the first secret's id.
    const rows = page.locator('table').filter({ has: page.getByRole('columnheader', { name: 'Expires' }) }).locator('tbody tr');
    assert.equal(await rows.count(), 2, 'two secrets listed');
    page.once('dialog', (d) => d.accept());
    await rows.filter({ hasText: firstId }).getByRole('button', { name: /^Remove/ }).click();
    await expectVisible(page, page.getByRole('status').or(page.locator('.notice')), 'the removal notice');
    assert.equal(await rows.count(), 1, 'one secret left');
    await shot(page, 'old-secret-removed');
    const refused = await clientToken(server, clientId, first);
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'invalid_client');
    assert.equal((await clientToken(server, clientId, second)).status, 200, 'the new secret still works');

    // Delete the client by typing its name; the new secret is refused from then on.
    await page.getByLabel("Type the client's name to confirm").fill('Invoice exporter');
    await page.getByRole('button', { name: 'Delete client' }).click();
    await waitForPath(page, '/console/clients');
    await expectVisible(page, page.getByText('Deleted Invoice exporter'), 'the deletion notice');
    await shot(page, 'deleted');
    assert.equal((await clientToken(server, clientId, second)).status, 401, 'a deleted client gets no token');
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await context.close();
    await server.stop();
  }
});
