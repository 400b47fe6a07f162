// "Create API client" in a real browser: the catalogue's permissions on the form, a field error
// beside its field, the credentials page shown once (id and secret read from the page give a
// token; the .env and Postman downloads hold working values; copy buttons copy; leaving asks),
// and a viewer, who sees no "Create API client" and is refused the form.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { launchChromium, screenshotter } from '../lib/browser.mjs';
import {
  api,
  clientToken,
  expectAccessible,
  expectVisible,
  inBothSchemes,
  signIn,
  signInAs,
  startConsole,
  waitForPath,
} from '../lib/console.mjs';

let browser;
const shot = screenshotter('3-create');
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** A token from `tokenUrl` with HTTP Basic, as an integration reading the files would ask. */
async function tokenAt(tokenUrl, id, secret) {
  const r = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  return { status: r.status, body: await r.json() };
}

/** KEY="value" lines of a .env file (values as dotenv reads them: quotes and escapes undone). */
function parseEnv(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)="((?:[^"\\]|\\.)*)"$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/\\(.)/g, '$1');
  }
  return out;
}

/** Clicks `link` and returns the download it starts, with its contents. */
async function download(page, link) {
  const [d] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const failure = await d.failure();
  assert.equal(failure, null, `the download of ${d.suggestedFilename()} failed: ${failure}`);
  return { name: d.suggestedFilename(), text: await readFile(await d.path(), 'utf8') };
}

