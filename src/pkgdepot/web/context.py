"""Per-request helpers shared by the handlers: who is asking, body parsing, absolute URLs."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from pkgdepot.domain.names import short_repr
from pkgdepot.domain.permissions import Identity
from pkgdepot.errors import InvalidInput, TooLarge, Unauthorized
from pkgdepot.service.container import Services
from pkgdepot.web.auth import credentials

MAX_JSON_BODY = 1024 * 1024
ANONYMOUS = Identity()


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def identity(request: Request, *, write: bool) -> Identity:
    """The authenticated user. Bad credentials: anonymous on reads, 401 on writes; a token of
    a user that was deleted: anonymous, as devpi has it."""
    given = credentials(request)
    if given is None:
        return ANONYMOUS
    who = None
    accounts = services(request).accounts
    if given.readable:
        who = await run_in_threadpool(accounts.authenticate, given.user, given.secret)
    if who is not None:
        return who
    if not write:
        return ANONYMOUS
    if given.readable and await run_in_threadpool(
        accounts.is_token_of_a_deleted_user, given.user, given.secret
    ):
        return ANONYMOUS
    if not given.readable:
        raise Unauthorized("credentials could not be decoded: expected base64 of 'user:secret'")
    raise Unauthorized(f"user {short_repr(given.user)} could not be authenticated")


async def read_body(request: Request, limit: int, what: str) -> bytes:
    """The whole body; 413 as soon as it is known to be larger than ``limit``."""
    too_large = f"{what} is larger than {limit} bytes"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(too_large)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(too_large)
            chunks.append(chunk)
    except ClientDisconnect:
        raise InvalidInput(f"the client disconnected before {what} was complete") from None
    return b"".join(chunks)


async def json_body(request: Request) -> Any:
    """The request's JSON; an empty body is ``{}``. Larger than ``MAX_JSON_BODY``: 413."""
    body = await read_body(request, MAX_JSON_BODY, "JSON body")
    if not body.strip():
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"could not decode JSON: {error}") from None


def base_url(request: Request) -> str:
    """The server's root URL as this client reaches it, without a trailing slash: the outside
    URL with its path prefix, which ``web/outside.py`` put into the scope."""
    return str(request.base_url).rstrip("/")


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def flag(request: Request, name: str) -> bool:
    """devpi's query flags: present means true (``?force``, ``?ignore_bases``)."""
    value = request.query_params.get(name)
    return value is not None and value.lower() not in {"0", "false", "no"}
