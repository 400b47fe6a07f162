// The API client's page: the owner opens a client from the list, edits its name and
// description, changes its permissions, removes a secret (confirming) and sees it refused,
// deletes the client by typing its name and sees its tokens refused; a viewer sees the page
// without any of those buttons. Accessibility scans in both colour schemes, screenshots at
// 1100 px and 360 px.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, screenshotter } from '../lib/browser.mjs';
import {
  api,
  clientToken,
  expectAccessible,
  expectVisible,
  inBothSchemes,
  OWNER,
  signIn,
  signInAs,
  startConsole,
  waitForPath,
} from '../lib/console.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const shot = screenshotter('4-details');

/** An API with two permissions and a client holding one, with a second secret. */
async function arrange(server, name) {
  const registered = await api(server, 'POST', '/apis', {
    identifier: `https://reports-${Date.now()}.example.com/`,
    name: `Reports ${Date.now()}`,
    permissions: [
      { value: `reports:read`, description: 'Read the reports' },
      { value: `reports:export`, description: 'Export reports as CSV files' },
    ],
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const created = await api(server, 'POST', '/clients', {
    name,
    description: 'Sends the nightly reports to the data warehouse',
    scopes: ['reports:read'],
    claims: { org: 'acme' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const added = await api(server, 'POST', `/clients/${created.body.client.client_id}/secrets`);
  assert.equal(added.status, 201, JSON.stringify(added.body));
  return {
    id: created.body.client.client_id,
    first: { id: created.body.client.secrets[0].secret_id, secret: created.body.client_secret },
    second: { id: added.body.secret.secret_id, secret: added.body.client_secret },
  };
}

test('the owner edits, re-permissions, rotates and deletes a client from its page', { timeout: 120_000 }, async () => {
  const server = await startConsole();
  try {
    const client = await arrange(server, 'Report Exporter');
    assert.equal((await clientToken(server, client.id, client.first.secret)).status, 200);
    const other = await api(server, 'POST', '/clients', { name: 'Billing Sync' });
    assert.equal(other.status, 201);

    const { page } = await signIn(browser, server, OWNER);
    await page.getByRole('link', { name: 'API clients', exact: true }).click();
    await waitForPath(page, '/console/clients');
    await page.getByRole('link', { name: 'Report Exporter' }).click();
    await waitForPath(page, `/console/clients/${client.id}`);
    await expectVisible(page, page.getByRole('heading', { level: 1, name: 'Report Exporter' }), 'the client heading');
    await expectVisible(page, page.locator('#client-id', { hasText: client.id }), 'the client id');
    const secrets = page.getByRole('region', { name: 'Secrets' });
    const firstRow = secrets.getByRole('row').filter({ hasText: client.first.id });
    const secondRow = secrets.getByRole('row').filter({ hasText: client.second.id });
    // The first secret was used; the second not yet.
    assert.equal(await firstRow.locator('td').nth(2).locator('time').count(), 1);
    assert.equal((await secondRow.locator('td').nth(2).innerText()).trim(), 'never');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the client page (${scheme})`));
    await shot(page, 'owner');

    // Edit the name and description.
    const details = page.getByRole('region', { name: 'Details' });
    await details.getByLabel('Name', { exact: true }).fill('Billing Sync');
    await details.getByRole('button', { name: 'Save' }).click();
    await expectVisible(page, details.locator('#name-error', { hasText: 'Another client has this name already' }), 'the error beside Name');
    assert.equal(await details.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    await expectAccessible(page, 'the details form with an error');
    await shot(page, 'edit-error');
    await details.getByLabel('Name', { exact: true }).fill('Report Exporter v2');
    await details.getByLabel('Description', { exact: true }).fill('Exports the nightly reports as CSV');
    await details.getByRole('button', { name: 'Save' }).click();
    await expectVisible(page, page.getByText("Saved the client's details."), 'the saved notice');
    await expectVisible(page, page.getByRole('heading', { level: 1, name: 'Report Exporter v2' }), 'the new name');
    let stored = await api(server, 'GET', `/clients/${client.id}`);
    assert.equal(stored.body.name, 'Report Exporter v2');
    assert.equal(stored.body.description, 'Exports the nightly reports as CSV');

    // Change the permissions: the checkboxes are labelled by the permission value.
    const permissions = page.getByRole('region', { name: 'Permissions' });
    assert.equal(await permissions.getByLabel('reports:read').isChecked(), true);
    await permissions.getByLabel('reports:export').check();
    await permissions.getByLabel('reports:read').uncheck();
    await permissions.getByRole('button', { name: 'Save' }).click();
    await expectVisible(page, page.getByText('Saved the permissions.'), 'the permissions notice');
    stored = await api(server, 'GET', `/clients/${client.id}`);
    assert.deepEqual(stored.body.scopes, ['reports:export']);
    const token = await clientToken(server, client.id, client.second.secret);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(token.body.scope, 'reports:export');

    // Remove the first secret, accepting the confirmation.
    let asked = '';
    page.once('dialog', (dialog) => {
      asked = dialog.message();
      dialog.accept();
    });
    await page.getByRole('region', { name: 'Secrets' }).getByRole('row').filter({ hasText: client.first.id })
      .getByRole('button', { name: 'Remove' }).click();
    await expectVisible(page, page.getByText(`Removed secret ${client.first.id}.`), 'the removal notice');
    assert.match(asked, /401 invalid_client/);
    const refused = await clientToken(server, client.id, client.first.secret);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'invalid_client');
    assert.equal((await clientToken(server, client.id, client.second.secret)).status, 200);

    // At 360 px wide.
    await page.setViewportSize({ width: 360, height: 800 });
    await expectAccessible(page, 'the client page at 360 px');
    await shot(page, 'owner-360');
    await page.setViewportSize({ width: 1100, height: 800 });

    // Delete: the button stays disabled until the name is typed exactly.
    const danger = page.getByRole('region', { name: 'Danger zone' });
    const confirm = danger.getByLabel("Type the client's name to confirm");
    const remove = danger.getByRole('button', { name: 'Delete client' });
    assert.equal(await remove.isDisabled(), true);
    await confirm.fill('Report Exporter');
    assert.equal(await remove.isDisabled(), true);
    await confirm.fill('Report Exporter v2');
    assert.equal(await remove.isEnabled(), true);
    await shot(page, 'delete-confirm');
    await remove.click();
    await waitForPath(page, '/console/clients');
    await expectVisible(page, page.getByText('Deleted Report Exporter v2.'), 'the deletion notice');
    await expectAccessible(page, 'the clients list with the deletion notice');
    await shot(page, 'deleted');
    const gone = await clientToken(server, client.id, client.second.secret);
    assert.equal(gone.status, 401);
    assert.equal(gone.body.error, 'invalid_client');
    assert.equal((await api(server, 'GET', `/clients/${client.id}`)).status, 404);
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await server.stop();
  }
});

test('a viewer sees the client page without any button that changes it', { timeout: 120_000 }, async () => {
  const server = await startConsole();
  try {
    const client = await arrange(server, 'Report Exporter');
    const { page } = await signInAs(browser, server, 'viewer');
    await page.goto(`${server.base}/console/clients`);
    await page.getByRole('link', { name: 'Report Exporter' }).click();
    await waitForPath(page, `/console/clients/${client.id}`);
    await expectVisible(page, page.getByRole('heading', { level: 1, name: 'Report Exporter' }), 'the client heading');
    await expectVisible(page, page.getByText('reports:read'), 'the permission held');
    await expectVisible(page, page.getByText(client.second.id), 'the secrets');
    await expectVisible(page, page.getByRole('region', { name: 'Activity' }).getByText('client.created'), 'the audit trail');
    for (const name of ['Save', 'Remove', 'Add secret', 'Delete client']) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} button`);
    }
    assert.equal(await page.locator('main form').count(), 0, 'no form');
    assert.equal(await page.locator('main input, main textarea, main select').count(), 0, 'no input');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the client page as a viewer (${scheme})`));
    await shot(page, 'viewer');
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await server.stop();
  }
});
