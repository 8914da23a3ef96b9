"""``PUSH`` (or ``POST``) ``/USER/INDEX``: push a release to another index or repository."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pkgdepot.errors import InvalidInput


async def push(request: Request) -> Response:
    raise InvalidInput("push is not available yet")
