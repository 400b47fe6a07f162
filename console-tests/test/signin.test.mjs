// The admin console in a real browser: the first owner's setup link, password sign-in,
// two-step verification (enrolment, TOTP, recovery codes), signing out (here and everywhere)
// and single sign-on. Each test starts its own Tollgate on an empty SQLite data directory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  expectVisible,
  launchChromium,
  newPage,
  screenshotter,
  visibleText,
  waitForPath,
} from '../lib/browser.mjs';
import { freePort, REPO_ROOT, startTollgate } from '../lib/server.mjs';
import { STEP_SECONDS, stepOf, totp } from '../lib/totp.mjs';

const OWNER = {
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  password: 'correct horse battery staple',
};

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowSeconds = () => Date.now() / 1000;

/** A 6-digit code that is none of the codes around now (so the server must refuse it). */
function wrongCode(setupKey) {
  const t = nowSeconds();
  const near = new Set([-2, -1, 0, 1, 2].map((d) => totp(setupKey, t + d * STEP_SECONDS)));
  for (let i = 0; ; i++) {
    const c = String((123456 + i * 111111) % 1_000_000).padStart(6, '0');
    if (!near.has(c)) return c;
  }
}

/** Waits until the 30-second step is later than `step`; returns the new step. */
async function waitForStepAfter(step) {
  while (stepOf(nowSeconds()) <= step) {
    const next = (step + 1) * STEP_SECONDS * 1000;
    await sleep(Math.max(50, next - Date.now() + 200));
  }
  return stepOf(nowSeconds());
}

/** Opens the setup link and creates the first owner; ends on the sign-in page. */
async function createFirstOwner(page, shot, setupLink, who = OWNER) {
  assert.ok(setupLink, 'the first start printed no /console/setup?token= link on stderr');
  await page.goto(setupLink);
  await expectVisible(page, page.getByRole('heading', { name: 'Create the first owner' }), 'the setup page');
  await shot(page, 'setup');
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Name').fill(who.name);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Create owner account' }).click();
  await waitForPath(page, '/console/sign-in?done=setup');
  await expectVisible(page, page.getByText('Your owner account is ready. Sign in to continue.'), 'the setup notice');
  await shot(page, 'sign-in-after-setup');
}

