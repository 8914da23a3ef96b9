"""``/USER/INDEX/pypi/NAME/json`` and ``.../NAME/VERSION/json``: the public index's JSON API shape.

Tools such as Renovate, pip-audit and poetry read it; it is merged over the index's bases.
"""

from __future__ import annotations

from typing import Any

from packaging.version import InvalidVersion, Version
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pkgdepot.domain.models import Index, ReleaseFile
from pkgdepot.domain.names import normalize_project
from pkgdepot.errors import NotFound
from pkgdepot.web.context import base_url, services
from pkgdepot.web.responses import json_response

INFO_KEYS = (
    "author",
    "author_email",
    "classifiers",
    "description",
    "description_content_type",
    "download_url",
    "home_page",
    "keywords",
    "license",
    "license_expression",
    "maintainer",
    "maintainer_email",
    "platform",
    "project_urls",
    "requires_dist",
    "requires_python",
    "summary",
    "provides_extra",
    "dynamic",
)


def _file_info(file: ReleaseFile, root: str) -> dict[str, Any]:
    is_wheel = file.filename.endswith(".whl")
    return {
        "filename": file.filename,
        "url": f"{root}/{file.relpath}",
        "digests": {"sha256": file.sha256},
        "size": file.size,
        "packagetype": "bdist_wheel" if is_wheel else "sdist",
        "python_version": file.filename.split("-")[-3] if is_wheel else "source",
        "requires_python": file.requires_python,
        "upload_time": file.upload_time.rstrip("Z"),
        "upload_time_iso_8601": file.upload_time,
        "yanked": file.yanked is not None,
        "yanked_reason": file.yanked or None,
        "has_sig": False,
        "comment_text": "",
    }


def _latest(versions: list[str], files_by_version: dict[str, list[ReleaseFile]]) -> str:
    def key(v: str) -> tuple[bool, bool, Version]:
        try:
            parsed = Version(v)
        except InvalidVersion:
            parsed = Version("0")
        all_yanked = all(f.yanked is not None for f in files_by_version.get(v, [])) and bool(
            files_by_version.get(v)
        )
        return (not all_yanked, not parsed.is_prerelease, parsed)

    return max(versions, key=key)


def _document(request: Request, index: Index, project: str, version: str | None) -> dict[str, Any]:
    s = services(request)
    root = base_url(request)
    page = s.projects.page(index, project)
    metadata = s.projects.versions(index, project, lambda relpath: f"{root}/{relpath}")
    files_by_version: dict[str, list[ReleaseFile]] = {}
    for file in page.files:
        files_by_version.setdefault(file.version, []).append(file)
    if version is None:
        if not page.versions:
            raise NotFound(f"The project {project} has no releases.")
        version = _latest(page.versions, files_by_version)
    elif version not in metadata and version not in files_by_version:
        raise NotFound(f"The version {version} of project {project} does not exist.")
    meta = metadata.get(version, {})
    own_files = files_by_version.get(version, [])
    info: dict[str, Any] = {key: meta.get(key) for key in INFO_KEYS}
    info.update(
        name=meta.get("name", project),
        version=version,
        package_url=f"{root}/{index.path}/pypi/{project}/",
        release_url=f"{root}/{index.path}/pypi/{project}/{version}/",
        project_url=f"{root}/{index.path}/pypi/{project}/",
        yanked=bool(own_files) and all(f.yanked is not None for f in own_files),
        yanked_reason=next((f.yanked for f in own_files if f.yanked), None),
    )
    if not info.get("requires_python"):
        info["requires_python"] = next(
            (f.requires_python for f in own_files if f.requires_python), None
        )
    document: dict[str, Any] = {
        "info": info,
        "last_serial": s.store.serial.get(),
        "urls": [_file_info(f, root) for f in own_files],
        "vulnerabilities": [],
    }
    return document


def _with_releases(request: Request, document: dict[str, Any], index: Index, project: str) -> None:
    root = base_url(request)
    page = services(request).projects.page(index, project)
    releases: dict[str, list[dict[str, Any]]] = {v: [] for v in page.versions}
    for file in page.files:
        releases.setdefault(file.version, []).append(_file_info(file, root))
    document["releases"] = releases


def _redirect(request: Request, project: str) -> RedirectResponse | None:
    given = request.path_params["project"]
    if given == project:
        return None
    path = request.url.path.replace(f"/pypi/{given}/", f"/pypi/{project}/", 1)
    return RedirectResponse(str(request.url.replace(path=path)), status_code=301)


async def project_json(request: Request) -> Response:
    project = normalize_project(request.path_params["project"])
    redirect = _redirect(request, project)
    if redirect is not None:
        return redirect
    s = services(request)
    index = s.catalog.get(request.path_params["user"], request.path_params["index"])

    def build() -> dict[str, Any]:
        document = _document(request, index, project, None)
        _with_releases(request, document, index, project)
        return document

    return json_response(await run_in_threadpool(build))


async def version_json(request: Request) -> Response:
    project = normalize_project(request.path_params["project"])
    redirect = _redirect(request, project)
    if redirect is not None:
        return redirect
    s = services(request)
    index = s.catalog.get(request.path_params["user"], request.path_params["index"])
    version = request.path_params["version"]
    document = await run_in_threadpool(_document, request, index, project, version)
    return json_response(document)
