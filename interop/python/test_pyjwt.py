"""PyJWT validating Tollgate's access tokens (RFC 9068 JWT profile) with keys fetched
from the JWK Set the discovery document points at (`PyJWKClient`)."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
import requests

from conftest import CLIENT_SCOPES, TIMEOUT, scope_set

REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]


def fetch(token_endpoint: str, api_client, scope: str | None = None) -> dict:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    r = requests.post(
        token_endpoint,
        data=data,
        auth=(api_client.client_id, api_client.client_secret),
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def jwk_client(jwks_uri: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(jwks_uri, cache_keys=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def issued(token_endpoint, api_client) -> dict:
    return fetch(token_endpoint, api_client)


def verify(token: str, jwk_client, alg: str, issuer: str, audience: str) -> dict:
    """Verifies as a resource server would: `audience` is its identifier in the catalogue."""
    key = jwk_client.get_signing_key_from_jwt(token)
    return jwt.decode(
        token,
        key,
        algorithms=[alg],
        audience=audience,
        issuer=issuer,
        options={"require": REQUIRED_CLAIMS},
    )


def test_discovery_points_at_the_jwks(metadata, issuer, jwks_uri, expected_alg, catalogue_api):
    assert metadata["issuer"] == issuer
    assert jwks_uri == f"{issuer}/oauth2/jwks"
    # `scopes_supported` follows the catalogue, which the fixtures have changed since
    # `metadata` was fetched: compare documents fetched now.
    now = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=TIMEOUT)
    assert now.status_code == 200
    assert set(CLIENT_SCOPES) <= set(now.json()["scopes_supported"])
    # Same document under the OpenID Connect discovery name.
    r = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json() == now.json()


def test_jwks_parses_in_pyjwt(jwk_client, expected_alg):
    keys = jwk_client.get_signing_keys()
    assert keys, "the JWK Set has no signing keys"
    kids = [k.key_id for k in keys]
    assert all(kids) and len(set(kids)) == len(kids), kids
    assert expected_alg in {k.algorithm_name for k in keys}


def test_access_token_verifies(issued, jwk_client, expected_alg, issuer, audience, api_client):
    token = issued["access_token"]

    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"  # RFC 9068 §2.1
    assert header["alg"] == expected_alg
    assert header.get("kid")

    key = jwk_client.get_signing_key_from_jwt(token)
    assert key.key_id == header["kid"]
    assert key.algorithm_name == expected_alg

    claims = verify(token, jwk_client, expected_alg, issuer, audience)
    assert claims["iss"] == issuer
    assert claims["aud"] in (audience, [audience])
    assert claims["sub"] == api_client.client_id
    assert claims["client_id"] == api_client.client_id
    assert scope_set(claims["scope"]) == set(CLIENT_SCOPES)
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert claims["exp"] - claims["iat"] == issued["expires_in"]
    assert isinstance(claims["jti"], str) and claims["jti"]


def test_narrowed_scope_claim(token_endpoint, api_client, jwk_client, expected_alg, issuer, audience):
    issued = fetch(token_endpoint, api_client, scope="enterprise:user")
    claims = verify(issued["access_token"], jwk_client, expected_alg, issuer, audience)
    assert claims["scope"] == "enterprise:user"
    assert issued["scope"] == "enterprise:user"


def test_every_token_has_its_own_jti(
    token_endpoint, api_client, jwk_client, expected_alg, issuer, audience
):
    jtis = {
        verify(fetch(token_endpoint, api_client)["access_token"], jwk_client, expected_alg, issuer, audience)["jti"]
        for _ in range(3)
    }
    assert len(jtis) == 3


def flip(segment: str, at: int) -> str:
    """Changes one base64url character well inside a segment (not the last one, whose
    low bits may be padding that decoders ignore)."""
    c = segment[at]
    return segment[:at] + ("A" if c != "A" else "B") + segment[at + 1 :]


def test_tampered_signature_is_rejected(issued, jwk_client, expected_alg, issuer, audience):
    header, payload, signature = issued["access_token"].split(".")
    tampered = ".".join([header, payload, flip(signature, len(signature) // 2)])
    assert tampered != issued["access_token"]
    with pytest.raises(jwt.InvalidSignatureError):
        verify(tampered, jwk_client, expected_alg, issuer, audience)


def test_tampered_payload_is_rejected(issued, jwk_client, expected_alg, issuer, audience):
    header, payload, signature = issued["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "tollgate:admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidSignatureError):
        verify(".".join([header, forged, signature]), jwk_client, expected_alg, issuer, audience)


def test_other_algorithms_are_not_accepted(issued, jwk_client, expected_alg, issuer, audience):
    """A verifier pinned to a different algorithm must refuse the token."""
    other = next(a for a in ("ES256", "EdDSA", "RS256") if a != expected_alg)
    key = jwk_client.get_signing_key_from_jwt(issued["access_token"])
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(issued["access_token"], key, algorithms=[other], audience=audience, issuer=issuer)


def test_a_verifier_for_the_issuer_refuses_a_token_for_the_api(issued, jwk_client, expected_alg, issuer):
    """The token is for the API in the catalogue, not for Tollgate's own admin API."""
    with pytest.raises(jwt.InvalidAudienceError):
        verify(issued["access_token"], jwk_client, expected_alg, issuer, issuer)
