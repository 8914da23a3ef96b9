"""Project lists of mirrors that list their upstream's projects, and of indexes that inherit one.

A mirror's list is served from the documents ``mirror/lists.py`` keeps on disk, as a file. A
stage on top of such a mirror streams its list: its own (private) names first, then the mirror's
names that are not private ones, read from the mirror's names file as they are sent. Memory
stays flat either way, however long the upstream's list is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from pkgdepot.domain.models import Index
from pkgdepot.mirror.lists import (
    HTML_TAIL,
    JSON_HEAD,
    JSON_TAIL,
    Listing,
    SeenNames,
    html_head,
    html_line,
    json_entry,
)
from pkgdepot.service.container import Services
from pkgdepot.web import metrics
from pkgdepot.web.conditional import etag_matches
from pkgdepot.web.context import services
from pkgdepot.web.mirroring import STALE
from pkgdepot.web.negotiate import CONTENT_TYPES, ETAG_SUFFIX, page_format

NAMES_PER_CHUNK = 4096


def listing_mirrors(s: Services, index: Index) -> list[Index]:
    """The mirrors in the chain of ``index`` that list their upstream's projects."""
    return [i for i in s.catalog.order(index) if s.mirror_lists.lists_upstream(i)]


async def project_list(request: Request, index: Index, media: str) -> Response:
    """The reply for ``index``, whose chain has a listing mirror; ``media`` is negotiated."""
    s = services(request)
    mirrors = listing_mirrors(s, index)
    listings = [await s.mirror_lists.listing(mirror) for mirror in mirrors]
    fmt = page_format(media)
    if index.is_mirror:
        stored = listings[0].stored
        digest = stored.digest
    else:
        state = await run_in_threadpool(s.projects.list_state, index)
        stamps = repr((state, [listing.stored.digest for listing in listings]))
        digest = hashlib.sha256(stamps.encode()).hexdigest()[:32]
    etag = f'"{digest}-{ETAG_SUFFIX[media]}"'
    headers = {"ETag": etag, "Vary": "Accept"}
    stale = any(listing.stale for listing in listings)
    metrics.upstream_lists("stale" if stale else "fresh").inc()
    if stale:
        headers["Cache-Control"] = STALE
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    media_type = CONTENT_TYPES[media]
    if index.is_mirror:
        return FileResponse(stored.document(fmt), media_type=media_type, headers=headers)
    private = await run_in_threadpool(_private_names, s, index, mirrors)
    body = _document(fmt, index.path, _merged(private, listings))
    return StreamingResponse(body, media_type=media_type, headers=headers)


def _private_names(s: Services, index: Index, mirrors: list[Index]) -> list[str]:
    names: set[str] = set()
    listing = {mirror.path for mirror in mirrors}
    for i in s.catalog.order(index):
        if i.path not in listing:
            names.update(s.store.project_names(i.id))
    return sorted(names)


def _merged(private: list[str], listings: list[Listing]) -> Iterator[str]:
    yield from private
    hidden = set(private)
    # The names of one mirror are unique; names of several may repeat across them.
    seen = SeenNames() if len(listings) > 1 else None
    for listing in listings:
        with Path(listing.stored.names).open() as lines:
            for line in lines:
                name = line.rstrip("\n")
                if name not in hidden and (seen is None or seen.add(name)):
                    yield name


def _document(fmt: str, path: str, names: Iterator[str]) -> Iterator[bytes]:
    """The list as a document, in chunks of a few thousand names; iterated in a thread."""
    yield html_head(f"Simple index of {path}") if fmt == "html" else JSON_HEAD
    render = html_line if fmt == "html" else json_entry
    chunk: list[str] = []
    first = fmt == "json"  # the first JSON entry has no comma before it
    for name in names:
        chunk.append(render(name)[1:] if first else render(name))
        first = False
        if len(chunk) >= NAMES_PER_CHUNK:
            yield "".join(chunk).encode()
            chunk.clear()
    yield "".join(chunk).encode()
    yield HTML_TAIL if fmt == "html" else JSON_TAIL
