"""The simple API (PEP 503/691): project lists and project pages, from a rendered-page cache.

A warm page costs one memory-mapped read of the global serial and a dict lookup, on the event
loop: no thread hop, no query. When the serial has moved, a worker thread reads the page's own
*state* (the serials of the indexes in the chain and of the project on each); unchanged state
means the cached bytes are still right, so writes elsewhere cost one small query. Only a
changed state renders the page again. ``X-Pkgdepot-Cache`` on each reply says which of the
three happened (``hit``, ``revalidated``, ``rendered``).

The ETag is a digest of the bytes, so every worker process gives the same page the same ETag.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pkgdepot.domain.names import normalize_project
from pkgdepot.errors import NotAcceptable, NotFound
from pkgdepot.service.container import Services
from pkgdepot.web import fastlane, metrics, project_lists, render
from pkgdepot.web.conditional import etag_matches
from pkgdepot.web.context import services
from pkgdepot.web.mirroring import STALE, bring_up_to_date, chains
from pkgdepot.web.negotiate import CONTENT_TYPES, ETAG_SUFFIX, SIMPLE_OFFERS, choose, page_format

MAX_ENTRIES = 8192
MAX_BYTES = 128 * 1024 * 1024  # per worker process
CACHE_NAME = "simple-pages"  # in the metrics
LOCK_STRIPES = 64
NOT_ACCEPTABLE = (
    "none of the media types the client accepts is offered; the simple API offers "
    + ", ".join(SIMPLE_OFFERS)
    + " (and the application/vnd.pypi.simple.latest+json/+html aliases)"
)

Key = tuple[str, str, str, str]  # user, index, project ("" for the project list), format
# How a page was served, in the X-Pkgdepot-Cache header: from the cache without a look at the
# database, after finding its state unchanged, or freshly rendered.
HIT, REVALIDATED, RENDERED = "hit", "revalidated", "rendered"


@dataclasses.dataclass(frozen=True)
class Rendered:
    serial: int  # the global serial at which ``state`` was last found current
    state: Hashable
    body: bytes
    digest: str


class PageCache:
    """Rendered pages, least recently used dropped beyond a number of entries or of bytes."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._entries: OrderedDict[Key, Rendered] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._bytes

    def get(self, key: Key) -> Rendered | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Key, entry: Rendered) -> None:
        with self._lock:
            self._remove(key)
            if len(entry.body) > self._max_bytes:
                return
            self._entries[key] = entry
            self._bytes += len(entry.body)
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)
            self._report()

    def drop(self, key: Key) -> None:
        with self._lock:
            self._remove(key)
            self._report()

    def _report(self) -> None:
        metrics.cache_entries(CACHE_NAME).set(len(self._entries))
        metrics.cache_bytes(CACHE_NAME).set(self._bytes)

    def _remove(self, key: Key) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)


# Installers send the same few Accept headers: each short one is negotiated once.
_choose_memo = lru_cache(maxsize=256)(choose)
MEMO_ACCEPT_LENGTH = 256


def _negotiate(request: Request) -> str:
    accept = request.headers.get("accept")
    if accept is None or len(accept) <= MEMO_ACCEPT_LENGTH:
        media = _choose_memo(accept)
    else:
        media = choose(accept)
    if media is None:
        raise NotAcceptable(NOT_ACCEPTABLE)
    return media


def _reply(
    request: Request, served: tuple[Rendered, str], media: str, *, stale: bool = False
) -> Response:
    entry, how = served
    etag = f'"{entry.digest}-{ETAG_SUFFIX[media]}"'
    headers = {"ETag": etag, "Vary": "Accept", "X-Pkgdepot-Cache": how}
    if stale:  # a mirror's upstream failed: its stored page stands in
        headers["Cache-Control"] = STALE
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type=CONTENT_TYPES[media], headers=headers)


