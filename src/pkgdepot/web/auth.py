"""Credentials from a request: ``X-Devpi-Auth`` and HTTP Basic, each a password or a token."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request


def _decode_pair(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, secret = decoded.partition(":")
    if not sep or not user:
        return None
    return user, secret


def credentials(request: Request) -> tuple[str, str] | None:
    """The (user, password-or-token) a request carries, if any; not checked here."""
    devpi = request.headers.get("x-devpi-auth")
    if devpi:
        return _decode_pair(devpi)
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        return _decode_pair(value)
    return None
