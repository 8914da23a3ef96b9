"""Simple API documents (PEP 503 HTML, PEP 691 JSON at api-version 1.1) rendered to bytes.

Links are relative to the page, so the same bytes serve every host name and path prefix.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import quote

import orjson

from pkgdepot.domain.models import ReleaseFile

API_VERSION = "1.1"
# From /USER/INDEX/+simple/PROJECT/ (or /simple/PROJECT/) up to the server root.
TO_ROOT = "../../../../"


def file_url(relpath: str) -> str:
    return TO_ROOT + quote(relpath, safe="/+!~")


def _html_link(file: ReleaseFile) -> str:
    attrs = [f'href="{escape(file_url(file.relpath))}#sha256={file.sha256}"']
    if file.requires_python:
        attrs.append(f'data-requires-python="{escape(file.requires_python)}"')
    if file.yanked is not None:
        attrs.append(f'data-yanked="{escape(file.yanked)}"')
    if file.core_metadata_sha256:
        value = f"sha256={file.core_metadata_sha256}"
        attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
    return f"    <a {' '.join(attrs)}>{escape(file.filename)}</a><br>\n"


def _html(title: str, body: Iterable[str]) -> bytes:
    head = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{escape(title)}</h1>\n"
    )
    return (head + "".join(body) + "  </body>\n</html>\n").encode()


def project_html(project: str, files: list[ReleaseFile], note: str | None = None) -> bytes:
    lines = [_html_link(f) for f in files]
    if note:
        lines.insert(0, f"    <p>{escape(note)}</p>\n")
    return _html(f"Links for {project}", lines)


def project_json(project: str, files: list[ReleaseFile], versions: list[str]) -> bytes:
    entries: list[dict[str, Any]] = []
    for file in files:
        entry: dict[str, Any] = {
            "filename": file.filename,
            "url": file_url(file.relpath),
            "hashes": {"sha256": file.sha256},
            "size": file.size,
            "upload-time": file.upload_time,
        }
        if file.requires_python:
            entry["requires-python"] = file.requires_python
        if file.yanked is not None:
            entry["yanked"] = file.yanked or True
        if file.core_metadata_sha256:
            entry["core-metadata"] = {"sha256": file.core_metadata_sha256}
        entries.append(entry)
    document = {
        "meta": {"api-version": API_VERSION},
        "name": project,
        "versions": versions,
        "files": entries,
    }
    return orjson.dumps(document)


def index_html(title: str, projects: Iterable[str]) -> bytes:
    return _html(title, (f'    <a href="{quote(p)}/">{escape(p)}</a><br>\n' for p in projects))


def index_json(projects: Iterable[str]) -> bytes:
    return orjson.dumps(
        {"meta": {"api-version": API_VERSION}, "projects": [{"name": p} for p in projects]}
    )
