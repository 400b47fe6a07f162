// The Signing keys page in Chromium: the owner rotates now (the new key signs, tokens of the
// old one stay valid), then rotates immediately through its confirmation (tokens signed
// before are refused, as the page says); managers and viewers see the keys without buttons.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchChromium, screenshotter } from '../lib/browser.mjs';
import {
  adminToken,
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

async function keys(server) {
  const r = await api(server, 'GET', '/keys');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.keys;
}

const current = async (server) => (await keys(server)).find((k) => k.state === 'current').kid;

/** The admin API's answer to a token: 200 while the token is valid. */
async function usable(server, token) {
  const r = await fetch(`${server.base}/admin/v1/keys`, { headers: { authorization: `Bearer ${token}` } });
  return r.status;
}

test('the owner rotates now, then immediately; other roles only read', { timeout: 120_000 }, async () => {
  const server = await startConsole();
  const shot = screenshotter('6-keys');
  try {
    const { page } = await signIn(browser, server);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Signing keys' }).click();
    await waitForPath(page, '/console/keys');
    const first = await current(server);
    const firstRow = page.getByRole('row', { name: new RegExp(first) });
    await expectVisible(page, firstRow, 'the current key');
    assert.match(await firstRow.innerText(), /ES256\s+current/);
    await expectVisible(page, page.getByText('published in the JWKS before it is used'), 'what the states mean');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the signing keys (${scheme})`));
    await shot(page, 'keys');

    // Rotate now: a new key signs; a token of the old one stays valid.
    const before = await adminToken(server);
    await page.getByRole('button', { name: 'Rotate now' }).click();
    await page.waitForURL(/\/console\/keys\?rotated=/);
    const second = await current(server);
    assert.notEqual(second, first);
    await expectVisible(page, page.getByText(`Rotated: key ${second} now signs new tokens.`), 'the notice naming the new key');
    assert.match(await page.getByRole('row', { name: new RegExp(second) }).innerText(), /current/);
    assert.match(await page.getByRole('row', { name: new RegExp(first) }).innerText(), /retired/);
    assert.equal(await usable(server, before), 200, 'a token of the old key stays valid');
    await expectAccessible(page, 'the signing keys after a rotation');
    await shot(page, 'rotated-now');

    // Rotate immediately: a confirmation that says what happens, then it happens.
    const old = await adminToken(server);
    await page.getByRole('button', { name: 'Rotate immediately…' }).click();
    await waitForPath(page, '/console/keys/rotate-immediately');
    await expectVisible(page, page.getByText('every token they signed stops working'), 'the consequence');
    await expectVisible(page, page.getByText(first), 'the keys it removes');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the confirmation (${scheme})`));
    await shot(page, 'confirm-immediately');
    await page.getByLabel('I understand that every token issued so far with these keys stops working').check();
    await page.getByRole('button', { name: 'Rotate immediately', exact: true }).click();
    await page.waitForURL(/\/console\/keys\?rotated=.*&removed=2$/);
    const third = await current(server);
    assert.deepEqual((await keys(server)).map((k) => k.kid), [third], 'only the new key is left');
    await expectVisible(page, page.getByText(`Rotated immediately: key ${third} now signs new tokens.`), 'the notice');
    assert.equal(await usable(server, old), 401, 'tokens signed before are refused');
    assert.equal(await usable(server, before), 401);
    await shot(page, 'rotated-immediately');
    await page.setViewportSize({ width: 360, height: 800 });
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    assert.ok(scroll <= client + 1, `the keys page is ${scroll}px wide at ${client}px`);
    await shot(page, 'keys-360');

    for (const role of ['manager', 'viewer']) {
      const other = await signInAs(browser, server, role);
      await other.page.goto(`${server.base}/console/keys`);
      await expectVisible(other.page, other.page.getByRole('row', { name: new RegExp(third) }), `the keys for a ${role}`);
      assert.equal(await other.page.getByRole('button', { name: /Rotate/ }).count(), 0, `no rotate button for a ${role}`);
      await expectAccessible(other.page, `the signing keys for a ${role}`);
      await shot(other.page, `${role}-keys`);
      const refused = await other.page.goto(`${server.base}/console/keys/rotate-immediately`);
      assert.equal(refused.status(), 403);
      await other.context.close();
    }
    assert.equal(await current(server), third, 'nothing rotated since');
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await server.stop();
  }
});
