// openid-client v6 (and under it oauth4webapi) running discovery and the client
// credentials grant (RFC 6749 §4.4) against Tollgate.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import * as client from 'openid-client'
import * as jose from 'jose'

import {
  API,
  CLIENT_SCOPES,
  createApiClient,
  expectedAlg,
  issuer,
  registerApi,
  scopeSet,
  wrongSecret,
} from '../lib/harness.js'

let catalogued
let api

before(async () => {
  catalogued = await registerApi(API)
  api = await createApiClient('openid-client')
})

after(async () => {
  await api?.remove()
  await catalogued?.remove()
})

// Tollgate listens on plain http on loopback in these tests.
const insecure = { execute: [client.allowInsecureRequests] }

const AUTH_METHODS = [
  ['client_secret_basic', client.ClientSecretBasic],
  ['client_secret_post', client.ClientSecretPost],
]

/** Discovery, then records every request the Configuration makes afterwards. */
async function configure(authMethod, secret, algorithm) {
  const options = algorithm ? { ...insecure, algorithm } : insecure
  const config = await client.discovery(
    new URL(issuer),
    api.clientId,
    undefined,
    authMethod(secret),
    options,
  )
  const sent = []
  config[client.customFetch] = async (url, init) => {
    sent.push({ url: String(url), method: init.method, headers: new Headers(init.headers), body: String(init.body ?? '') })
    return fetch(url, init)
  }
  return { config, sent }
}

function basicCredentials(headers) {
  const value = headers.get('authorization')
  if (value === null) return null
  const [scheme, rest] = value.split(' ')
  assert.equal(scheme.toLowerCase(), 'basic')
  const decoded = Buffer.from(rest, 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  const dec = (s) => decodeURIComponent(s.replace(/\+/g, ' '))
  return [dec(decoded.slice(0, i)), dec(decoded.slice(i + 1))]
}

/**
 * The OAuth `error` code behind a rejected token request, however the library surfaced
 * it: a `ResponseBodyError` carries it as `.error`; a 401 with a `WWW-Authenticate`
 * challenge is surfaced as a `WWWAuthenticateChallengeError` whose response body still
 * holds the RFC 6749 §5.2 error object.
 */
async function oauthErrorCode(err) {
  if (err instanceof client.ResponseBodyError) return err.error
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const body = await err.response.json()
    return body.error
  }
  throw err
}

async function rejection(promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  assert.fail('expected the token request to be rejected')
}

describe('discovery', () => {
  for (const algorithm of [undefined, 'oidc', 'oauth2']) {
    test(`discovery with algorithm=${algorithm ?? '(default)'}`, async () => {
      const { config } = await configure(client.ClientSecretBasic, api.clientSecret, algorithm)
      const as = config.serverMetadata()
      assert.equal(as.issuer, issuer)
      assert.equal(as.token_endpoint, `${issuer}/oauth2/token`)
      assert.equal(as.jwks_uri, `${issuer}/oauth2/jwks`)
      assert.deepEqual(as.grant_types_supported, ['client_credentials'])
      assert.ok(as.token_endpoint_auth_methods_supported.includes('client_secret_basic'))
      assert.ok(as.token_endpoint_auth_methods_supported.includes('client_secret_post'))
    })
  }

  test('discovery checks the issuer in the document, so the match above is meaningful', async () => {
    // RFC 8414 §3.3: the `issuer` in the document must equal the issuer the client was
    // configured with. Serve Tollgate's real document for another issuer name and the
    // library must refuse it.
    const claimed = new URL('http://issuer.example.invalid')
    const err = await rejection(
      client.discovery(claimed, api.clientId, undefined, client.ClientSecretBasic(api.clientSecret), {
        ...insecure,
        [client.customFetch]: (url, init) => {
          const u = new URL(url)
          return fetch(`${issuer}${u.pathname}`, init)
        },
      }),
    )
    assert.equal(err.code, 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED', `got ${err}`)
  })
})

for (const [name, method] of AUTH_METHODS) {
  describe(`clientCredentialsGrant with ${name}`, () => {
    test('issues a bearer token with all the client scopes', async () => {
      const { config, sent } = await configure(method, api.clientSecret)
      const tokens = await client.clientCredentialsGrant(config)
      assert.equal(tokens.token_type, 'bearer') // oauth4webapi lower-cases it
      assert.ok(tokens.expires_in > 0)
      assert.ok(tokens.expiresIn() > 0)
      assert.deepEqual(scopeSet(tokens.scope), new Set(CLIENT_SCOPES))
      assert.equal(tokens.refresh_token, undefined)

      const [req] = sent
      assert.equal(sent.length, 1)
      assert.equal(req.url, `${issuer}/oauth2/token`)
      assert.equal(req.method, 'POST')
      const body = new URLSearchParams(req.body)
      assert.equal(body.get('grant_type'), 'client_credentials')
      if (name === 'client_secret_basic') {
        assert.deepEqual(basicCredentials(req.headers), [api.clientId, api.clientSecret])
        assert.equal(body.get('client_secret'), null)
      } else {
        assert.equal(req.headers.get('authorization'), null)
        assert.equal(body.get('client_id'), api.clientId)
        assert.equal(body.get('client_secret'), api.clientSecret)
      }

      // The token verifies with jose against the discovered JWKS.
      const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri))
      const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
        issuer,
        audience: catalogued.view.identifier,
        typ: 'at+jwt',
        algorithms: [expectedAlg],
      })
      assert.equal(protectedHeader.alg, expectedAlg)
      assert.equal(payload.sub, api.clientId)
      assert.equal(payload.client_id, api.clientId)
      assert.deepEqual(scopeSet(payload.scope), new Set(CLIENT_SCOPES))
    })

    test('narrows the scope on request', async () => {
      const { config, sent } = await configure(method, api.clientSecret)
      const tokens = await client.clientCredentialsGrant(config, { scope: 'reports:export' })
      assert.equal(tokens.scope, 'reports:export')
      assert.equal(new URLSearchParams(sent[0].body).get('scope'), 'reports:export')
      const claims = jose.decodeJwt(tokens.access_token)
      assert.equal(claims.scope, 'reports:export')
    })

    test('a scope the client does not have is invalid_scope', async () => {
      const { config } = await configure(method, api.clientSecret)
      const err = await rejection(
        client.clientCredentialsGrant(config, { scope: 'reports:export tollgate:admin' }),
      )
      assert.ok(err instanceof client.ResponseBodyError, `got ${err}`)
      assert.equal(err.error, 'invalid_scope')
      assert.equal(err.status, 400)
    })

    test('a wrong secret is invalid_client', async () => {
      const { config } = await configure(method, wrongSecret(api.clientSecret))
      const err = await rejection(client.clientCredentialsGrant(config))
      assert.equal(await oauthErrorCode(err), 'invalid_client')
      if (name === 'client_secret_basic') {
        // RFC 6749 §5.2: the client used the Authorization header, so the server MUST
        // answer 401 with a challenge for that scheme; oauth4webapi surfaces any
        // challenge as a WWWAuthenticateChallengeError.
        assert.ok(err instanceof client.WWWAuthenticateChallengeError, `got ${err}`)
        assert.equal(err.status, 401)
        assert.equal(err.cause[0].scheme, 'basic')
      } else {
        assert.ok([400, 401].includes(err.status), `status ${err.status}`)
      }
    })
  })
}
