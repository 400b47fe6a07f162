// Shared setup for the Node interoperability tests: the server's coordinates come from
// INTEROP_* environment variables set by interop/run.sh (never TOLLGATE_*: Tollgate
// refuses to start on TOLLGATE_ variables it does not know).

import { randomUUID } from 'node:crypto'

export const CLIENT_SCOPES = ['reports:export', 'enterprise:user']
const ADMIN_SCOPE = 'tollgate:admin'

// The API the test clients' permissions belong to: their tokens carry its identifier in
// `aud`. The Python suite registers the same one; whichever runs first creates it.
export const API = {
  identifier: 'https://api.example.test/',
  name: 'Interop reports API',
  description: 'registered by interop/; removed when the suite is done',
  permissions: [
    { value: 'reports:export', description: 'Export reports' },
    { value: 'enterprise:user', description: 'Manage users within the enterprise' },
  ],
}
// A second API, for a client whose permissions span two APIs.
export const OTHER_API = {
  identifier: 'https://billing.example.test/',
  name: 'Interop billing API',
  description: 'registered by interop/; removed when the suite is done',
  permissions: [{ value: 'billing:read', description: 'Read invoices' }],
}

function env(name) {
  const value = process.env[name]
  if (!value) {
    throw new Error(
      `${name} is not set: run the suite through interop/run.sh, or set ` +
        'INTEROP_ISSUER, INTEROP_ADMIN_ID, INTEROP_ADMIN_SECRET and INTEROP_ALG',
    )
  }
  return value
}

export const issuer = env('INTEROP_ISSUER').replace(/\/+$/, '')
export const expectedAlg = env('INTEROP_ALG')
const adminId = env('INTEROP_ADMIN_ID')
const adminSecret = env('INTEROP_ADMIN_SECRET')

const TIMEOUT_MS = 10_000

export async function metadata() {
  const r = await fetch(`${issuer}/.well-known/oauth-authorization-server`, {
    signal: AbortSignal.timeout(TIMEOUT_MS),
  })
  if (r.status !== 200) throw new Error(`discovery: ${r.status} ${await r.text()}`)
  return r.json()
}

function basic(id, secret) {
  // RFC 6749 §2.3.1: form-urlencode each part, then base64.
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+')
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')
}

/** A plain token request with HTTP Basic, independent of any OAuth library: {status, body}. */
export async function tokenResponse(clientId, clientSecret, params = {}) {
  const { token_endpoint } = await metadata()
  const r = await fetch(token_endpoint, {
    method: 'POST',
    headers: {
      authorization: basic(clientId, clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  })
  return { status: r.status, body: await r.json() }
}

/** The token response of a request that must succeed. */
export async function plainToken(clientId, clientSecret, params = {}) {
  const { status, body } = await tokenResponse(clientId, clientSecret, params)
  if (status !== 200) throw new Error(`token request: ${status} ${JSON.stringify(body)}`)
  return body
}

async function adminToken() {
  const t = await plainToken(adminId, adminSecret, { scope: ADMIN_SCOPE })
  return t.access_token
}

/** The bootstrap administrator: its only permission is on the built-in API. */
export const adminCredentials = { clientId: adminId, clientSecret: adminSecret }

async function admin(method, path, body) {
  const token = await adminToken()
  const r = await fetch(`${issuer}/admin/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  })
  return { status: r.status, body: r.status === 204 ? null : await r.json() }
}

/**
 * The API with `api`'s identifier, registered now unless it is already. Returns {view,
 * remove()}. `node --test` runs the test files side by side and each registers the API it
 * needs, so a registration another file won is fine, and remove() leaves the API in place
 * while another file's clients still hold its permissions (409): the last one out removes it.
 */
export async function registerApi(api) {
  const find = async () => {
    const list = await admin('GET', '/apis?limit=200')
    if (list.status !== 200) throw new Error(`listing the catalogue: ${list.status} ${JSON.stringify(list.body)}`)
    return list.body.apis.find((a) => a.identifier === api.identifier)
  }
  let view = await find()
  if (!view) {
    const r = await admin('POST', '/apis', api)
    view = r.status === 201 ? r.body : await find()
    if (!view) throw new Error(`registering ${api.identifier}: ${r.status} ${JSON.stringify(r.body)}`)
  }
  return {
    view,
    async remove() {
      const d = await admin('DELETE', `/apis/${encodeURIComponent(view.api_id)}`)
      if (![204, 404, 409].includes(d.status)) {
        throw new Error(`removing ${view.api_id}: ${d.status} ${JSON.stringify(d.body)}`)
      }
    },
  }
}

/**
 * Creates an API client through the admin API (its scopes must be permissions in the
 * catalogue: register the API first). Returns {clientId, clientSecret, scopes, remove()};
 * call remove() when done (it asserts the 204).
 */
export async function createApiClient(label, scopes = CLIENT_SCOPES) {
  const token = await adminToken()
  const r = await fetch(`${issuer}/admin/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `interop-node-${label}-${randomUUID().slice(0, 12)}`,
      description: 'created by interop/node; deleted at teardown',
      scopes,
    }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  })
  const body = await r.json()
  if (r.status !== 201) throw new Error(`creating a client: ${r.status} ${JSON.stringify(body)}`)
  const clientId = body.client.client_id
  return {
    clientId,
    clientSecret: body.client_secret,
    scopes: body.client.scopes,
    async remove() {
      const d = await fetch(`${issuer}/admin/v1/clients/${encodeURIComponent(clientId)}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
      if (d.status !== 204) throw new Error(`deleting ${clientId}: ${d.status} ${await d.text()}`)
    },
  }
}

export function decodeSegment(segment) {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
}

export function scopeSet(scope) {
  return new Set((scope ?? '').split(' ').filter(Boolean))
}

/** Wrong but well-formed: the same shape as a real Tollgate secret. */
export function wrongSecret(secret) {
  return secret.slice(0, -4) + (secret.endsWith('0000') ? '1111' : '0000')
}
