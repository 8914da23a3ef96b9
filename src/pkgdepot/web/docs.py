"""``GET /USER/INDEX/PROJECT/VERSION/+doc/PATH``: documentation, unpacked from its doc zip.

``VERSION`` may be ``latest`` or ``stable``. A folder (``+doc`` itself too) redirects to its
``index.html``. Files are sent by Starlette's ``FileResponse`` (byte ranges, ``Last-Modified``)
with the doc zip's sha256 as ``ETag``: what a URL shows changes only with the zip.
"""

from __future__ import annotations

import mimetypes

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from pkgdepot.web.conditional import etag_matches
from pkgdepot.web.context import services
from pkgdepot.web.projects import redirect_if_not_normal


async def doc_page(request: Request) -> Response:
    redirect = redirect_if_not_normal(request)
    if redirect is not None:
        return redirect
    s, p = services(request), request.path_params
    index = s.catalog.get(p["user"], p["index"])
    path: str | None = p.get("path")  # None: the URL ends in "+doc"
    found = await run_in_threadpool(s.docs.locate, index, p["project"], p["version"], path or "")
    if path is None or found.is_folder:
        folder = request.url.path.rstrip("/")
        return RedirectResponse(str(request.url.replace(path=f"{folder}/index.html")), 302)
    etag = f'"{found.sha256}"'
    headers = {"ETag": etag, "X-Content-Type-Options": "nosniff"}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    media_type = mimetypes.guess_type(found.path.name)[0] or "application/octet-stream"
    return FileResponse(found.path, headers=headers, media_type=media_type, stat_result=found.stat)
