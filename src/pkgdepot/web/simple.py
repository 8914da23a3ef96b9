"""The simple API (PEP 503/691): project lists and project pages, from a rendered-page cache.

A warm page costs one memory-mapped read of the global serial and a dict lookup. When the serial
has moved, the page's own state (serials of the chain's indexes and of the project in each) is
compared before anything is rendered again, so writes elsewhere cost a single query.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pkgdepot.domain.models import Index
from pkgdepot.domain.names import normalize_project
from pkgdepot.errors import NotAcceptable
from pkgdepot.web import render
from pkgdepot.web.context import services
from pkgdepot.web.negotiate import SIMPLE_JSON, TEXT_HTML, choose

CACHE_ENTRIES = 8192


@dataclasses.dataclass
class Rendered:
    serial: int
    state: Hashable
    body: bytes
    etag: str


class PageCache:
    """Rendered pages by (index, project, format); bounded, least recently used dropped."""

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[str, str, str], Rendered] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> Rendered | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[str, str, str], entry: Rendered) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def _content_type(media: str) -> str:
    return "text/html; charset=utf-8" if media == TEXT_HTML else media


def _negotiate(request: Request) -> tuple[str, str]:
    media = choose(request.headers.get("accept"))
    if media is None:
        raise NotAcceptable(
            "none of the accepted media types is offered: "
            "text/html, application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json"
        )
    return media, "json" if media == SIMPLE_JSON else "html"


def _reply(request: Request, entry: Rendered, media: str) -> Response:
    etag = f'"{entry.etag}-{"j" if media == SIMPLE_JSON else "h"}"'
    headers = {"ETag": etag, "Vary": "Accept"}
    if_none_match = request.headers.get("if-none-match", "")
    if etag in (tag.strip() for tag in if_none_match.split(",")) or if_none_match.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type=_content_type(media), headers=headers)


def _make(serial: int, state: Hashable, body: bytes) -> Rendered:
    return Rendered(serial, state, body, hashlib.sha256(body).hexdigest()[:32])


class SimpleViews:
    def __init__(self) -> None:
        self.cache = PageCache()

    async def _cached(
        self,
        key: tuple[str, str, str],
        state_of: Callable[[], Hashable],
        render_body: Callable[[], bytes],
        serial: int,
    ) -> Rendered:
        entry = self.cache.get(key)
        if entry is not None and entry.serial == serial:
            return entry

        def refresh() -> Rendered:
            state = state_of()
            if entry is not None and entry.state == state:
                entry.serial = serial
                return entry
            fresh = _make(serial, state, render_body())
            self.cache.put(key, fresh)
            return fresh

        return await run_in_threadpool(refresh)

    def _index(self, request: Request) -> Index:
        return services(request).catalog.get(
            request.path_params["user"], request.path_params["index"]
        )

    async def project_list(self, request: Request) -> Response:
        media, fmt = _negotiate(request)
        s = services(request)
        index = self._index(request)
        serial = s.store.serial.get()

        def body() -> bytes:
            names = s.projects.project_names(index)
            if fmt == "json":
                return render.index_json(names)
            return render.index_html(f"Simple index of {index.path}", names)

        entry = await self._cached((index.path, "", fmt), lambda: serial, body, serial)
        return _reply(request, entry, media)

    async def project_page(self, request: Request) -> Response:
        given = request.path_params["project"]
        project = normalize_project(given)
        if project != given or not request.url.path.endswith("/"):
            prefix = request.url.path.rsplit(given, 1)[0]
            target = request.url.replace(path=f"{prefix}{project}/")
            return RedirectResponse(str(target), status_code=301)
        media, fmt = _negotiate(request)
        s = services(request)
        index = self._index(request)
        serial = s.store.serial.get()

        def body() -> bytes:
            page = s.projects.page(index, project)
            if fmt == "json":
                return render.project_json(project, page.files, page.versions)
            note = None
            if page.hidden_mirrors:
                note = (
                    "Because this project isn't in the mirror_whitelist, no releases from "
                    f"{', '.join(page.hidden_mirrors)} are included."
                )
            return render.project_html(project, page.files, note)

        entry = await self._cached(
            (index.path, project, fmt),
            lambda: s.projects.state(index, project),
            body,
            serial,
        )
        return _reply(request, entry, media)
