// The admin API reference at /admin/v1/docs: Swagger UI served by Tollgate itself (no request
// leaves the server's origin), "Authorize" with an API client's id and secret (client
// credentials grant at this server's token endpoint), then "Try it out" on an operation.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, newPage, screenshotter } from '../lib/browser.mjs';
import { ADMIN_CLIENT, expectAccessible, expectVisible, startConsole } from '../lib/console.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('the API reference gets a token with client credentials and tries an operation', { timeout: 90_000 }, async () => {
  const server = await startConsole();
  const shot = screenshotter('9-api-docs');
  const { context, page } = await newPage(browser);
  const elsewhere = [];
  const refused = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(server.base) && !r.url().startsWith('data:')) elsewhere.push(r.url());
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
  });
  try {
    await page.goto(`${server.base}/admin/v1/docs`);
    const authorize = page.getByRole('button', { name: 'Authorize' }).first();
    await expectVisible(page, authorize, 'the Authorize button');
    await expectVisible(page, page.locator('#operations-clients-clients_list'), 'the clients operations');
    await expectAccessible(page, 'the API reference');
    await shot(page, 'reference');

    // Without a token the API answers 401, as documented.
    const list = page.locator('#operations-clients-clients_list');
    await list.locator('.opblock-summary-control').click();
    await list.getByRole('button', { name: 'Try it out' }).click();
    await list.getByRole('button', { name: 'Execute' }).click();
    const status = list.locator('.live-responses-table tbody .response-col_status').first();
    await expectVisible(page, status, 'the response status');
    assert.equal((await status.innerText()).trim(), '401');

    // Authorize with the client credentials flow.
    await authorize.click();
    const modal = page.locator('.modal-ux');
    await expectVisible(page, modal.getByText('oauth2 (OAuth2, clientCredentials)'), 'the client credentials scheme');
    await expectVisible(page, modal.getByText(`${server.base}/oauth2/token`), "this server's token endpoint");
    await expectAccessible(page, 'the Authorize dialog');
    await modal.locator('#client_id_clientCredentials').fill(ADMIN_CLIENT.id);
    await modal.locator('#client_secret_clientCredentials').fill(ADMIN_CLIENT.secret);
    await shot(page, 'authorize');
    await modal.getByRole('button', { name: 'Authorize' }).last().click();
    await expectVisible(page, modal.getByRole('button', { name: 'Logout' }), 'the authorized state');
    await modal.getByRole('button', { name: 'Close' }).last().click();

    await list.getByRole('button', { name: 'Execute' }).click();
    await page.waitForFunction(
      () => document.querySelector('#operations-clients-clients_list .live-responses-table tbody .response-col_status')?.textContent.trim() === '200',
      null,
      { timeout: 10_000 },
    );
    const body = await list.locator('.live-responses-table tbody .response-col_description pre').first().innerText();
    assert.ok(body.includes(`"client_id": "${ADMIN_CLIENT.id}"`), `the list names the admin client:\n${body}`);
    await expectAccessible(page, 'the API reference after a call');
    await shot(page, 'tried');

    assert.deepEqual(elsewhere, [], 'every request stays on the server');
    assert.deepEqual(refused, [], 'nothing the page needs is refused by its Content-Security-Policy');
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await context.close();
    await server.stop();
  }
});
