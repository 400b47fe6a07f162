// The APIs pages in Chromium: the owner creates an API with two permissions (after a mistake
// the page shows beside its row), sees it listed, opens it, sees which client holds a
// permission, edits a description, removes a held permission through the confirmation that
// names the client, and deletes the API; a viewer sees it all without a button.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, screenshotter } from '../lib/browser.mjs';
import {
  api,
  expectAccessible,
  expectVisible,
  inBothSchemes,
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

/** Fails unless the page fits its viewport's width (tables scroll inside their own box). */
async function fitsWidth(page, what) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client + 1, `${what} is ${scroll}px wide in a ${client}px viewport`);
}

test('the owner creates, edits and deletes an API; holders are shown; a viewer only reads', { timeout: 120_000 }, async () => {
  const server = await startConsole();
  const shot = screenshotter('5-apis');
  try {
    const { page } = await signIn(browser, server);
    await page.getByRole('link', { name: 'APIs', exact: true }).click();
    await waitForPath(page, '/console/apis');
    await expectVisible(page, page.getByText('No APIs yet'), 'the empty state');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the empty APIs list (${scheme})`));
    await shot(page, 'empty-list');

    await page.getByRole('link', { name: 'Create API', exact: true }).click();
    await waitForPath(page, '/console/apis/new');
    await expectAccessible(page, 'the new API form');
    await shot(page, 'new');
    await page.getByLabel('Name', { exact: true }).fill('Reports API');
    await page.getByLabel('Identifier (audience)').fill('https://reports.example.com/');
    await page.getByLabel('Description', { exact: true }).fill('Reports and their exports.');
    await page.getByLabel('Permission 1', { exact: true }).fill('reports:read');
    await page.getByLabel('Permission 1: what it allows').fill('Read reports');
    await page.getByLabel('Permission 2', { exact: true }).fill('reports:export');
    await page.getByLabel('Permission 2: what it allows').fill('Export reports');
    await page.getByLabel('Permission 3', { exact: true }).fill('reports write');
    await page.getByRole('button', { name: 'Create API', exact: true }).click();
    const beside = page.locator('#p2-value-error');
    await expectVisible(page, beside, 'the error beside permission 3');
    assert.match(await beside.innerText(), /character/);
    assert.equal(await page.getByLabel('Permission 1', { exact: true }).inputValue(), 'reports:read', 'kept');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the form with an error (${scheme})`));
    await shot(page, 'new-with-error');
    assert.equal((await api(server, 'GET', '/apis')).body.apis.length, 1, 'nothing created');

    // Add a row without script, then leave the extra rows empty.
    await page.getByLabel('Permission 3', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Add another permission' }).click();
    await expectVisible(page, page.getByLabel('Permission 4', { exact: true }), 'a fourth row');
    await page.getByRole('button', { name: 'Create API', exact: true }).click();
    await page.waitForURL(/\/console\/apis\/api_[0-9a-f]+\?done=created$/);
    const apiId = new URL(page.url()).pathname.split('/').pop();
    await expectVisible(page, page.getByText('The API was created.'), 'the notice');
    const created = await api(server, 'GET', `/apis/${apiId}`);
    assert.deepEqual(created.body.permissions, [
      { value: 'reports:read', description: 'Read reports' },
      { value: 'reports:export', description: 'Export reports' },
    ]);

    await page.getByRole('link', { name: 'APIs', exact: true }).first().click();
    await waitForPath(page, '/console/apis');
    const row = page.getByRole('row', { name: /Reports API/ });
    await expectVisible(page, row, 'the API in the list');
    assert.match(await row.innerText(), /https:\/\/reports\.example\.com\/\s+2\s+0/);
    await shot(page, 'list');

    // A client holding reports:read shows beside the permission.
    const client = await api(server, 'POST', '/clients', { name: 'Report Reader', description: '', scopes: ['reports:read'] });
    assert.equal(client.status, 201, JSON.stringify(client.body));
    const clientId = client.body.client.client_id;
    await row.getByRole('link', { name: 'Reports API' }).click();
    await waitForPath(page, `/console/apis/${apiId}`);
    const readRow = page.getByRole('row', { name: /reports:read/ });
    await expectVisible(page, readRow.getByRole('link', { name: 'Report Reader' }), 'the holder');
    assert.equal(await readRow.getByRole('link', { name: 'Report Reader' }).getAttribute('href'), `/console/clients/${clientId}`);
    await expectVisible(page, page.getByText('Held by 1 client'), 'the hint beside the held row');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the API page (${scheme})`));
    await shot(page, 'details');
    await page.setViewportSize({ width: 360, height: 800 });
    await fitsWidth(page, 'the API page at 360 px');
    await shot(page, 'details-360');
    await page.setViewportSize({ width: 1100, height: 800 });

    // Edit a description.
    await page.getByLabel('Permission 2: what it allows').fill('Export reports as CSV');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(/\?done=saved$/);
    await expectVisible(page, page.getByRole('cell', { name: 'Export reports as CSV' }), 'the new description');
    assert.equal((await api(server, 'GET', `/apis/${apiId}`)).body.permissions[1].description, 'Export reports as CSV');

    // Remove the held permission: the page names the client first.
    await page.getByLabel('Permission 1', { exact: true }).fill('');
    await page.getByLabel('Permission 1: what it allows').fill('');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expectVisible(page, page.getByRole('heading', { name: 'Remove permissions from 1 client?' }), 'the confirmation');
    await expectVisible(page, page.getByRole('link', { name: 'Report Reader' }), 'the client named');
    assert.deepEqual((await api(server, 'GET', `/clients/${clientId}`)).body.scopes, ['reports:read'], 'not yet');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the removal confirmation (${scheme})`));
    await shot(page, 'confirm-removal');
    await page.getByRole('button', { name: 'Remove from these clients and save' }).click();
    await page.waitForURL(/\?done=saved$/);
    assert.deepEqual((await api(server, 'GET', `/clients/${clientId}`)).body.scopes, []);
    assert.deepEqual((await api(server, 'GET', `/apis/${apiId}`)).body.permissions.map((p) => p.value), ['reports:export']);

    // A viewer sees the catalogue and the API without a button.
    const other = await api(server, 'POST', '/apis', {
      identifier: 'https://billing.example.com/',
      name: 'Billing API',
      permissions: [{ value: 'billing:read', description: 'Read invoices' }],
    });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    const viewer = await signInAs(browser, server, 'viewer');
    await viewer.page.goto(`${server.base}/console/apis`);
    await expectVisible(viewer.page, viewer.page.getByRole('link', { name: 'Billing API' }), 'the list for a viewer');
    assert.equal(await viewer.page.getByRole('link', { name: 'Create API' }).count(), 0);
    await shot(viewer.page, 'viewer-list');
    await viewer.page.getByRole('link', { name: 'Reports API' }).click();
    await expectVisible(viewer.page, viewer.page.getByRole('heading', { name: 'Permissions' }), 'the API for a viewer');
    for (const name of ['Save', 'Delete API', 'Add another permission']) {
      assert.equal(await viewer.page.getByRole('button', { name }).count(), 0, `no ${name} button`);
    }
    assert.equal(await viewer.page.getByRole('link', { name: 'Delete API' }).count(), 0);
    assert.equal(await viewer.page.getByRole('textbox').count(), 0, 'nothing to edit');
    await expectAccessible(viewer.page, 'the API page for a viewer');
    await shot(viewer.page, 'viewer-details');
    await viewer.context.close();

    // Delete, behind a confirmation that asks for the name.
    await page.getByRole('link', { name: 'Delete API' }).click();
    await waitForPath(page, `/console/apis/${apiId}/delete`);
    await expectVisible(page, page.getByText('no client can get a token for'), 'the consequences');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the delete confirmation (${scheme})`));
    await shot(page, 'delete');
    const button = page.getByRole('button', { name: 'Delete API' });
    assert.equal(await button.isDisabled(), true, 'enabled once the name is typed');
    await page.getByLabel("Type the API's name").fill('Reports API');
    await button.click();
    await waitForPath(page, '/console/apis?done=deleted');
    await expectVisible(page, page.getByText('The API was deleted.'), 'the notice');
    assert.equal((await api(server, 'GET', `/apis/${apiId}`)).status, 404);
    await page.setViewportSize({ width: 360, height: 800 });
    await fitsWidth(page, 'the APIs list at 360 px');
    await shot(page, 'list-360');
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await server.stop();
  }
});