test('the owner creates an API client and gets tokens with the credentials shown once', { timeout: 120_000 }, async () => {
  const server = await startConsole();
  try {
    const made = await api(server, 'POST', '/apis', {
      identifier: 'https://reports.example.com/',
      name: 'Reports API',
      description: 'Monthly and ad-hoc reports',
      permissions: [
        { value: 'reports:read', description: 'Read every report' },
        { value: 'reports:write', description: 'Create and change reports' },
      ],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const existing = await api(server, 'POST', '/clients', { name: 'Existing integration' });
    assert.equal(existing.status, 201, JSON.stringify(existing.body));

    const { context, page } = await signIn(browser, server);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });

    // API clients → "Create API client": the catalogue with each permission's description.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API clients' }).click();
    await waitForPath(page, '/console/clients');
    await page.getByRole('link', { name: 'Create API client' }).click();
    await waitForPath(page, '/console/clients/new');
    await expectVisible(page, page.getByRole('heading', { name: 'Create API client', level: 1 }), 'the form');
    const group = page.getByRole('group', { name: /Reports API/ });
    await expectVisible(page, group, 'the Reports API fieldset');
    const read = page.getByLabel('reports:read', { exact: true });
    assert.equal(await read.getAttribute('type'), 'checkbox');
    assert.equal(await read.isChecked(), false, 'nothing is ticked to start with');
    // The description is the checkbox's accessible description.
    const described = await read.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')).textContent);
    assert.equal(described, 'Read every report');
    // "More settings": what the admin API's create request takes besides.
    await page.getByText('More settings').click();
    await expectVisible(page, page.getByLabel('Token lifetime (seconds)'), 'the token lifetime');
    await expectVisible(page, page.getByLabel('Tenants'), 'the tenants');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the create form (${scheme})`));
    await shot(page, 'form');
    await page.setViewportSize({ width: 360, height: 800 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'the form fits 360 px');
    await page.setViewportSize({ width: 1100, height: 800 });

    // A name already taken: the error is beside Name, what was typed is kept.
    await page.getByLabel('Name', { exact: true }).fill('Existing integration');
    await page.getByLabel('Description', { exact: true }).fill('Exports reports every night');
    await read.check();
    await page.getByRole('button', { name: 'Create API client' }).click();
    const nameError = page.locator('#name-error');
    await expectVisible(page, nameError, 'the error beside Name');
    assert.match(await nameError.textContent(), /already exists/);
    assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByLabel('Description', { exact: true }).inputValue(), 'Exports reports every night');
    assert.equal(await page.getByLabel('reports:read', { exact: true }).isChecked(), true);
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the form with an error (${scheme})`));
    await shot(page, 'form-error');

    // Fixed: the credentials page.
    await page.getByLabel('Name', { exact: true }).fill('Report exporter');
    await page.getByRole('button', { name: 'Create API client' }).click();
    await expectVisible(page, page.getByRole('heading', { name: 'Credentials for Report exporter' }), 'the credentials page');
    await expectVisible(page, page.getByText('it will not be shown again'), 'the warning');
    const id = (await page.locator('#client-id').textContent()).trim();
    const secret = (await page.locator('#client-secret').textContent()).trim();
    assert.match(id, /^tgc_/);
    assert.match(secret, /^tgs_/);
    const fromPage = await clientToken(server, id, secret);
    assert.equal(fromPage.status, 200, JSON.stringify(fromPage.body));
    assert.equal(fromPage.body.scope, 'reports:read');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the credentials page (${scheme})`));
    await shot(page, 'credentials');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'credentials-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Copy buttons copy.
    await page.getByRole('button', { name: 'Copy client secret' }).click();
    await page.waitForFunction(() => document.getElementById('copy-status').textContent === 'Client secret copied');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await page.getByRole('button', { name: 'Copy client id' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), id);

    // The .env file's values get a token.
    const env = await download(page, page.getByRole('link', { name: 'Download .env' }));
    assert.equal(env.name, 'report-exporter.env');
    const vars = parseEnv(env.text);
    assert.equal(vars.OAUTH_CLIENT_ID, id);
    assert.equal(vars.OAUTH_CLIENT_SECRET, secret);
    assert.equal(vars.OAUTH_SCOPE, 'reports:read');
    const fromEnv = await tokenAt(vars.OAUTH_TOKEN_URL, vars.OAUTH_CLIENT_ID, vars.OAUTH_CLIENT_SECRET);
    assert.equal(fromEnv.status, 200, JSON.stringify(fromEnv.body));

    // So do the Postman environment's.
    const postman = await download(page, page.getByRole('link', { name: 'Download Postman environment' }));
    assert.equal(postman.name, 'report-exporter.postman_environment.json');
    const environment = JSON.parse(postman.text);
    assert.equal(environment._postman_variable_scope, 'environment');
    const value = (key) => environment.values.find((v) => v.key === key)?.value;
    assert.equal(value('client_id'), id);
    assert.equal(value('client_secret'), secret);
    assert.equal(value('token_url'), vars.OAUTH_TOKEN_URL);
    assert.equal(value('scope'), 'reports:read');
    const fromPostman = await tokenAt(value('token_url'), value('client_id'), value('client_secret'));
    assert.equal(fromPostman.status, 200, JSON.stringify(fromPostman.body));

    // At 360 px wide the page fits.
    await page.setViewportSize({ width: 360, height: 800 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no sideways scrolling at 360 px');
    await shot(page, 'credentials-360');
    await page.setViewportSize({ width: 1100, height: 800 });

    // Leaving without ticking "I have stored the secret" asks first.
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.type());
      d.dismiss().catch(() => {});
    });
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API clients' }).click();
    await page.waitForTimeout(500);
    assert.deepEqual(dialogs, ['beforeunload']);
    await expectVisible(page, page.getByRole('heading', { name: 'Credentials for Report exporter' }), 'still the credentials page');
    // Ticked, it lets go without asking.
    await page.getByLabel('I have stored the secret').check();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API clients' }).click();
    await waitForPath(page, '/console/clients');
    assert.deepEqual(dialogs, ['beforeunload']);
    await expectVisible(page, page.getByRole('link', { name: 'Report exporter' }), 'the new client in the list');

    // "Continue to the client" leaves without asking too.
    await page.getByRole('link', { name: 'Create API client' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Second exporter');
    await page.getByLabel('reports:write', { exact: true }).check();
    await page.getByRole('button', { name: 'Create API client' }).click();
    const secondId = (await page.locator('#client-id').textContent()).trim();
    await page.getByRole('link', { name: 'Continue to the client' }).click();
    await waitForPath(page, `/console/clients/${secondId}`);
    assert.deepEqual(dialogs, ['beforeunload']);
    await context.close();
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await server.stop();
  }
});

test('a viewer sees no "Create API client" and is refused the form', { timeout: 60_000 }, async () => {
  const server = await startConsole();
  try {
    const { page, context } = await signInAs(browser, server, 'viewer');
    await page.goto(`${server.base}/console/clients`);
    await expectVisible(page, page.getByRole('heading', { name: 'API clients' }), 'the list');
    assert.equal(await page.getByRole('link', { name: 'Create API client' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Create API client' }).count(), 0);
    const refused = await page.goto(`${server.base}/console/clients/new`);
    assert.equal(refused.status(), 403);
    await expectVisible(page, page.getByText('Your role does not allow this'), 'the refusal');
    await shot(page, 'viewer-refused');
    await context.close();
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await server.stop();
  }
});
