// Shared set-up for the console's flow tests: a Tollgate whose first owner and admin client
// come from the environment (so a test starts signed in, without walking the setup link and
// enrolment again: signin.test.mjs covers those), people of each role, the admin API for
// arranging what a test needs, and the accessibility scan every page gets.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expectVisible, newPage, visibleText, waitForPath } from './browser.mjs';
import { startTollgate } from './server.mjs';

export const OWNER = { email: 'owner@example.com', name: 'Owner', password: 'owner password 0123456789' };
export const ADMIN_CLIENT = { id: 'console-tests-admin', secret: 'console-tests-admin-secret-0123456789abcdef' };
export const PASSWORD = 'a long enough password 42';

/**
 * Starts Tollgate with an owner (OWNER) and an admin client (ADMIN_CLIENT) from the
 * environment. Two-step verification is optional here so that people of other roles can be
 * added quickly; signin.test.mjs tests the default (required).
 */
export async function startConsole({ env = {} } = {}) {
  return startTollgate({
    env: {
      TOLLGATE_BOOTSTRAP_ADMIN_EMAIL: OWNER.email,
      TOLLGATE_BOOTSTRAP_ADMIN_PASSWORD: OWNER.password,
      TOLLGATE_BOOTSTRAP_CLIENT_ID: ADMIN_CLIENT.id,
      TOLLGATE_BOOTSTRAP_CLIENT_SECRET: ADMIN_CLIENT.secret,
      TOLLGATE_CONSOLE_MFA: 'optional',
      ...env,
    },
  });
}

/** Signs `who` in with email and password in a fresh browser context; ends on /console. */
export async function signIn(browser, server, who = OWNER) {
  const { context, page } = await newPage(browser);
  await page.goto(`${server.base}/console/sign-in`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await waitForPath(page, '/console');
  return { context, page };
}

/** A token for the admin client (client credentials, HTTP Basic). */
export async function adminToken(server, scope = 'tollgate:admin') {
  const r = await fetch(`${server.base}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${ADMIN_CLIENT.id}:${ADMIN_CLIENT.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, `admin token: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Calls the admin API as the admin client; returns `{ status, body }` (body parsed when JSON). */
export async function api(server, method, path, body) {
  // One token reused until the server stops taking it, as an integration should (a token per
  // call would meet the token endpoint's rate limit); a rotation that retired it gets a new one.
  const call = (token) => fetch(`${server.base}/admin/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  server.adminApiToken ??= await adminToken(server);
  let r = await call(server.adminApiToken);
  if (r.status === 401) {
    server.adminApiToken = await adminToken(server);
    r = await call(server.adminApiToken);
  }
  const text = await r.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, body: parsed };
}

/**
 * Adds a person with `role` (invited through the admin API, invitation accepted in the
 * browser) and signs them in. Returns `{ context, page, who }`.
 */
export async function signInAs(browser, server, role, name = `${role[0].toUpperCase()}${role.slice(1)} Person`) {
  const who = { email: `${role}-${Date.now()}@example.com`, name, password: PASSWORD };
  const invited = await api(server, 'POST', '/admins', { email: who.email, role });
  assert.equal(invited.status, 201, JSON.stringify(invited.body));
  const { context, page } = await newPage(browser);
  await page.goto(invited.body.invite_url);
  await page.getByLabel('Name').fill(who.name);
  await page.getByLabel('Password').fill(who.password);
  await page.locator('form button[type=submit]').click();
  await waitForPath(page, '/console/sign-in');
  await context.close();
  const signed = await signIn(browser, server, who);
  return { ...signed, who };
}

/** Gets a token at the token endpoint with a client's id and secret; returns `{ status, body }`. */
export async function clientToken(server, clientId, clientSecret, scope) {
  const form = { grant_type: 'client_credentials' };
  if (scope) form.scope = scope;
  const r = await fetch(`${server.base}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
    },
    body: new URLSearchParams(form),
  });
  return { status: r.status, body: await r.json(), retryAfter: r.headers.get('retry-after') };
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (WCAG 2.x A and AA rules) on the page as it is now and fails on any serious
 * or critical violation. The script is evaluated through the DevTools protocol, so the
 * console's Content-Security-Policy stays in force for the page itself.
 */
export async function expectAccessible(page, what = page.url()) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 12).map((n) => n.target.join(' ')),
    }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `accessibility violations on ${what}:\n${JSON.stringify(bad, null, 2)}`);
}

/** Both colour schemes: runs `check` in light, then in dark mode. */
export async function inBothSchemes(page, check) {
  for (const colorScheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme });
    await check(colorScheme);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

export { expectVisible, visibleText, waitForPath };
