"""Stored files at stable URLs: ``/USER/INDEX/+f/...``, their PEP 658 ``.metadata``, deletes.

A stored file never changes, so it is served with its sha256 as ``ETag``, an immutable
``Cache-Control``, ``304`` for a matching ``If-None-Match`` and byte ranges (RFC 9110): the
ranges are checked here, Starlette's ``FileResponse`` sends the bytes. devpi-client asks for
the file's metadata instead with ``Accept: application/json``.
"""

from __future__ import annotations

import dataclasses
import os
import re
from email.utils import formatdate
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

from pkgdepot.domain.models import ReleaseFile
from pkgdepot.errors import NotFound
from pkgdepot.service.container import Services
from pkgdepot.web.context import flag, identity, services, wants_json
from pkgdepot.web.responses import envelope, message

IMMUTABLE = "max-age=365000000, immutable, public"
METADATA_SUFFIX = ".metadata"
METADATA_TYPE = "text/plain; charset=utf-8"
MEDIA_TYPES = {
    "releasefile": "application/octet-stream",
    "doczip": "application/zip",
    "toxresult": "application/json",
}
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")

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
    """Starlette's ``FileResponse``, told which ranges to send (None: the whole file)."""

    def __init__(
        self,
        path: Path,
        stat: os.stat_result,
        media_type: str,
        headers: dict[str, str],
        ranges: Ranges | None,
    ) -> None:
        super().__init__(path, headers=headers, media_type=media_type, stat_result=stat)
        self.range_header = None
        if ranges is not None:
            self.range_header = "bytes=" + ",".join(f"{first}-{last}" for first, last in ranges)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        if self.range_header is not None:
            headers.append((b"range", self.range_header.encode("latin-1")))
        await super().__call__({**scope, "headers": headers}, receive, send)


@dataclasses.dataclass(frozen=True)
class Found:
    file: ReleaseFile
    is_metadata: bool  # the wheel's PEP 658 core metadata, not the file itself
    sha256: str  # of the bytes to send
    media_type: str
    path: Path
    stat: os.stat_result


def _relpath(request: Request) -> str:
    p = request.path_params
    return f"{p['user']}/{p['index']}/+f/{p['rest']}"


def _find(s: Services, user: str, index_name: str, relpath: str) -> Found:
    index = s.catalog.get(user, index_name)
    if relpath.endswith(METADATA_SUFFIX):
        try:
            file = s.projects.file(index, relpath.removesuffix(METADATA_SUFFIX))
        except NotFound:
            raise NotFound(f"no file {relpath}") from None
        if not file.core_metadata_sha256:
            raise NotFound(f"{file.filename} has no core metadata file: only wheels have one")
        is_metadata, sha256, media_type = True, file.core_metadata_sha256, METADATA_TYPE
    else:
        file = s.projects.file(index, relpath)
        is_metadata, sha256 = False, file.sha256
        media_type = MEDIA_TYPES.get(file.kind, "application/octet-stream")
    path = s.blobs.path(sha256)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise NotFound(f"the stored content of {relpath} is missing on this server") from None
    return Found(file, is_metadata, sha256, media_type, path, stat)


def _file_meta(file: ReleaseFile) -> dict[str, object]:
    return {
        "hash_spec": f"sha256={file.sha256}",
        "hashes": {"sha256": file.sha256},
        "last_modified": file.upload_time,
        "project": file.project,
        "version": file.version,
        "size": file.size,
    }


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


async def get_file(request: Request) -> Response:
    p = request.path_params
    relpath = _relpath(request)
    found = await run_in_threadpool(_find, services(request), p["user"], p["index"], relpath)
    if wants_json(request) and not found.is_metadata:
        return envelope("releasefilemeta", _file_meta(found.file))
    etag = f'"{found.sha256}"'
    last_modified = formatdate(found.stat.st_mtime, usegmt=True)
    headers = {
        "ETag": etag,
        "Last-Modified": last_modified,
        "Cache-Control": IMMUTABLE,
        "Vary": "Accept",
    }
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    ranges = None
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    # With an If-Range that no longer matches, the client's copy is outdated: send it all.
    if range_header is not None and if_range in (None, etag, last_modified):
        try:
            ranges = byte_ranges(range_header, found.stat.st_size)
        except RangeNotSatisfiable as error:
            reply = message(str(error), 416, reason=True)
            reply.headers["Content-Range"] = f"bytes */{found.stat.st_size}"
            return reply
    return BlobResponse(found.path, found.stat, found.media_type, headers, ranges)


async def delete_file(request: Request) -> Response:
    s = services(request)
    who = await identity(request, write=True)
    index = s.catalog.get(request.path_params["user"], request.path_params["index"])
    relpath = _relpath(request)
    await run_in_threadpool(s.projects.delete_file, who, index, relpath, flag(request, "force"))
    return message(f"package {relpath!r} deleted")
