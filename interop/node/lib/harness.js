// Shared setup for the Node interoperability tests: the server's coordinates come from
// INTEROP_* environment variables set by interop/run.sh (never TOLLGATE_*: Tollgate
// refuses to start on TOLLGATE_ variables it does not know).

import { randomUUID } from 'node:crypto'

export const CLIENT_SCOPES = ['reports:export', 'enterprise:user']
const ADMIN_SCOPE = 'tollgate:admin'

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

/** A plain token request with HTTP Basic, independent of any OAuth library. */
export async function plainToken(clientId, clientSecret, params = {}) {
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
  const body = await r.json()
  if (r.status !== 200) throw new Error(`token request: ${r.status} ${JSON.stringify(body)}`)
  return body
}

async function adminToken() {
  const t = await plainToken(adminId, adminSecret, { scope: ADMIN_SCOPE })
  return t.access_token
}

/**
 * Creates an API client through the admin API. Returns {clientId, clientSecret, scopes,
 * remove()}; call remove() when done (it asserts the 204).
 */
export async function createApiClient(label) {
  const token = await adminToken()
  const r = await fetch(`${issuer}/admin/v1/clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `interop-node-${label}-${randomUUID().slice(0, 12)}`,
      description: 'created by interop/node; deleted at teardown',
      scopes: CLIENT_SCOPES,
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
