"""Stored files at stable URLs: ``/USER/INDEX/+f/...``, their PEP 658 ``.metadata``, deletes."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from pkgdepot.domain.models import ReleaseFile
from pkgdepot.errors import NotFound
from pkgdepot.web.context import flag, identity, services, wants_json
from pkgdepot.web.responses import envelope, message

IMMUTABLE = "max-age=365000000, immutable, public"
METADATA_SUFFIX = ".metadata"


def _relpath(request: Request) -> str:
    p = request.path_params
    return f"{p['user']}/{p['index']}/+f/{p['rest']}"


def _serve_blob(request: Request, sha256: str, filename: str, media_type: str) -> Response:
    blobs = services(request).blobs
    path = blobs.path(sha256)
    if not path.is_file():
        raise NotFound(f"the stored content of {filename} is missing; run pkgdepot fsck")
    headers = {"ETag": f'"{sha256}"', "Cache-Control": IMMUTABLE}
    return FileResponse(path, media_type=media_type, headers=headers, filename=None)


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
    s = services(request)
    index = s.catalog.get(request.path_params["user"], request.path_params["index"])
    relpath = _relpath(request)
    if relpath.endswith(METADATA_SUFFIX):
        wheel = await run_in_threadpool(s.store.get_file, index, relpath[: -len(METADATA_SUFFIX)])
        if wheel is not None:
            if not wheel.core_metadata_sha256:
                raise NotFound(f"no core metadata for {wheel.filename}")
            return _serve_blob(
                request,
                wheel.core_metadata_sha256,
                wheel.filename + METADATA_SUFFIX,
                "text/plain; charset=utf-8",
            )
    file = await run_in_threadpool(s.projects.file, index, relpath)
    if wants_json(request):
        return envelope("releasefilemeta", _file_meta(file))
    media = "application/json" if file.kind == "toxresult" else "application/octet-stream"
    return _serve_blob(request, file.sha256, file.filename, media)


async def delete_file(request: Request) -> Response:
    s = services(request)
    who = await identity(request, write=True)
    index = s.catalog.get(request.path_params["user"], request.path_params["index"])
    relpath = _relpath(request)
    await run_in_threadpool(s.projects.delete_file, who, index, relpath, flag(request, "force"))
    return message(f"package {relpath!r} deleted")
