"""``POST <release file URL>``: a tox result (``devpi test``) stored beside the file."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pkgdepot.service.toxresults import MAX_TOXRESULT_SIZE
from pkgdepot.web.context import identity, read_body, services
from pkgdepot.web.responses import envelope


async def post_toxresult(request: Request) -> Response:
    s, p = services(request), request.path_params
    index = s.catalog.get(p["user"], p["index"])
    who = await identity(request, write=True)
    relpath = f"{p['user']}/{p['index']}/+f/{p['rest']}"
    await run_in_threadpool(s.toxresults.check_may_post, who, index, relpath)
    body = await read_body(request, MAX_TOXRESULT_SIZE, "the tox result")
    result = await run_in_threadpool(s.toxresults.store, who, index, relpath, body)
    return envelope("toxresultpath", result)
