"""Helpers to look at what a client library actually put on the wire."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, unquote_plus

import requests


def form(request: requests.PreparedRequest) -> dict[str, list[str]]:
    body = request.body or ""
    if isinstance(body, bytes):
        body = body.decode()
    return parse_qs(body, keep_blank_values=True)


def basic_credentials(request: requests.PreparedRequest) -> tuple[str, str] | None:
    """The (client_id, client_secret) of an `Authorization: Basic` header (RFC 6749
    §2.3.1: each form-urlencoded before base64), or None if there is no such header."""
    value = request.headers.get("Authorization")
    if value is None:
        return None
    scheme, _, rest = value.partition(" ")
    assert scheme.lower() == "basic", f"unexpected Authorization scheme: {value!r}"
    user, _, password = base64.b64decode(rest).decode().partition(":")
    return unquote_plus(user), unquote_plus(password)


def token_requests(seen: list[requests.PreparedRequest], token_endpoint: str):
    return [r for r in seen if r.url == token_endpoint and r.method == "POST"]
