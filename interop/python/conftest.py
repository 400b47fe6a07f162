"""Shared fixtures for the Python interoperability tests.

The server is started by ``interop/run.sh``, which passes its coordinates through
``INTEROP_*`` environment variables (never ``TOLLGATE_*``: Tollgate refuses to start on
``TOLLGATE_`` variables it does not know).
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass

import pytest
import requests

# Scopes every test client is created with: permissions of the API registered below.
CLIENT_SCOPES = ("reports:export", "enterprise:user")
ADMIN_SCOPE = "tollgate:admin"
TIMEOUT = 10

# The API the test clients' permissions belong to: their tokens carry its identifier in
# `aud`. The Node suite registers the same one, so whichever runs first creates it.
API = {
    "identifier": "https://api.example.test/",
    "name": "Interop reports API",
    "description": "registered by interop/; removed when the suite is done",
    "permissions": [
        {"value": "reports:export", "description": "Export reports"},
        {"value": "enterprise:user", "description": "Manage users within the enterprise"},
    ],
}
# A second API, for a client whose permissions span two APIs.
OTHER_API = {
    "identifier": "https://billing.example.test/",
    "name": "Interop billing API",
    "description": "registered by interop/; removed when the suite is done",
    "permissions": [{"value": "billing:read", "description": "Read invoices"}],
}


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(
            f"{name} is not set: run the suite through interop/run.sh, or set "
            "INTEROP_ISSUER, INTEROP_ADMIN_ID, INTEROP_ADMIN_SECRET and INTEROP_ALG",
            returncode=2,
        )
    return value


@dataclass(frozen=True)
class ApiClient:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


def b64url_json(segment: str) -> dict:
    """Decodes one JWS segment (header or payload) without verifying anything."""
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def scope_set(scope: str | list | None) -> set[str]:
    if scope is None:
        return set()
    if isinstance(scope, str):
        return set(scope.split())
    return set(scope)


@pytest.fixture(scope="session")
def issuer() -> str:
    return _env("INTEROP_ISSUER").rstrip("/")


@pytest.fixture(scope="session")
def expected_alg() -> str:
    return _env("INTEROP_ALG")


@pytest.fixture(scope="session")
def metadata(issuer: str) -> dict:
    """The RFC 8414 authorization server metadata document."""
    r = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="session")
def token_endpoint(metadata: dict) -> str:
    return metadata["token_endpoint"]


@pytest.fixture(scope="session")
def jwks_uri(metadata: dict) -> str:
    return metadata["jwks_uri"]


@pytest.fixture(scope="session")
def admin_token(token_endpoint: str) -> str:
    r = requests.post(
        token_endpoint,
        data={"grant_type": "client_credentials", "scope": ADMIN_SCOPE},
        auth=(_env("INTEROP_ADMIN_ID"), _env("INTEROP_ADMIN_SECRET")),
        timeout=TIMEOUT,
    )
    assert r.status_code == 200, f"admin token request failed: {r.status_code} {r.text}"
    return r.json()["access_token"]


@pytest.fixture(scope="session")
def admin(issuer: str, admin_token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {admin_token}"
    s.base_url = f"{issuer}/admin/v1"  # type: ignore[attr-defined]
    yield s
    s.close()


def _register_api(admin: requests.Session, api: dict):
    """The API with `api`'s identifier, registered now unless it is already; returns (its
    view, whether this call registered it)."""
    r = admin.get(f"{admin.base_url}/apis", params={"limit": 200}, timeout=TIMEOUT)
    assert r.status_code == 200, f"listing the catalogue failed: {r.status_code} {r.text}"
    for view in r.json()["apis"]:
        if view["identifier"] == api["identifier"]:
            return view, False
    r = admin.post(f"{admin.base_url}/apis", json=api, timeout=TIMEOUT)
    assert r.status_code == 201, f"registering {api['identifier']} failed: {r.status_code} {r.text}"
    return r.json(), True


def _catalogue_api(admin: requests.Session, api: dict):
    view, created = _register_api(admin, api)
    yield view
    if created:
        r = admin.delete(
            f"{admin.base_url}/apis/{view['api_id']}",
            params={"take_from_clients": "true"},
            timeout=TIMEOUT,
        )
        assert r.status_code == 204, f"removing {view['api_id']} failed: {r.status_code} {r.text}"


@pytest.fixture(scope="session")
def catalogue_api(admin: requests.Session) -> dict:
    """The admin API's view of the API the test clients' permissions are on."""
    yield from _catalogue_api(admin, API)


@pytest.fixture(scope="session")
def other_api(admin: requests.Session) -> dict:
    yield from _catalogue_api(admin, OTHER_API)


@pytest.fixture(scope="session")
def audience(catalogue_api: dict) -> str:
    """What tokens of the test clients carry in `aud`: the identifier from the catalogue."""
    return catalogue_api["identifier"]


def _create_client(
    admin: requests.Session, label: str, scopes: tuple[str, ...] = CLIENT_SCOPES
) -> ApiClient:
    body = {
        "name": f"interop-py-{label}-{uuid.uuid4().hex[:12]}",
        "description": "created by interop/python; deleted at teardown",
        "scopes": list(scopes),
    }
    r = admin.post(f"{admin.base_url}/clients", json=body, timeout=TIMEOUT)
    assert r.status_code == 201, f"creating a client failed: {r.status_code} {r.text}"
    created = r.json()
    assert created["client_secret"].startswith("tgs_")
    return ApiClient(
        client_id=created["client"]["client_id"],
        client_secret=created["client_secret"],
        scopes=tuple(created["client"]["scopes"]),
    )


def _delete_client(admin: requests.Session, client: ApiClient) -> None:
    r = admin.delete(f"{admin.base_url}/clients/{client.client_id}", timeout=TIMEOUT)
    assert r.status_code == 204, f"deleting {client.client_id} failed: {r.status_code} {r.text}"


@pytest.fixture(scope="module")
def api_client(
    request: pytest.FixtureRequest, admin: requests.Session, catalogue_api: dict
) -> ApiClient:
    """A client of its own for each test module, deleted when the module is done."""
    client = _create_client(admin, request.module.__name__.removeprefix("test_"))
    yield client
    _delete_client(admin, client)


@pytest.fixture(scope="module")
def two_api_client(
    admin: requests.Session, catalogue_api: dict, other_api: dict
) -> ApiClient:
    """A client with permissions on two APIs: its token requests must say which."""
    client = _create_client(admin, "two-apis", ("reports:export", "billing:read"))
    yield client
    _delete_client(admin, client)


@pytest.fixture(scope="session")
def admin_credentials() -> tuple[str, str]:
    """The bootstrap administrator: its only permission is on the built-in API."""
    return _env("INTEROP_ADMIN_ID"), _env("INTEROP_ADMIN_SECRET")


@pytest.fixture
def record_requests():
    """A `requests` response hook that keeps every exchange it sees, to check on the wire
    which client authentication method a library really used and what came back.
    `hook.seen` holds the requests, `hook.responses` the responses."""
    responses: list[requests.Response] = []

    def hook(response, *args, **kwargs):
        responses.append(response)

    hook.responses = responses  # type: ignore[attr-defined]
    hook.seen = _RequestsView(responses)  # type: ignore[attr-defined]
    return hook


class _RequestsView:
    def __init__(self, responses: list[requests.Response]):
        self._responses = responses

    def __iter__(self):
        return (r.request for r in self._responses)

    def __getitem__(self, i):
        return self._responses[i].request

    def __len__(self):
        return len(self._responses)
