"""``GET /USER/INDEX/PROJECT/VERSION/+doc/PATH``: documentation, unpacked from its doc zip."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pkgdepot.errors import NotFound


async def doc_page(request: Request) -> Response:
    raise NotFound("documentation is not served yet")
