// The shared set-up works: the owner from the environment signs in, a viewer joins, and the
// dashboard passes the accessibility scan in both colour schemes.
import { after, before, test } from 'node:test';
import { launchChromium, screenshotter } from '../lib/browser.mjs';
import { expectAccessible, expectVisible, inBothSchemes, OWNER, signIn, signInAs, startConsole } from '../lib/console.mjs';

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('the owner and a viewer sign in; the dashboard is accessible', { timeout: 60_000 }, async () => {
  const server = await startConsole();
  const shot = screenshotter('0-smoke');
  try {
    const owner = await signIn(browser, server, OWNER);
    await expectVisible(owner.page, owner.page.getByRole('heading', { name: `Welcome, ${OWNER.name}` }), 'the dashboard');
    await inBothSchemes(owner.page, (scheme) => expectAccessible(owner.page, `the dashboard (${scheme})`));
    await shot(owner.page, 'owner-dashboard');
    const viewer = await signInAs(browser, server, 'viewer');
    await expectVisible(viewer.page, viewer.page.getByRole('heading', { name: `Welcome, ${viewer.who.name}` }), 'the viewer dashboard');
    await shot(viewer.page, 'viewer-dashboard');
  } catch (e) {
    throw new Error(`${e.message}\n${server.output()}`);
  } finally {
    await server.stop();
  }
});
