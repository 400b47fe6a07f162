// Administrators and My account in a real browser: the owner invites a viewer (the link shown
// once), the viewer accepts it in another browser and signs in (no Administrators link, the
// page answers 403); the owner makes them a manager, who changes their password on My account
// and signs in with the new one; the owner disables, then deletes them. Every page passes the
// accessibility scan; the last owner cannot be demoted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium, newPage, screenshotter } from '../lib/browser.mjs';
import {
  api,
  expectAccessible,
  expectVisible,
  inBothSchemes,
  OWNER,
  PASSWORD,
  signIn,
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

const NEW_PASSWORD = 'another long passphrase 2030';

test('owners invite, change, disable and delete administrators; people change their password', { timeout: 120_000 }, async () => {
  const server = await startConsole();
  const shot = screenshotter('8-admins');
  const vera = { email: 'vera@example.com', name: 'Vera <Viewer>', password: PASSWORD };
  let owner;
  let person;
  try {
    owner = await signIn(browser, server, OWNER);
    const { page } = owner;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administrators' }).click();
    await waitForPath(page, '/console/admins');
    await expectVisible(page, page.getByRole('heading', { name: 'Administrators', level: 1 }), 'the administrators page');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the administrators (${scheme})`));
    await shot(page, 'list');

    // A bad address: the error beside the field, nothing invited.
    await page.getByLabel('Email').fill('vera@');
    await page.getByLabel('Email').evaluate((el) => el.removeAttribute('type'));
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    await expectVisible(page, page.locator('#invite-email-error'), 'the error beside Email');
    await expectAccessible(page, 'a refused invitation');
    await shot(page, 'invite-refused');

    // The invitation: its link as text with a copy button, shown once.
    await page.getByLabel('Email').fill(vera.email);
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    await expectVisible(page, page.getByRole('heading', { name: 'Invitation link' }), 'the invitation link page');
    await expectVisible(page, page.getByText('Tollgate sends no mail: send this link yourself'), 'the note that no mail is sent');
    await expectVisible(page, page.getByRole('button', { name: 'Copy link' }), 'the copy button');
    const link = (await page.locator('#one-time-link').innerText()).trim();
    assert.match(link, /\/console\/invite\?token=/);
    await inBothSchemes(page, (scheme) => expectAccessible(page, `the invitation link (${scheme})`));
    await shot(page, 'invitation-link');
    await page.getByRole('link', { name: 'Done' }).click();
    await expectVisible(page, page.getByRole('cell', { name: vera.email }), 'the pending invitation');

    // The viewer accepts in a browser of their own and signs in: no Administrators link, 403.
    {
      const { context, page: p } = await newPage(browser);
      await p.goto(link);
      await p.getByLabel('Name').fill(vera.name);
      await p.getByLabel('Password').fill(vera.password);
      await p.getByRole('button', { name: 'Accept invitation' }).click();
      await waitForPath(p, '/console/sign-in');
      await context.close();
    }
    person = await signIn(browser, server, vera);
    const main = person.page.getByRole('navigation', { name: 'Main' });
    await expectVisible(person.page, main.getByRole('link', { name: 'Audit log' }), 'the navigation');
    assert.equal(await main.getByRole('link', { name: 'Administrators' }).count(), 0, 'no Administrators link for a viewer');
    const refused = await person.page.goto(`${server.base}/console/admins`);
    assert.equal(refused.status(), 403);
    await expectVisible(person.page, person.page.getByRole('heading', { name: 'Not allowed' }), 'the refusal');
    await expectAccessible(person.page, 'the refusal');
    await shot(person.page, 'viewer-refused');

    // The owner makes them a manager: their session ends.
    await page.reload();
    await page.getByRole('link', { name: vera.name }).click();
    await expectVisible(page, page.getByRole('heading', { name: vera.name }), 'the administrator’s page');
    await inBothSchemes(page, (scheme) => expectAccessible(page, `an administrator (${scheme})`));
    await shot(page, 'person');
    await page.getByLabel('Role', { exact: true }).selectOption('manager');
    await page.getByRole('button', { name: 'Change role' }).click();
    await expectVisible(page, page.getByText('The role is changed'), 'the role changed');
    assert.equal(await page.getByLabel('Role', { exact: true }).inputValue(), 'manager');
    await person.page.goto(`${server.base}/console`);
    await waitForPath(person.page, '/console/sign-in');
    await person.context.close();

    // The person, a manager now, changes their password on My account.
    person = await signIn(browser, server, vera);
    const account = person.page.getByRole('navigation', { name: 'Account' });
    await account.getByRole('link', { name: vera.name }).click();
    await waitForPath(person.page, '/console/account');
    await expectVisible(person.page, person.page.getByText(`Signed in as ${vera.email} with the role manager`), 'My account');
    await inBothSchemes(person.page, (scheme) => expectAccessible(person.page, `My account (${scheme})`));
    await shot(person.page, 'account');
    await person.page.getByLabel('Current password').fill('not the password at all');
    await person.page.getByLabel('New password').fill(NEW_PASSWORD);
    await person.page.getByRole('button', { name: 'Change password' }).click();
    await expectVisible(person.page, person.page.locator('#current-password-error'), 'the error beside Current password');
    await expectAccessible(person.page, 'a refused password change');
    await shot(person.page, 'password-refused');
    await person.page.getByLabel('Current password').fill(vera.password);
    await person.page.getByLabel('New password').fill(NEW_PASSWORD);
    await person.page.getByRole('button', { name: 'Change password' }).click();
    await expectVisible(person.page, person.page.getByText('Your password is changed'), 'the password changed');
    await person.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await waitForPath(person.page, '/console/sign-in');
    await person.context.close();
    person = await signIn(browser, server, { ...vera, password: NEW_PASSWORD });
    await person.context.close();
    person = null;

    // The last owner stays an owner: the reason on the page, nothing changed.
    await page.goto(`${server.base}/console/admins`);
    await page.getByRole('link', { name: OWNER.name, exact: true }).click();
    await page.getByLabel('Role', { exact: true }).selectOption('viewer');
    await page.getByRole('button', { name: 'Change role' }).click();
    await expectVisible(page, page.getByText('this would leave no active owner'), 'the last owner refusal');
    await expectAccessible(page, 'the last owner refusal');
    await shot(page, 'last-owner');

    // Disable (confirmed), then delete behind the typed address.
    await page.goto(`${server.base}/console/admins`);
    await page.getByRole('link', { name: vera.name }).click();
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Disable' }).click();
    await expectVisible(page, page.getByText('Disabled: they cannot sign in'), 'disabled');
    const r = await fetch(`${server.base}/console/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.base },
      body: new URLSearchParams({ email: vera.email, password: NEW_PASSWORD }),
      redirect: 'manual',
    });
    assert.equal(r.status, 401, 'a disabled administrator cannot sign in');
    const remove = page.getByRole('button', { name: 'Delete administrator' });
    assert.ok(await remove.isDisabled(), 'disabled until the address is typed');
    await page.getByLabel(`Type ${vera.email} to confirm`).fill(vera.email);
    await shot(page, 'delete');
    await remove.click();
    await waitForPath(page, '/console/admins?done=deleted');
    await expectVisible(page, page.getByText('The administrator is deleted'), 'deleted');
    assert.equal(await page.getByRole('cell', { name: vera.email }).count(), 0);
    const listed = await api(server, 'GET', '/admins');
    assert.deepEqual(listed.body.admins.map((a) => a.email), [OWNER.email]);

    await page.setViewportSize({ width: 360, height: 800 });
    await page.reload();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `no sideways scrolling of the page at 360 px (${width})`);
    await shot(page, 'narrow');
  } catch (e) {
    if (owner) await shot(owner.page, 'failure').catch(() => {});
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await person?.context.close().catch(() => {});
    await server.stop();
  }
});
