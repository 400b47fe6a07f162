// jose validating Tollgate's access tokens (RFC 9068 JWT profile) against the JWK Set
// named in the discovery document.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import * as jose from 'jose'

import {
  API,
  CLIENT_SCOPES,
  OTHER_API,
  adminCredentials,
  createApiClient,
  decodeSegment,
  expectedAlg,
  issuer,
  metadata,
  plainToken,
  registerApi,
  scopeSet,
  tokenResponse,
} from '../lib/harness.js'

let catalogued
let otherApi
let api
let twoApis
let JWKS
let issued
// The identifier of the API the client's permissions are on, as the catalogue has it: what
// a resource server for that API expects in `aud`.
let audience

before(async () => {
  catalogued = await registerApi(API)
  otherApi = await registerApi(OTHER_API)
  audience = catalogued.view.identifier
  api = await createApiClient('jose')
  twoApis = await createApiClient('jose-two-apis', ['reports:export', 'billing:read'])
  const { jwks_uri } = await metadata()
  assert.equal(jwks_uri, `${issuer}/oauth2/jwks`)
  JWKS = jose.createRemoteJWKSet(new URL(jwks_uri))
  issued = await plainToken(api.clientId, api.clientSecret)
})

after(async () => {
  await api?.remove()
  await twoApis?.remove()
  await otherApi?.remove()
  await catalogued?.remove()
})

const verifyOptions = () => ({
  issuer,
  audience,
  typ: 'at+jwt',
  algorithms: [expectedAlg],
  requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
})

function b64json(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

describe('jose jwtVerify', () => {
  test('the access token verifies and carries the RFC 9068 claims', async () => {
    const { payload, protectedHeader, key } = await jose.jwtVerify(
      issued.access_token,
      JWKS,
      verifyOptions(),
    )
    assert.equal(protectedHeader.alg, expectedAlg)
    assert.equal(protectedHeader.typ, 'at+jwt')
    assert.ok(protectedHeader.kid)
    assert.ok(key, 'jose resolved a key from the JWKS')
    assert.equal(payload.iss, issuer)
    assert.ok(payload.aud === audience || (Array.isArray(payload.aud) && payload.aud.includes(audience)))
    assert.equal(payload.sub, api.clientId)
    assert.equal(payload.client_id, api.clientId)
    assert.deepEqual(scopeSet(payload.scope), new Set(CLIENT_SCOPES))
    assert.equal(payload.exp - payload.iat, issued.expires_in)
    assert.equal(typeof payload.jti, 'string')
    assert.ok(payload.jti.length > 0)
  })

  test('the JWK Set publishes the key with the expected algorithm', async () => {
    const { jwks_uri } = await metadata()
    const r = await fetch(jwks_uri)
    assert.equal(r.status, 200)
    const { keys } = await r.json()
    const { kid } = jose.decodeProtectedHeader(issued.access_token)
    const jwk = keys.find((k) => k.kid === kid)
    assert.ok(jwk, `kid ${kid} is not in the JWK Set`)
    assert.equal(jwk.alg, expectedAlg)
    assert.equal(jwk.d, undefined, 'the JWK Set must not contain private key material')
    // The published JWK imports on its own.
    const imported = await jose.importJWK(jwk, expectedAlg)
    await jose.jwtVerify(issued.access_token, imported, verifyOptions())
  })

  test('a token with a tampered payload is rejected', async () => {
    const [header, payload, signature] = issued.access_token.split('.')
    const claims = decodeSegment(payload)
    claims.scope = 'tollgate:admin'
    const forged = [header, b64json(claims), signature].join('.')
    await assert.rejects(jose.jwtVerify(forged, JWKS, verifyOptions()), jose.errors.JWSSignatureVerificationFailed)
  })

  test('a token with a tampered signature is rejected', async () => {
    const [header, payload, signature] = issued.access_token.split('.')
    const i = Math.floor(signature.length / 2)
    const flipped = signature.slice(0, i) + (signature[i] === 'A' ? 'B' : 'A') + signature.slice(i + 1)
    await assert.rejects(
      jose.jwtVerify([header, payload, flipped].join('.'), JWKS, verifyOptions()),
      jose.errors.JWSSignatureVerificationFailed,
    )
  })

  test('a verifier expecting another audience rejects the token', async () => {
    await assert.rejects(
      jose.jwtVerify(issued.access_token, JWKS, { ...verifyOptions(), audience: 'https://api.example.invalid/' }),
      (err) => err instanceof jose.errors.JWTClaimValidationFailed && err.claim === 'aud',
    )
  })

  test('a verifier pinned to another algorithm rejects the token', async () => {
    const other = ['ES256', 'EdDSA', 'RS256'].find((a) => a !== expectedAlg)
    await assert.rejects(
      jose.jwtVerify(issued.access_token, JWKS, { ...verifyOptions(), algorithms: [other] }),
      jose.errors.JOSEAlgNotAllowed,
    )
  })

  test('a verifier for the issuer rejects a token for the API', async () => {
    await assert.rejects(
      jose.jwtVerify(issued.access_token, JWKS, { ...verifyOptions(), audience: issuer }),
      (err) => err instanceof jose.errors.JWTClaimValidationFailed && err.claim === 'aud',
    )
  })

  test('resource = issuer gives the administrator a token for the admin API', async () => {
    const t = await plainToken(adminCredentials.clientId, adminCredentials.clientSecret, { resource: issuer })
    const { payload } = await jose.jwtVerify(t.access_token, JWKS, { ...verifyOptions(), audience: issuer })
    assert.ok(scopeSet(payload.scope).has('tollgate:admin'))
    const refused = await tokenResponse(api.clientId, api.clientSecret, { resource: issuer })
    assert.equal(refused.status, 400)
    assert.equal(refused.body.error, 'invalid_target')
  })

  test('permissions on two APIs need resource, which picks aud', async () => {
    const refused = await tokenResponse(twoApis.clientId, twoApis.clientSecret)
    assert.equal(refused.status, 400)
    assert.equal(refused.body.error, 'invalid_target')
    assert.match(refused.body.error_description, /resource/)

    const billing = otherApi.view.identifier
    const t = await plainToken(twoApis.clientId, twoApis.clientSecret, { resource: billing })
    const { payload } = await jose.jwtVerify(t.access_token, JWKS, { ...verifyOptions(), audience: billing })
    assert.deepEqual(scopeSet(payload.scope), new Set(['billing:read']))
    // A verifier for the other API refuses it.
    await assert.rejects(
      jose.jwtVerify(t.access_token, JWKS, verifyOptions()),
      (err) => err instanceof jose.errors.JWTClaimValidationFailed && err.claim === 'aud',
    )
  })

  test('a narrowed scope is reflected in the verified claims', async () => {
    const t = await plainToken(api.clientId, api.clientSecret, { scope: 'enterprise:user' })
    const { payload } = await jose.jwtVerify(t.access_token, JWKS, verifyOptions())
    assert.equal(payload.scope, 'enterprise:user')
  })
})
