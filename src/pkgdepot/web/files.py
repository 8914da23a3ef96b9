"""Stored files at stable URLs: ``/USER/INDEX/+f/...``, their PEP 658 ``.metadata``, deletes.

A stored file never changes, so it is served with its sha256 as ``ETag``, an immutable
``Cache-Control``, ``304`` for a matching ``If-None-Match`` and byte ranges (RFC 9110): the
ranges are checked here, and the kernel sends the bytes (``os.sendfile``: web/sendfile.py).
devpi-client asks for the file's metadata instead with ``Accept: application/json``.

A mirrored file that is not stored yet (``+f``, or ``+e`` when its upstream announced no
sha256) is streamed while ``mirror/files.py`` fetches it, and served from disk afterwards.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from email.utils import formatdate
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from pkgdepot.domain.models import Index, ReleaseFile
from pkgdepot.errors import InvalidInput, NotFound, PkgdepotError
from pkgdepot.mirror.files import Streaming
from pkgdepot.service.container import Services
from pkgdepot.web.conditional import etag_matches
from pkgdepot.web.context import flag, identity, services, wants_json
from pkgdepot.web.responses import envelope, message
from pkgdepot.web.zerocopy import ZERO_COPY

IMMUTABLE = "max-age=365000000, immutable, public"
METADATA_SUFFIX = ".metadata"
METADATA_TYPE = "text/plain; charset=utf-8"
MEDIA_TYPES = {
    "releasefile": "application/octet-stream",
    "doczip": "application/zip",
    "toxresult": "application/json",
}
# Release files in zip and the legacy formats, by suffix, as devpi-server names them; wheels
# and .tar.gz files stay application/octet-stream.
RELEASE_MEDIA_TYPES = {
    ".zip": "application/zip",
    ".egg": "application/zip",
    ".exe": "application/vnd.microsoft.portable-executable",
    ".msi": "application/x-msi",
    ".rpm": "application/x-rpm",
}
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
# Sent by the nginx site ``pkgdepot gen-config`` writes: nginx sends stored files itself,
# from this internal location (X-Accel-Redirect). Direct clients do not send it.
ACCEL_HEADER = "x-pkgdepot-accel"
_ACCEL_LOCATION = re.compile(r"/(?:(?!\.\.?/)[A-Za-z0-9._~+-]+/)*")  # no . or .. segment

Ranges = list[tuple[int, int]]  # (first, last) byte positions, both included


class RangeNotSatisfiable(Exception):
    """Answered with 416: RFC 9110 lets a server reject invalid ranges as well."""


def byte_ranges(header: str, size: int) -> Ranges | None:
    """The byte ranges a ``Range`` header asks for; None when its unit is not ``bytes``
    (such a header must be ignored). Ranges that start past the end are left out."""
    unit, equals, specs = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    ranges: Ranges = []
    for raw in specs.split(","):
        spec = raw.strip()
        if not spec:
            continue
        match = _RANGE_SPEC.fullmatch(spec)
        if match is None or not (match[1] or match[2]):
            raise RangeNotSatisfiable(f"invalid byte range {spec!r:.40}")
        if not match[1]:  # "-N": the last N bytes
            if int(match[2]) > 0 and size > 0:
                ranges.append((max(size - int(match[2]), 0), size - 1))
            continue
        first = int(match[1])
        last = int(match[2]) if match[2] else max(first, size - 1)
        if last < first:
            raise RangeNotSatisfiable(
                f"invalid byte range {spec!r:.40}: its end is before its start"
            )
        if first < size:
            ranges.append((first, min(last, size - 1)))
    if not ranges:
        raise RangeNotSatisfiable(f"no requested byte range is within the file's {size} bytes")
    return ranges


class BlobResponse(FileResponse):
    """A stored file (None: the whole of it) or one byte range of it, sent by the kernel when
    the server offers the ASGI zero-copy extension (web/server.py); otherwise, and for several
    ranges, by Starlette's ``FileResponse``."""

    def __init__(
        self,
        path: Path,
        stat: os.stat_result,
        media_type: str,
        headers: dict[str, str],
        ranges: Ranges | None,
    ) -> None:
        # Not given to Starlette, which would work out an ETag and a date again: ours are set.
        super().__init__(path, headers=headers, media_type=media_type)
        self.stat_result = stat
        self.raw_headers.append((b"content-length", b"%d" % stat.st_size))
        self.size = stat.st_size
        self.ranges = ranges

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if ZERO_COPY not in scope.get("extensions", ()) or (self.ranges and len(self.ranges) > 1):
            await self._read_and_send(scope, receive, send)
            return
        status, first, count, headers = 200, 0, self.size, self.raw_headers
        if self.ranges:
            first, last = self.ranges[0]
            status, count = 206, last - first + 1
            headers = [(k, v) for k, v in headers if k != b"content-length"]
            headers += [
                (b"content-length", b"%d" % count),
                (b"content-range", b"bytes %d-%d/%d" % (first, last, self.size)),
            ]
        if scope["method"] == "HEAD":
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        # A local file just found by stat: opening it costs less than a hop to a thread.
        with open(self.path, "rb", buffering=0) as file:  # noqa: ASYNC230
            await send({"type": "http.response.start", "status": status, "headers": headers})
            message = {"type": ZERO_COPY, "file": file, "offset": first, "count": count}
            await send(message)

    async def _read_and_send(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        if self.ranges is not None:
            spec = ",".join(f"{first}-{last}" for first, last in self.ranges)
            headers.append((b"range", f"bytes={spec}".encode("latin-1")))
        await super().__call__({**scope, "headers": headers}, receive, send)


@dataclasses.dataclass(frozen=True)
class Found:
    index: Index
    file: ReleaseFile
    is_metadata: bool  # the wheel's PEP 658 core metadata, not the file itself
    sha256: str  # of the bytes to send; "" when not known yet (a mirrored file)
    media_type: str
    path: Path
    stat: os.stat_result | None  # None: a mirrored file (or its metadata) not here yet


def _relpath(request: Request, area: str = "+f") -> str:
    p = request.path_params
    return f"{p['user']}/{p['index']}/{area}/{p['rest']}"


def _find(s: Services, user: str, index_name: str, relpath: str) -> Found:
    index = s.catalog.get(user, index_name)
    if relpath.endswith(METADATA_SUFFIX):
        try:
            file = s.projects.file(index, relpath.removesuffix(METADATA_SUFFIX))
        except NotFound:
            raise NotFound(f"no file {relpath}") from None
        if not file.core_metadata_sha256 and not _mirrored_wheel(file):
            raise NotFound(f"{file.filename} has no core metadata file: only wheels have one")
        is_metadata, sha256, media_type = True, file.core_metadata_sha256 or "", METADATA_TYPE
    else:
        file = s.projects.file(index, relpath)
        is_metadata, sha256 = False, file.sha256
        media_type = _media_type(file)
    path = s.blobs.path(sha256) if sha256 else Path()
    try:
        stat = path.stat() if sha256 else None
    except FileNotFoundError:
        stat = None
    if stat is None and file.url is None:
        raise NotFound(f"the stored content of {relpath} is missing on this server")
    return Found(index, file, is_metadata, sha256, media_type, path, stat)


def _media_type(file: ReleaseFile) -> str:
    if file.kind == "releasefile":
        suffix = Path(file.filename).suffix.lower()
        return RELEASE_MEDIA_TYPES.get(suffix, MEDIA_TYPES["releasefile"])
    return MEDIA_TYPES.get(file.kind, "application/octet-stream")


def _mirrored_wheel(file: ReleaseFile) -> bool:
    return file.url is not None and file.filename.endswith(".whl")


def _file_meta(file: ReleaseFile) -> dict[str, object]:
    return {
        "hash_spec": f"sha256={file.sha256}",
        "hashes": {"sha256": file.sha256},
        "last_modified": file.upload_time,
        "project": file.project,
        "version": file.version,
        "size": file.size,
    }


async def get_file(request: Request) -> Response:
    return await _get(request, "+f")


async def get_external_file(request: Request) -> Response:
    """A mirrored file its upstream announced without a sha256 (devpi's ``+e``)."""
    return await _get(request, "+e")


async def _get(request: Request, area: str) -> Response:
    s, p = services(request), request.path_params
    relpath = _relpath(request, area)
    found = await run_in_threadpool(_find, s, p["user"], p["index"], relpath)
    if wants_json(request) and not found.is_metadata:
        return envelope("releasefilemeta", _file_meta(found.file))
    if found.stat is None:
        reply = await _from_upstream(request, s, found)
        if reply is not None:
            return reply
        found = await run_in_threadpool(_find, s, p["user"], p["index"], relpath)
        if found.stat is None:
            raise NotFound(f"the stored content of {relpath} is missing on this server")
    return _send_stored(request, found, found.stat)


def _send_stored(request: Request, found: Found, stat: os.stat_result) -> Response:
    etag = f'"{found.sha256}"'
    last_modified = _http_date(stat.st_mtime)
    headers = {
        "ETag": etag,
        "Last-Modified": last_modified,
        "Cache-Control": IMMUTABLE,
        "Vary": "Accept",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    accel = request.headers.get(ACCEL_HEADER)
    if accel is not None:
        return _accel_redirect(found, accel, headers)
    ranges = None
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    # With an If-Range that no longer matches, the client's copy is outdated: send it all.
    if range_header is not None and if_range in (None, etag, last_modified):
        try:
            ranges = byte_ranges(range_header, stat.st_size)
        except RangeNotSatisfiable as error:
            reply = message(str(error), 416, reason=True)
            reply.headers["Content-Range"] = f"bytes */{stat.st_size}"
            return reply
    return BlobResponse(found.path, stat, found.media_type, headers, ranges)


@functools.lru_cache(maxsize=1024)
def _http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def _accel_redirect(found: Found, location: str, headers: dict[str, str]) -> Response:
    """Hands the sending to nginx: ``location`` is its internal location aliasing
    ``SERVERDIR/+blobs/``, where a blob is ``ab/cd/<sha256>`` (storage/blobs_fs.py). nginx
    serves byte ranges itself."""
    if not _ACCEL_LOCATION.fullmatch(location):
        raise InvalidInput(
            "X-Pkgdepot-Accel must be a path that starts and ends with '/' and has no . or .. "
            f"segment, not {location!r:.100}"
        )
    headers["X-Accel-Redirect"] = location + "/".join(found.path.parts[-3:])
    return Response(headers=headers, media_type=found.media_type)


# mirrored files not here yet


class UpstreamFileResponse(StreamingResponse):
    """A mirrored file sent while it is fetched.

    When the download fails after the response started, the response is left incomplete: the
    server then closes the connection, so the client sees a broken body (short of its
    ``Content-Length`` when the size is known), never a complete wrong file.
    """

    def __init__(self, streaming: Streaming, media_type: str, headers: dict[str, str]) -> None:
        super().__init__(streaming.rest, headers=headers, media_type=media_type)
        self.streaming = streaming

    async def stream_response(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        try:
            await send(
                {"type": "http.response.body", "body": self.streaming.first, "more_body": True}
            )
            async for chunk in self.streaming.rest:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except PkgdepotError:
            return  # logged where the download failed
        finally:
            await self.streaming.rest.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _from_upstream(request: Request, s: Services, found: Found) -> Response | None:
    """Answer for a mirrored file (or its core metadata) that is not stored here; None once it
    is stored, to be served from disk."""
    index, file, mirror = found.index, found.file, s.mirror_files
    if found.is_metadata:
        await mirror.fetch_metadata(index, file)
        return None
    mirror.check_online(file)
    if index.redirects_to_upstream and file.url:
        return RedirectResponse(file.url, 302)
    headers = {"Vary": "Accept"}
    if file.sha256:
        etag = headers["ETag"] = f'"{file.sha256}"'
        headers["Cache-Control"] = IMMUTABLE
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and etag_matches(if_none_match, etag):
            return Response(status_code=304, headers=headers)
    if file.size is not None:
        headers["Content-Length"] = str(file.size)
    if request.method == "HEAD":
        reply = Response(headers=headers, media_type=found.media_type)
        if file.size is None:
            del reply.headers["content-length"]
        return reply
    streaming = await mirror.stream(index, file)
    if streaming is None:
        return None
    return UpstreamFileResponse(streaming, found.media_type, headers)


async def delete_file(request: Request) -> Response:
    s = services(request)
    who = await identity(request, write=True)
    index = s.catalog.get(request.path_params["user"], request.path_params["index"])
    relpath = _relpath(request)
    await run_in_threadpool(s.projects.delete_file, who, index, relpath, flag(request, "force"))
    return message(f"package {relpath!r} deleted")
