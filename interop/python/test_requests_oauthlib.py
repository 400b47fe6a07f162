"""requests-oauthlib (`OAuth2Session` + oauthlib's `BackendApplicationClient`) running the
client credentials grant (RFC 6749 §4.4) against Tollgate.

By default `fetch_token` authenticates with HTTP Basic (client_secret_basic); with
`include_client_id=True` it sends `client_id` and `client_secret` in the body instead
(client_secret_post)."""

from __future__ import annotations

import pytest
from oauthlib.oauth2 import BackendApplicationClient
from oauthlib.oauth2.rfc6749.errors import InvalidClientError, InvalidScopeError, OAuth2Error
from requests_oauthlib import OAuth2Session

from conftest import CLIENT_SCOPES, b64url_json, scope_set
from wire import basic_credentials, form, token_requests


@pytest.fixture(autouse=True)
def allow_http_on_loopback(monkeypatch, issuer):
    # oauthlib refuses plain http (InsecureTransportError) unless told otherwise. The test
    # server listens on loopback only, so allow http there and nowhere else.
    assert issuer.startswith(("http://127.", "http://[::1]", "http://localhost")) or issuer.startswith("https://")
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def session(api_client, record_requests, scope=None) -> OAuth2Session:
    client = BackendApplicationClient(client_id=api_client.client_id, scope=scope)
    s = OAuth2Session(client=client)
    s.hooks["response"].append(record_requests)
    return s


def check_token(token: dict, issuer: str, client_id: str, scopes) -> None:
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] > 0
    assert token["expires_at"] > 0  # computed by oauthlib from expires_in
    assert scope_set(token["scope"]) == set(scopes)
    claims = b64url_json(token["access_token"].split(".")[1])
    assert claims["iss"] == issuer
    assert claims["sub"] == claims["client_id"] == client_id
    assert scope_set(claims["scope"]) == set(scopes)


def test_default_is_http_basic(api_client, issuer, token_endpoint, record_requests):
    with session(api_client, record_requests) as s:
        token = s.fetch_token(
            token_endpoint,
            client_id=api_client.client_id,
            client_secret=api_client.client_secret,
        )
        assert s.authorized
    check_token(token, issuer, api_client.client_id, CLIENT_SCOPES)

    [sent] = token_requests(record_requests.seen, token_endpoint)
    assert basic_credentials(sent) == (api_client.client_id, api_client.client_secret)
    body = form(sent)
    assert body["grant_type"] == ["client_credentials"]
    assert "client_secret" not in body


def test_include_client_id_is_body_auth(api_client, issuer, token_endpoint, record_requests):
    with session(api_client, record_requests) as s:
        token = s.fetch_token(
            token_endpoint,
            client_id=api_client.client_id,
            client_secret=api_client.client_secret,
            include_client_id=True,
        )
    check_token(token, issuer, api_client.client_id, CLIENT_SCOPES)

    [sent] = token_requests(record_requests.seen, token_endpoint)
    assert "Authorization" not in sent.headers
    body = form(sent)
    assert body["client_id"] == [api_client.client_id]
    assert body["client_secret"] == [api_client.client_secret]


@pytest.mark.parametrize("include_client_id", [False, True], ids=["basic", "body"])
def test_narrowed_scope(api_client, issuer, token_endpoint, record_requests, include_client_id):
    # oauthlib raises a Warning if the granted scope differs from the requested one
    # (unless OAUTHLIB_RELAX_TOKEN_SCOPE is set), so this also checks Tollgate echoes it.
    with session(api_client, record_requests, scope=["reports:export"]) as s:
        token = s.fetch_token(
            token_endpoint,
            client_id=api_client.client_id,
            client_secret=api_client.client_secret,
            include_client_id=include_client_id,
        )
    check_token(token, issuer, api_client.client_id, ["reports:export"])
    [sent] = token_requests(record_requests.seen, token_endpoint)
    assert form(sent)["scope"] == ["reports:export"]


@pytest.mark.parametrize("include_client_id", [False, True], ids=["basic", "body"])
def test_wrong_secret_is_invalid_client(api_client, token_endpoint, record_requests, include_client_id):
    with session(api_client, record_requests) as s:
        with pytest.raises(InvalidClientError) as caught:
            s.fetch_token(
                token_endpoint,
                client_id=api_client.client_id,
                client_secret="tgs_" + "0" * 72,
                include_client_id=include_client_id,
            )
    assert caught.value.error == "invalid_client"
    [response] = record_requests.responses
    if not include_client_id:
        # RFC 6749 §5.2: the client used the Authorization header, so 401 and a challenge.
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].lower().startswith("basic")


def test_unknown_scope_is_invalid_scope(api_client, token_endpoint, record_requests):
    with session(api_client, record_requests, scope=["reports:export", "tollgate:admin"]) as s:
        with pytest.raises(InvalidScopeError) as caught:
            s.fetch_token(
                token_endpoint,
                client_id=api_client.client_id,
                client_secret=api_client.client_secret,
            )
    assert caught.value.error == "invalid_scope"


def test_secret_in_both_places_is_refused(api_client, token_endpoint, record_requests):
    """RFC 6749 §2.3: a client MUST NOT use more than one authentication method in a
    request. Forcing requests-oauthlib to send the secret in the body *and* HTTP Basic
    must be refused, not silently accepted."""
    with session(api_client, record_requests) as s:
        with pytest.raises(OAuth2Error) as caught:
            s.fetch_token(
                token_endpoint,
                client_id=api_client.client_id,
                client_secret=api_client.client_secret,
                auth=(api_client.client_id, api_client.client_secret),
                include_client_id=True,
            )
    assert caught.value.error == "invalid_request"
    [sent] = token_requests(record_requests.seen, token_endpoint)
    assert basic_credentials(sent) is not None and "client_secret" in form(sent)


def test_basic_with_client_id_also_in_the_body(api_client, issuer, token_endpoint, record_requests):
    """`auth=` plus `include_client_id=True` (without `client_secret=`) sends HTTP Basic and
    repeats `client_id` in the body, which several servers require; RFC 6749 §3.2.1 allows
    the client_id parameter, so a matching one must be accepted."""
    with session(api_client, record_requests) as s:
        token = s.fetch_token(
            token_endpoint,
            auth=(api_client.client_id, api_client.client_secret),
            include_client_id=True,
        )
    check_token(token, issuer, api_client.client_id, CLIENT_SCOPES)
    [sent] = token_requests(record_requests.seen, token_endpoint)
    assert basic_credentials(sent) == (api_client.client_id, api_client.client_secret)
    body = form(sent)
    assert body["client_id"] == [api_client.client_id]
    assert "client_secret" not in body