class SimpleViews:
    def __init__(self, cache: PageCache | None = None) -> None:
        self.cache = cache or PageCache()
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]

    async def _page(
        self,
        s: Services,
        key: Key,
        state_of: Callable[[], Hashable],
        render_body: Callable[[], bytes],
    ) -> tuple[Rendered, str]:
        serial = s.store.serial.get()
        entry = self.cache.get(key)
        if entry is not None and entry.serial >= serial:
            return entry, HIT
        return await run_in_threadpool(self._refresh, key, serial, state_of, render_body)

    def _refresh(
        self,
        key: Key,
        serial: int,
        state_of: Callable[[], Hashable],
        render_body: Callable[[], bytes],
    ) -> tuple[Rendered, str]:
        # One thread per page renders it; others asking meanwhile wait and take the result.
        with self._locks[hash(key) % LOCK_STRIPES]:
            entry = self.cache.get(key)
            if entry is not None and entry.serial >= serial:
                return entry, HIT
            try:
                state = state_of()
                if entry is not None and entry.state == state:
                    fresh, how = dataclasses.replace(entry, serial=serial), REVALIDATED
                else:
                    # The state is read before the body: a write in between makes the state
                    # older than the body, which costs one more render later, never a stale page.
                    body = render_body()
                    digest = hashlib.sha256(body).hexdigest()[:32]
                    fresh, how = Rendered(serial, state, body, digest), RENDERED
            except NotFound:
                self.cache.drop(key)
                raise
            self.cache.put(key, fresh)
            return fresh, how

    async def project_list(self, request: Request) -> Response:
        media = _negotiate(request)
        fmt = page_format(media)
        s = services(request)
        user, name = request.path_params["user"], request.path_params["index"]
        index = s.catalog.get(user, name)
        if project_lists.listing_mirrors(s, index):  # the upstream's names: streamed from disk
            return await project_lists.project_list(request, index, media)

        def state() -> Hashable:
            return s.projects.list_state(s.catalog.get(user, name))

        def body() -> bytes:
            index = s.catalog.get(user, name)
            names = s.projects.project_names(index)
            if fmt == "json":
                return render.index_json(names)
            return render.index_html(f"Simple index of {index.path}", names)

        served = await self._page(s, (user, name, "", fmt), state, body)
        metrics.page_cache("list", served[1]).inc()
        fastlane.mark(request.scope, fastlane.Freshness(served[0].serial, math.inf, "list"))
        return _reply(request, served, media)

    async def project_page(self, request: Request) -> Response:
        given = request.path_params["project"]
        project = normalize_project(given)
        if project != given or not request.url.path.endswith("/"):
            prefix = request.url.path.rsplit(given, 1)[0]
            target = request.url.replace(path=f"{prefix}{project}/")
            return RedirectResponse(str(target), status_code=301)
        media = _negotiate(request)
        fmt = page_format(media)
        s = services(request)
        user, name = request.path_params["user"], request.path_params["index"]
        stale = await bring_up_to_date(request, s.catalog.get(user, name), project)

        def state() -> Hashable:
            return s.projects.state(s.catalog.get(user, name), project)

        def body() -> bytes:
            page = s.projects.simple_page(s.catalog.get(user, name), project, fmt)
            if fmt == "json":
                return render.project_json(
                    project, [fragment for _, _, fragment in page.links], page.versions
                )
            note = None
            if page.hidden_mirrors:
                note = (
                    "Because this project isn't in the mirror_whitelist, no releases from "
                    f"{', '.join(page.hidden_mirrors)} are included."
                )
            return render.project_html(project, [fragment for _, _, fragment in page.links], note)

        served = await self._page(s, (user, name, project, fmt), state, body)
        metrics.page_cache("project", served[1]).inc()
        if not stale:
            fresh_until = chains(request).fresh_until(s, s.catalog.get(user, name), project)
            freshness = fastlane.Freshness(served[0].serial, fresh_until, "project")
            fastlane.mark(request.scope, freshness)
        return _reply(request, served, media, stale=stale)
