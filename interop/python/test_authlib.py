"""Authlib's requests integration (`authlib.integrations.requests_client.OAuth2Session`)
running the client credentials grant (RFC 6749 §4.4) against Tollgate."""

from __future__ import annotations

import pytest
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from conftest import CLIENT_SCOPES, b64url_json, scope_set
from wire import basic_credentials, form, token_requests


def session(api_client, method: str, record_requests, secret: str | None = None, **kw):
    s = OAuth2Session(
        client_id=api_client.client_id,
        client_secret=secret if secret is not None else api_client.client_secret,
        token_endpoint_auth_method=method,
        **kw,
    )
    s.hooks["response"].append(record_requests)
    return s


def assert_bearer_token(token: dict, issuer: str, client_id: str, scopes) -> dict:
    assert token["token_type"] == "Bearer"
    assert isinstance(token["expires_in"], int) and token["expires_in"] > 0
    # Authlib computes expires_at from expires_in.
    assert token["expires_at"] > 0
    assert scope_set(token["scope"]) == set(scopes)
    assert "refresh_token" not in token  # RFC 6749 §4.4.3: SHOULD NOT be included
    claims = b64url_json(token["access_token"].split(".")[1])
    assert claims["iss"] == issuer
    assert claims["sub"] == claims["client_id"] == client_id
    assert scope_set(claims["scope"]) == set(scopes)
    return claims


def test_client_secret_basic(api_client, issuer, token_endpoint, record_requests):
    with session(api_client, "client_secret_basic", record_requests) as s:
        token = s.fetch_token(token_endpoint, grant_type="client_credentials")
    assert_bearer_token(token, issuer, api_client.client_id, CLIENT_SCOPES)

    [sent] = token_requests(record_requests.seen, token_endpoint)
    assert basic_credentials(sent) == (api_client.client_id, api_client.client_secret)
    assert "client_secret" not in form(sent)
    assert form(sent)["grant_type"] == ["client_credentials"]


def test_client_secret_post(api_client, issuer, token_endpoint, record_requests):
    with session(api_client, "client_secret_post", record_requests) as s:
        token = s.fetch_token(token_endpoint, grant_type="client_credentials")
    assert_bearer_token(token, issuer, api_client.client_id, CLIENT_SCOPES)

    [sent] = token_requests(record_requests.seen, token_endpoint)
    assert "Authorization" not in sent.headers
    body = form(sent)
    assert body["client_id"] == [api_client.client_id]
    assert body["client_secret"] == [api_client.client_secret]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_narrowed_scope(api_client, issuer, token_endpoint, record_requests, method):
    with session(api_client, method, record_requests, scope="reports:export") as s:
        token = s.fetch_token(token_endpoint, grant_type="client_credentials")
    assert_bearer_token(token, issuer, api_client.client_id, ["reports:export"])
    [sent] = token_requests(record_requests.seen, token_endpoint)
    assert form(sent)["scope"] == ["reports:export"]


def wrong_secret(secret: str) -> str:
    tail = "1111" if secret.endswith("0000") else "0000"
    return secret[:-4] + tail


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_wrong_secret_is_invalid_client(api_client, token_endpoint, record_requests, method):
    bad = wrong_secret(api_client.client_secret)
    with session(api_client, method, record_requests, secret=bad) as s:
        with pytest.raises(OAuthError) as caught:
            s.fetch_token(token_endpoint, grant_type="client_credentials")
    assert caught.value.error == "invalid_client"

    [response] = record_requests.responses
    # RFC 6749 §5.2: 401 is a MUST when the client used the Authorization header (and then
    # with a challenge for that scheme); a MAY otherwise. HTTP requires a challenge on 401.
    if method == "client_secret_basic":
        assert response.status_code == 401
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].lower().startswith("basic")
    else:
        assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_scope_beyond_the_client_is_invalid_scope(api_client, token_endpoint, record_requests, method):
    with session(api_client, method, record_requests, scope="reports:export tollgate:admin") as s:
        with pytest.raises(OAuthError) as caught:
            s.fetch_token(token_endpoint, grant_type="client_credentials")
    assert caught.value.error == "invalid_scope"


def test_resource_indicator(admin_credentials, issuer, token_endpoint, record_requests):
    """RFC 8707: the administrator's permissions are on the built-in API, whose identifier
    is the issuer, so `resource` = issuer gives `aud` = issuer; a resource no API has is
    refused with invalid_target."""
    admin_id, admin_secret = admin_credentials
    with OAuth2Session(client_id=admin_id, client_secret=admin_secret) as s:
        s.hooks["response"].append(record_requests)
        token = s.fetch_token(token_endpoint, grant_type="client_credentials", resource=issuer)
        claims = b64url_json(token["access_token"].split(".")[1])
        assert claims["aud"] in (issuer, [issuer])
        assert "tollgate:admin" in scope_set(claims["scope"])
        with pytest.raises(OAuthError) as caught:
            s.fetch_token(
                token_endpoint,
                grant_type="client_credentials",
                resource="https://api.example.invalid/",
            )
    assert caught.value.error == "invalid_target"
    sent = token_requests(record_requests.seen, token_endpoint)
    assert form(sent[0])["resource"] == [issuer]


def test_the_api_client_gets_its_api_not_the_issuer(api_client, audience, issuer, token_endpoint, record_requests):
    """Without `resource` the token is for the API the scopes belong to; the client holds
    nothing on the built-in API, so `resource` = issuer is invalid_target."""
    with session(api_client, "client_secret_basic", record_requests) as s:
        token = s.fetch_token(token_endpoint, grant_type="client_credentials")
        assert b64url_json(token["access_token"].split(".")[1])["aud"] in (audience, [audience])
        with pytest.raises(OAuthError) as caught:
            s.fetch_token(token_endpoint, grant_type="client_credentials", resource=issuer)
    assert caught.value.error == "invalid_target"


def test_permissions_on_two_apis_need_resource(two_api_client, audience, other_api, token_endpoint, record_requests):
    """A client whose permissions span two APIs must say which one the token is for."""
    with session(two_api_client, "client_secret_basic", record_requests) as s:
        with pytest.raises(OAuthError) as caught:
            s.fetch_token(token_endpoint, grant_type="client_credentials")
        assert caught.value.error == "invalid_target"
        assert "resource" in caught.value.description

        billing = other_api["identifier"]
        token = s.fetch_token(token_endpoint, grant_type="client_credentials", resource=billing)
        claims = b64url_json(token["access_token"].split(".")[1])
        assert claims["aud"] in (billing, [billing])
        assert scope_set(claims["scope"]) == {"billing:read"}

        token = s.fetch_token(token_endpoint, grant_type="client_credentials", resource=audience)
        claims = b64url_json(token["access_token"].split(".")[1])
        assert claims["aud"] in (audience, [audience])
        assert scope_set(claims["scope"]) == {"reports:export"}
