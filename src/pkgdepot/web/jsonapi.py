"""``/USER/INDEX/pypi/NAME/json`` and ``.../NAME/VERSION/json``: the public index's JSON API shape.

Tools such as Renovate, pip-audit and poetry read it; it is merged over the index's bases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.version import InvalidVersion, Version
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pkgdepot import archives
from pkgdepot.domain.models import Index, ReleaseFile
from pkgdepot.domain.names import normalize_project
from pkgdepot.errors import NotFound
from pkgdepot.service.projects import ProjectView
from pkgdepot.web.context import base_url, services
from pkgdepot.web.mirroring import bring_up_to_date, marked
from pkgdepot.web.responses import json_response

# info key -> stored metadata key; empty values become null, as the public index shows them.
TEXT_KEYS = {
    "author": "author",
    "author_email": "author_email",
    "description": "description",
    "description_content_type": "description_content_type",
    "download_url": "download_url",
    "home_page": "home_page",
    "keywords": "keywords",
    "license": "license",
    "license_expression": "license_expression",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "requires_python": "requires_python",
    "summary": "summary",
}
LIST_KEYS = {
    "requires_dist": "requires_dist",
    "provides_extra": "provides_extras",
    "dynamic": "dynamic",
    "license_files": "license_file",
}
NO_DOWNLOADS = {"last_day": -1, "last_month": -1, "last_week": -1}


def _project_urls(values: object) -> dict[str, str] | None:
    """Core metadata's ``Label, URL`` lines as the public index's ``{label: url}``."""
    if not isinstance(values, list):
        return None
    urls: dict[str, str] = {}
    for value in values:
        label, sep, url = str(value).partition(",")
        if sep and label.strip() and url.strip():
            urls[label.strip()] = url.strip()
    return urls or None


def _info_from_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {key: meta.get(stored) or None for key, stored in TEXT_KEYS.items()}
    info.update({key: list(meta.get(stored) or []) or None for key, stored in LIST_KEYS.items()})
    info["classifiers"] = list(meta.get("classifiers") or [])
    info["platform"] = ", ".join(meta.get("platform") or []) or None
    info["project_urls"] = _project_urls(meta.get("project_urls"))
    return info


def _file_info(file: ReleaseFile, root: str) -> dict[str, Any]:
    python_version, packagetype = archives.packagetype(file.filename)
    return {
        "comment_text": "",
        "digests": {"sha256": file.sha256},
        "downloads": -1,
        "filename": file.filename,
        "has_sig": False,
        "packagetype": packagetype,
        "python_version": python_version,
        "requires_python": file.requires_python,
        "size": file.size,
        "upload_time": file.upload_time.rstrip("Z") if file.upload_time else None,
        "upload_time_iso_8601": file.upload_time,
        "url": f"{root}/{file.relpath}",
        "yanked": file.yanked is not None,
        "yanked_reason": file.yanked or None,
    }


def _is_prerelease(version: str) -> bool:
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return False


def latest_version(versions: list[str], files: Mapping[str, list[ReleaseFile]]) -> str:
    """The version an installer would pick: one with files, not fully yanked, final if any.

    ``versions`` is in ascending order, as a project page lists them.
    """
    rank = {version: n for n, version in enumerate(versions)}

    def key(version: str) -> tuple[bool, bool, bool, int]:
        own = files.get(version, [])
        all_yanked = bool(own) and all(f.yanked is not None for f in own)
        return (bool(own), not all_yanked, not _is_prerelease(version), rank[version])

    return max(versions, key=key)


def _document(root: str, index: Index, view: ProjectView, version: str | None) -> dict[str, Any]:
    page = view.page
    project = page.project
    files: dict[str, list[ReleaseFile]] = {}
    for file in page.files:
        files.setdefault(file.version, []).append(file)
    if version is None:
        if not page.versions:
            raise NotFound(f"The project {project} has no releases.")
        version = latest_version(page.versions, files)
    elif version not in page.versions:
        raise NotFound(f"The version {version} of project {project} does not exist.")
    meta = view.metadata.get(version, {})
    own = files.get(version, [])
    info = _info_from_metadata(meta)
    if not info["requires_python"]:
        info["requires_python"] = next((f.requires_python for f in own if f.requires_python), None)
    project_url = f"{root}/{index.path}/pypi/{project}/"
    info.update(
        bugtrack_url=None,
        docs_url=None,
        downloads=NO_DOWNLOADS,
        name=meta.get("name") or project,
        version=version,
        package_url=project_url,
        project_url=project_url,
        release_url=f"{project_url}{version}/",
        yanked=bool(own) and all(f.yanked is not None for f in own),
        yanked_reason=next((f.yanked for f in own if f.yanked), None),
    )
    return {
        "info": dict(sorted(info.items())),
        "last_serial": 0,  # filled in by the caller
        "urls": [_file_info(f, root) for f in own],
        "vulnerabilities": [],
    }


def _releases(root: str, view: ProjectView) -> dict[str, list[dict[str, Any]]]:
    releases: dict[str, list[dict[str, Any]]] = {v: [] for v in view.page.versions}
    for file in view.page.files:
        releases[file.version].append(_file_info(file, root))
    return releases


def _redirect(request: Request, project: str) -> RedirectResponse | None:
    given = request.path_params["project"]
    if given == project:
        return None
    path = request.url.path.replace(f"/pypi/{given}/", f"/pypi/{project}/", 1)
    return RedirectResponse(str(request.url.replace(path=path)), status_code=301)


async def _reply(request: Request, version: str | None) -> Response:
    project = normalize_project(request.path_params["project"])
    redirect = _redirect(request, project)
    if redirect is not None:
        return redirect
    s = services(request)
    index = s.catalog.get(request.path_params["user"], request.path_params["index"])
    stale = await bring_up_to_date(request, index, project)
    root = base_url(request)
    serial = s.store.serial.get()

    def build() -> dict[str, Any]:
        view = s.projects.view(index, project)
        document = _document(root, index, view, version)
        document["last_serial"] = serial
        if version is None:
            document["releases"] = _releases(root, view)
        return document

    return marked(json_response(await run_in_threadpool(build)), stale)


async def project_json(request: Request) -> Response:
    return await _reply(request, None)


async def version_json(request: Request) -> Response:
    return await _reply(request, request.path_params["version"])
