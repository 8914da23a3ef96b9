"""``PUSH`` (or ``POST``) ``/USER/INDEX``: push a release to another index or repository."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from pkgdepot.service.push_external import shown_url
from pkgdepot.service.push_order import parse_order
from pkgdepot.web.context import identity, json_body, services
from pkgdepot.web.responses import envelope


async def push(request: Request) -> Response:
    s = services(request)
    source = s.catalog.get(request.path_params["user"], request.path_params["index"])
    who = await identity(request, write=True)
    order = parse_order(await json_body(request))
    result = await s.pushes.push(who, source, order)
    failed = None
    if result.status != 200:
        failed = f"push to {shown_url(order.posturl or '')} failed: see the actionlog"
    return envelope("actionlog", result.actions, failed, status=result.status)
