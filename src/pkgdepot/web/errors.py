"""Map pkgdepot's exceptions to HTTP replies, in one place.

Every error, whoever raises it (our code, or Starlette for an unknown path or method), is a JSON
``{"message": ...}`` body with the message also in the HTTP reason phrase.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pkgdepot.errors import PkgdepotError, Unauthorized
from pkgdepot.web.responses import REASON_HEADER, message, reason_phrase

log = logging.getLogger("pkgdepot")

UPLOAD_REALM = 'Basic realm="pkgdepot"'


async def pkgdepot_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PkgdepotError)
    response = message(exc.message, exc.status, reason=True)
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = UPLOAD_REALM
        # devpi's reason phrase first: clients print it, scripts look for it
        response.headers[REASON_HEADER] = reason_phrase(f"Unauthorized: {exc.message}")
    return response


def _describe(request: Request, exc: HTTPException) -> str:
    """Starlette's bare "Not Found" and "Method Not Allowed", made specific."""
    if exc.detail != HTTPStatus(exc.status_code).phrase:
        return exc.detail
    path = request.url.path
    if exc.status_code == 404:
        return f"no resource at {path}"
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return f"method {request.method} is not allowed on {path} (allowed: {allowed})"
    return exc.detail


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = message(_describe(request, exc), exc.status_code, reason=True)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return message("internal server error", 500)
