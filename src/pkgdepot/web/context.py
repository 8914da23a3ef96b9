"""Per-request helpers shared by the handlers: who is asking, body parsing, absolute URLs."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pkgdepot.domain.permissions import Identity
from pkgdepot.errors import InvalidInput, Unauthorized
from pkgdepot.service.container import Services
from pkgdepot.web.auth import credentials

MAX_JSON_BODY = 1024 * 1024
ANONYMOUS = Identity()


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def identity(request: Request, *, write: bool) -> Identity:
    """The authenticated user. Bad credentials: anonymous on reads, 401 on writes."""
    given = credentials(request)
    if given is None:
        return ANONYMOUS
    who = await run_in_threadpool(services(request).accounts.authenticate, *given)
    if who is None:
        if write:
            raise Unauthorized(f"user {given[0]!r} could not be authenticated")
        return ANONYMOUS
    return who


async def json_body(request: Request) -> Any:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise InvalidInput(f"JSON body is larger than {MAX_JSON_BODY} bytes")
    if not body.strip():
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"could not decode JSON: {error}") from None


def base_url(request: Request) -> str:
    """The server's root URL as this client reaches it, without a trailing slash."""
    root = str(request.base_url).rstrip("/")
    return root


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def flag(request: Request, name: str) -> bool:
    """devpi's query flags: present means true (``?force``, ``?ignore_bases``)."""
    value = request.query_params.get(name)
    return value is not None and value.lower() not in {"0", "false", "no"}
