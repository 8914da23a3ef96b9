"""``POST <release file URL>``: a tox result (``devpi test``) stored beside the file."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pkgdepot.errors import InvalidInput


async def post_toxresult(request: Request) -> Response:
    raise InvalidInput("tox results are not accepted yet")