/** Fills the sign-in form (the page must show it) and submits it. */
async function submitPassword(page, email, password) {
  await expectVisible(page, page.getByRole('button', { name: 'Sign in', exact: true }), 'the sign-in form');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/**
 * On the enrolment page: reads the setup key, checks the QR code, types a wrong code (refused,
 * same page), then the right one. Returns { setupKey, step, codes } (step: the TOTP step used).
 */
async function enrol(page, shot) {
  await waitForPath(page, '/console/enrol');
  await expectVisible(page, page.getByRole('heading', { name: 'Set up two-step verification' }), 'the enrolment page');
  const qr = page.locator('figure svg');
  await expectVisible(page, qr, 'the QR code (an <svg> in a <figure>)');
  const box = await qr.first().boundingBox();
  assert.ok(box && box.width >= 100 && box.height >= 100, `the QR code is too small to scan: ${JSON.stringify(box)}`);
  const setupKey = (await page.locator('#setup-key').innerText()).trim();
  assert.match(setupKey, /^[A-Z2-7 =-]{16,}$/i, 'the setup key is base32 text');
  await shot(page, 'enrol');

  // A wrong code: an alert, and still the enrolment page.
  await page.getByLabel('Authentication code').fill(wrongCode(setupKey));
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  await expectVisible(page, page.getByRole('alert'), 'an alert about the wrong code');
  await waitForPath(page, '/console/enrol');
  await expectVisible(page, page.getByRole('heading', { name: 'Set up two-step verification' }), 'the enrolment page again');
  await shot(page, 'enrol-wrong-code');
  // The key stays the same after a wrong code (the app already has it).
  assert.equal((await page.locator('#setup-key').innerText()).trim(), setupKey);

  const t = nowSeconds();
  await page.getByLabel('Authentication code').fill(totp(setupKey, t));
  await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
  await expectVisible(page, page.getByRole('heading', { name: 'Your recovery codes' }), 'the recovery codes');
  const codes = (await page.locator('#recovery-codes li code').allInnerTexts()).map((c) => c.trim());
  assert.equal(codes.length, 10, `ten recovery codes, got ${JSON.stringify(codes)}`);
  for (const c of codes) assert.match(c, /^[A-Za-z0-9]{5}-[A-Za-z0-9]{5}$/, `recovery code ${c}`);
  assert.equal(new Set(codes).size, 10, 'the recovery codes differ');
  await shot(page, 'recovery-codes');
  await page.getByRole('link', { name: 'Continue' }).click();
  return { setupKey, step: stepOf(t), codes };
}

/** Checks the console's dashboard for `who` with the role owner, then opens their account page. */
async function expectHome(page, shot, who, name = 'home') {
  await waitForPath(page, '/console');
  await expectVisible(page, page.getByRole('heading', { name: `Welcome, ${who.name}` }), `"Welcome, ${who.name}"`);
  await shot(page, name);
  const account = page.getByRole('navigation', { name: 'Account' });
  await expectVisible(page, account.getByRole('button', { name: 'Sign out', exact: true }), 'the header’s Sign out button');
  await account.getByRole('link', { name: who.name }).click();
  await waitForPath(page, '/console/account');
  await expectVisible(page, page.getByText(`Signed in as ${who.email} with the role owner`), 'the email and role');
  await expectVisible(page, page.getByRole('button', { name: 'Sign out everywhere' }), 'the Sign out everywhere button');
  await shot(page, `${name}-account`);
}

async function signOut(page, shot) {
  await page.getByRole('navigation', { name: 'Account' }).getByRole('button', { name: 'Sign out', exact: true }).click();
  await waitForPath(page, '/console/sign-in?done=signed-out');
  await expectVisible(page, page.getByText('You are signed out.'), '"You are signed out."');
  await shot(page, 'signed-out');
}

/** The stylesheet loaded: a page with no CSS would render the default serif body font. */
async function expectStyled(page) {
  const sheets = await page.evaluate(() => [...document.styleSheets].map((s) => s.cssRules.length));
  assert.ok(sheets.length > 0 && sheets.every((n) => n > 0), `the stylesheet did not load (${JSON.stringify(sheets)})`);
}

test('first owner: setup link, password, two-step enrolment, recovery code sign-in', { timeout: 120_000 }, async () => {
  const server = await startTollgate();
  const { context, page } = await newPage(browser);
  const shot = screenshotter('1-first-owner');
  try {
    await createFirstOwner(page, shot, server.setupLink);
    await expectStyled(page);

    // A wrong password: an alert, no session.
    await submitPassword(page, OWNER.email, 'not the password at all');
    await expectVisible(page, page.getByRole('alert').getByText('The email address or password is not right.'), 'the wrong-password alert');
    await shot(page, 'sign-in-wrong-password');

    // The right one: console_mfa=required (the default) sends a person without a second
    // factor to set one up.
    await submitPassword(page, OWNER.email, OWNER.password);
    const { setupKey, codes } = await enrol(page, shot);
    await expectHome(page, shot, OWNER, 'home-after-enrol');
    await signOut(page, shot);

    // /console now wants a sign-in again.
    await page.goto(`${server.base}/console`);
    await waitForPath(page, '/console/sign-in');

    // Password again, then the second factor.
    await submitPassword(page, OWNER.email, OWNER.password);
    await waitForPath(page, '/console/second-factor');
    await expectVisible(page, page.getByRole('heading', { name: 'Two-step verification' }), 'the second-factor page');
    await shot(page, 'second-factor');

    // A wrong code: an alert, and still the same page.
    await page.getByLabel('Authentication code').fill(wrongCode(setupKey));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expectVisible(page, page.getByRole('alert'), 'an alert about the wrong code');
    await waitForPath(page, '/console/second-factor');
    await shot(page, 'second-factor-wrong-code');

    // Lost the authenticator: a recovery code instead.
    await page.getByText('Lost your authenticator? Use a recovery code').click();
    await page.getByLabel('Recovery code').fill(codes[3]);
    await shot(page, 'second-factor-recovery-open');
    await page.getByRole('button', { name: 'Use recovery code' }).click();
    await expectHome(page, shot, OWNER, 'home-after-recovery-code');
  } catch (e) {
    await shot(page, 'failure').catch(() => {});
    e.message += `\n${server.output()}`;
    throw e;
  } finally {
    await context.close();
    await server.stop();
  }
});

test('the next TOTP code signs in; "Sign out everywhere" ends the other browser’s session', { timeout: 150_000 }, async () => {
  const server = await startTollgate();
  const a = await newPage(browser);
  const b = await newPage(browser);
  const shotA = screenshotter('2-everywhere-a');
  const shotB = screenshotter('2-everywhere-b');
  try {
    await createFirstOwner(a.page, shotA, server.setupLink);
    await submitPassword(a.page, OWNER.email, OWNER.password);
    const { setupKey, step } = await enrol(a.page, shotA);
    await expectHome(a.page, shotA, OWNER);

    // Browser B: password, then the code used at enrolment is refused (each code works once) ...
    await b.page.goto(`${server.base}/console`);
    await waitForPath(b.page, '/console/sign-in');
    await submitPassword(b.page, OWNER.email, OWNER.password);
    await waitForPath(b.page, '/console/second-factor');
    await shotB(b.page, 'second-factor');
    await b.page.getByLabel('Authentication code').fill(totp(setupKey, step * STEP_SECONDS));
    await b.page.getByRole('button', { name: 'Verify' }).click();
    await expectVisible(b.page, b.page.getByRole('alert'), 'an alert: the enrolment code was used already');
    await waitForPath(b.page, '/console/second-factor');
    await shotB(b.page, 'second-factor-code-reused');
    // ... and the next step's code is accepted.
    const next = await waitForStepAfter(step);
    await b.page.getByLabel('Authentication code').fill(totp(setupKey, next * STEP_SECONDS));
    await b.page.getByRole('button', { name: 'Verify' }).click();
    await expectHome(b.page, shotB, OWNER);

    // A signs out everywhere: A is signed out ...
    await a.page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await waitForPath(a.page, '/console/sign-in');
    await shotA(a.page, 'signed-out-everywhere');
    await a.page.goto(`${server.base}/console`);
    await waitForPath(a.page, '/console/sign-in');

    // ... and so is B, on its next request.
    await b.page.reload();
    await waitForPath(b.page, '/console/sign-in');
    await expectVisible(b.page, b.page.getByRole('button', { name: 'Sign in', exact: true }), 'the sign-in form');
    await shotB(b.page, 'after-reload');
  } catch (e) {
    await shotA(a.page, 'failure').catch(() => {});
    await shotB(b.page, 'failure').catch(() => {});
    e.message += `\n${server.output()}`;
    throw e;
  } finally {
    await a.context.close();
    await b.context.close();
    await server.stop();
  }
});

// --- single sign-on against node-oidc-provider -----------------------------------------------

const PROVIDER = join(REPO_ROOT, 'interop', 'oidc-provider', 'provider.mjs');

/** Starts the OpenID Connect test provider for a Tollgate that will listen at `tollgateBase`. */
async function startProvider(tollgateBase, clientSecret) {
  if (!existsSync(PROVIDER)) {
    throw new Error(`the OpenID Connect test provider ${PROVIDER} is missing`);
  }
  if (!existsSync(join(REPO_ROOT, 'interop', 'oidc-provider', 'node_modules'))) {
    throw new Error('interop/oidc-provider/node_modules is missing: run `npm ci` there (console-tests/run.sh does)');
  }
  const child = spawn(
    process.execPath,
    [PROVIDER, '--port', '0', '--client-id', 'tollgate-console', '--client-secret', clientSecret,
      '--redirect-uri', `${tollgateBase}/console/sso/callback`],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: join(REPO_ROOT, 'interop', 'oidc-provider') },
  );
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const exit = new Promise((r) => child.once('exit', r));
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the provider printed no address within 20 s:\n${out}\n${err}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = /oidc-provider listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1].replace(/\/$/, ''));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the provider exited (${code}) before listening:\n${out}\n${err}`));
    });
  });
  return {
    url,
    output: () => `--- provider stdout ---\n${out}--- provider stderr ---\n${err}`,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exit;
      }
    },
  };
}

/** From Tollgate's sign-in page through the provider's login and consent pages. */
async function signInThroughProvider(page, shot, base, login) {
  await page.goto(`${base}/console/sign-in`);
  const sso = page.getByRole('link', { name: 'Sign in with single sign-on' });
  await expectVisible(page, sso, 'the single sign-on link');
  await shot(page, 'sign-in-with-sso');
  await sso.click();
  const loginField = page.locator('input[name="login"]');
  await expectVisible(page, loginField, "the provider's login form");
  await loginField.fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await shot(page, 'provider-login');
  await page.locator('button[type="submit"]').first().click();
  // The consent page (skipped if the provider does not ask).
  await page.waitForLoadState('load');
  if (new URL(page.url()).origin !== new URL(base).origin) {
    await shot(page, 'provider-consent');
    await page.locator('button[type="submit"]').first().click();
  }
  await page.waitForURL((u) => u.origin === new URL(base).origin && !u.pathname.startsWith('/console/sign-in'), {
    timeout: 15_000,
  }).catch(async () => {
    throw new Error(`did not come back to Tollgate; the page is ${page.url()}:\n${await visibleText(page)}`);
  });
}

test('single sign-on: an owner group gets in, another group gets "No access"', { timeout: 120_000 }, async () => {
  const secret = 'console-tests-sso-secret-0123456789';
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const provider = await startProvider(base, secret);
  let server;
  try {
    server = await startTollgate({
      port,
      env: {
        TOLLGATE_SSO_ISSUER: provider.url,
        TOLLGATE_SSO_CLIENT_ID: 'tollgate-console',
        TOLLGATE_SSO_CLIENT_SECRET: secret,
        TOLLGATE_SSO_OWNER_VALUES: 'tollgate-owners',
        TOLLGATE_SSO_SCOPES: 'email,profile,groups',
      },
    });

    // owner@example.com is in tollgate-owners: "Signed in", then the console as an owner.
    {
      const { context, page } = await newPage(browser);
      const shot = screenshotter('3-sso-owner');
      try {
        await signInThroughProvider(page, shot, base, 'owner@example.com');
        await waitForPath(page, '/console');
        await page.goto(`${base}/console/account`);
        await expectVisible(page, page.getByText('Signed in as owner@example.com with the role owner'), 'the owner’s account page');
        await shot(page, 'home');
      } catch (e) {
        await shot(page, 'failure').catch(() => {});
        throw e;
      } finally {
        await context.close();
      }
    }

    // nobody@example.com is only in sales: no access, and no session.
    {
      const { context, page } = await newPage(browser);
      const shot = screenshotter('3-sso-nobody');
      try {
        await signInThroughProvider(page, shot, base, 'nobody@example.com');
        await expectVisible(page, page.getByRole('heading', { name: 'No access to Tollgate' }), '"No access to Tollgate"');
        await shot(page, 'no-access');
        await page.goto(`${base}/console`);
        await waitForPath(page, '/console/sign-in');
      } catch (e) {
        await shot(page, 'failure').catch(() => {});
        throw e;
      } finally {
        await context.close();
      }
    }
  } catch (e) {
    e.message += `\n${server ? server.output() : ''}\n${provider.output()}`;
    throw e;
  } finally {
    await server?.stop();
    await provider.stop();
  }
});
