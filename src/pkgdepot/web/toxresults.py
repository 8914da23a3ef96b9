"""``POST <release file URL>``: a tox result (``devpi test``) stored beside the file."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from pkgdepot.errors import InvalidInput, TooLarge
from pkgdepot.service.toxresults import MAX_TOXRESULT_SIZE
from pkgdepot.web.context import identity, services
from pkgdepot.web.responses import envelope

_TOO_LARGE = f"the tox result is larger than {MAX_TOXRESULT_SIZE} bytes"


async def post_toxresult(request: Request) -> Response:
    s, p = services(request), request.path_params
    index = s.catalog.get(p["user"], p["index"])
    who = await identity(request, write=True)
    relpath = f"{p['user']}/{p['index']}/+f/{p['rest']}"
    await run_in_threadpool(s.toxresults.check_may_post, who, index, relpath)
    body = await _read_body(request)
    result = await run_in_threadpool(s.toxresults.store, who, index, relpath, body)
    return envelope("toxresultpath", result)


async def _read_body(request: Request) -> bytes:
    """The whole body, refused with 413 as soon as it is known to exceed the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_TOXRESULT_SIZE:
        raise TooLarge(_TOO_LARGE)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_TOXRESULT_SIZE:
                raise TooLarge(_TOO_LARGE)
            chunks.append(chunk)
    except ClientDisconnect:
        raise InvalidInput("the client disconnected before the tox result was complete") from None
    return b"".join(chunks)
