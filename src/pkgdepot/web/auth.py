"""Credentials from a request: ``X-Devpi-Auth`` and HTTP Basic, each a password or a token."""

from __future__ import annotations

import base64
import binascii
import dataclasses

from starlette.requests import Request


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What a request carries: a (user, password-or-token) pair, or a header we can't read."""

    user: str = ""
    secret: str = ""
    readable: bool = True


UNREADABLE = Credentials(readable=False)


def _decode_pair(value: str) -> Credentials:
    try:
        decoded = base64.b64decode(value.strip().encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeEncodeError, binascii.Error, UnicodeDecodeError):  # not ASCII, not base64
        return UNREADABLE
    user, sep, secret = decoded.partition(":")
    if not sep or not user:
        return UNREADABLE
    return Credentials(user, secret)


def credentials(request: Request) -> Credentials | None:
    """The credentials a request carries, if any; not checked here.

    ``X-Devpi-Auth`` (devpi-client) wins over ``Authorization: Basic`` (twine, pip). Other
    ``Authorization`` schemes are not ours and are ignored.
    """
    devpi = request.headers.get("x-devpi-auth")
    if devpi is not None:
        return _decode_pair(devpi)
    authorization = request.headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "basic":
        return _decode_pair(value)
    return None
