// The dashboard: what a person sees after signing in. Token requests made with clientToken
// show up in its counts, a client that asks for a token per call is listed under "Needs
// attention" with a link to it, a secret expiring soon is listed, and a viewer sees the same
// page with nothing to press. Accessible in both colour schemes; screenshots at 1100 and
// 360 px.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, screenshotter } from '../lib/browser.mjs';
import {
  api, clientToken, expectAccessible, expectVisible, inBothSchemes, OWNER, signIn, signInAs, startConsole, visibleText,
} from '../lib/console.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** Reloads the dashboard until `ready(page)` holds (the counts are written behind). */
async function pollDashboard(page, server, what, ready, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await page.goto(`${server.base}/console`);
    if (await ready(page)) return;
    if (Date.now() > deadline) {
      throw new Error(`the dashboard never showed ${what}:\n${await visibleText(page)}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const figure = async (page, id) => Number((await page.locator(`#${id}`).innerText()).replace(/,/g, ''));

async function createClient(server, name, scopes, extra = {}) {
  const created = await api(server, 'POST', '/clients', { name, description: 'dashboard test', scopes, ...extra });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { id: created.body.client.client_id, secret: created.body.client_secret };
}

test('the dashboard counts tokens, lists what needs attention with links, and is read-only for a viewer', { timeout: 120_000 }, async () => {
  const server = await startConsole();
  const shot = screenshotter('2-dashboard');
  try {
    const { page } = await signIn(browser, server, OWNER);
    await expectVisible(page, page.getByRole('heading', { name: `Welcome, ${OWNER.name}` }), 'the dashboard');
    await expectVisible(page, page.getByText('Nothing needs attention.'), 'the empty attention list');
    await expectVisible(page, page.getByText('No secret expires in the next 14 days.'), 'no expiring secret');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the empty dashboard (${scheme})`));
    await shot(page, 'empty');

    const apiCreated = await api(server, 'POST', '/apis', {
      identifier: 'https://reports.example.com',
      name: 'Reports API',
      permissions: [{ value: 'reports:read', description: 'Read reports' }],
    });
    assert.equal(apiCreated.status, 201, JSON.stringify(apiCreated.body));
    const noisy = await createClient(server, 'Nightly export', ['reports:read'], { access_token_lifetime: 3600 });
    const calm = await createClient(server, 'Billing sync', ['reports:read'], { access_token_lifetime: 3600 });
    const before = await figure(page, 'tokens-issued');
    // Fifty tokens, more than the token endpoint's burst per client: a 429 is waited out as
    // its Retry-After says.
    let limited = 0;
    for (let issued = 0; issued < 50;) {
      const r = await clientToken(server, noisy.id, noisy.secret);
      if (r.status === 429) {
        limited++;
        await new Promise((done) => setTimeout(done, 1000 * Number(r.retryAfter)));
        continue;
      }
      assert.equal(r.status, 200, JSON.stringify(r.body));
      issued++;
    }
    for (let i = 0; i < 3; i++) {
      assert.equal((await clientToken(server, calm.id, calm.secret)).status, 200);
    }
    for (const secret of ['tgs_not-the-secret', 'another-wrong-one']) {
      assert.equal((await clientToken(server, calm.id, secret)).status, 401);
    }
    const expires = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const added = await api(server, 'POST', `/clients/${calm.id}/secrets`, { expires_at: expires });
    assert.equal(added.status, 201, JSON.stringify(added.body));

    await pollDashboard(page, server, '53 more tokens', async (p) => (await figure(p, 'tokens-issued')) >= before + 53);
    // The two wrong secrets, and the requests the rate limit refused (counted as refusals too).
    assert.equal(await figure(page, 'tokens-failed'), 2 + limited);
    await expectVisible(page, page.locator('.codes-list').getByText('invalid_client'), 'the failures by error code');
    assert.equal(await page.locator('.tile a', { hasText: 'API clients' }).locator('.figure').innerText(), '3');

    // Needs attention: the client that asks for a token per call, linked.
    const attention = page.locator('.attention li', { hasText: 'Nightly export' });
    await expectVisible(page, attention, 'the client that does not cache its tokens');
    assert.match(await attention.innerText(), /does not cache its tokens: it got 50 in the last 24 hours/);
    const link = attention.getByRole('link', { name: 'Nightly export' });
    assert.equal(await link.getAttribute('href'), `/console/clients/${noisy.id}`);
    assert.equal(await page.locator('.attention li', { hasText: 'Billing sync' }).count(), 0, 'three tokens are fine');
    await expectVisible(page, page.getByText(/more than 10 times the tokens one caller needs/), 'the rule, stated');

    // The secret that expires in three days, with its client.
    const expiring = page.locator('section', { has: page.getByRole('heading', { name: 'Secrets expiring within 14 days' }) });
    const row = expiring.getByRole('row', { name: /Billing sync/ });
    await expectVisible(page, row, 'the expiring secret');
    assert.equal(await row.getByRole('link').getAttribute('href'), `/console/clients/${calm.id}`);
    assert.match(await row.innerText(), new RegExp(added.body.secret.secret_id));

    // Signing keys: the current key's age and the next rotation.
    const keys = page.locator('section', { has: page.getByRole('heading', { name: 'Signing keys' }) });
    assert.match(await keys.getByRole('row').nth(1).innerText(), /ES256[\s\S]*old\)[\s\S]*\(in \d+ days\)/);

    await inBothSchemes(page, (scheme) => expectAccessible(page, `the dashboard with counts (${scheme})`));
    await shot(page, 'owner');
    await page.setViewportSize({ width: 360, height: 800 });
    await expectAccessible(page, 'the dashboard at 360 px');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways at 360 px by ${overflow} px`);
    await shot(page, 'owner-360px');

    // A viewer sees the same page and nothing to press in it.
    const viewer = await signInAs(browser, server, 'viewer');
    await expectVisible(viewer.page, viewer.page.locator('.attention li', { hasText: 'Nightly export' }), 'the attention list for a viewer');
    assert.equal(await viewer.page.locator('main button, main form, main input').count(), 0, 'read-only');
    await shot(viewer.page, 'viewer');
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await server.stop();
  }
});
