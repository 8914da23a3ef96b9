"""Map pkgdepot's exceptions to HTTP replies, in one place."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from pkgdepot.errors import PkgdepotError, Unauthorized
from pkgdepot.web.responses import message

log = logging.getLogger("pkgdepot")

UPLOAD_REALM = 'Basic realm="pkgdepot"'


def is_upload_request(request: Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/")


async def pkgdepot_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PkgdepotError)
    response = message(exc.message, exc.status, reason=True)
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = UPLOAD_REALM
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    text = exc.detail if isinstance(exc.detail, str) else "error"
    return message(text, exc.status_code, reason=True)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path)
    return message("internal server error", 500)
