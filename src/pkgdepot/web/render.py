"""Simple API documents (PEP 503 HTML, PEP 691 JSON at api-version 1.1) rendered to bytes.

Links are relative to the page, so the same bytes serve every host name and path prefix.
A project page can list ten thousand files, so the per-file code avoids work it can skip:
values made only of plain characters need neither URL quoting nor HTML escaping, and repeated
attribute values (``requires-python``) are escaped once per page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

import orjson

from pkgdepot.domain.models import Link

API_VERSION = "1.1"
# From /USER/INDEX/+simple/PROJECT/ (or /simple/PROJECT/) up to the server root.
TO_ROOT = "../../../../"
_URL_SAFE = "/+!~"
# Characters that are the same URL-quoted, HTML-escaped or not.
_is_plain = re.compile(r"[A-Za-z0-9._~!+/-]*").fullmatch


def _url(path: str) -> str:
    """URL-quoted; the result holds no character that HTML needs escaped."""
    return path if _is_plain(path) else quote(path, safe=_URL_SAFE)


def _text(value: str) -> str:
    return value if _is_plain(value) else escape(value)


def file_url(relpath: str) -> str:
    return TO_ROOT + _url(relpath)


class _Attributes:
    """``name="value"`` HTML attributes, each distinct value escaped once."""

    def __init__(self, name: str) -> None:
        self._template = f' {name}="{{}}"'
        self._done: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        done = self._done.get(value)
        if done is None:
            done = self._done[value] = self._template.format(escape(value))
        return done


def _html(title: str, lines: Iterable[str]) -> bytes:
    head = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{escape(title)}</h1>\n"
    )
    return (head + "".join(lines) + "  </body>\n</html>\n").encode()


def project_html(project: str, files: Sequence[Link], note: str | None = None) -> bytes:
    requires_python = _Attributes("data-requires-python")
    yanked_attr = _Attributes("data-yanked")
    lines = [f"    <p>{escape(note)}</p>\n"] if note else []
    for filename, relpath, _, sha256, _, _, python, yanked, metadata in files:
        extra = ""
        if python:
            extra = requires_python(python)
        if yanked is not None:
            extra += yanked_attr(yanked)
        if metadata:
            value = f"sha256={_text(metadata)}"
            extra += f' data-core-metadata="{value}" data-dist-info-metadata="{value}"'
        lines.append(
            f'    <a href="{TO_ROOT}{_url(relpath)}#sha256={_text(sha256)}"{extra}>'
            f"{_text(filename)}</a><br>\n"
        )
    return _html(f"Links for {project}", lines)


def project_json(project: str, files: Sequence[Link], versions: list[str]) -> bytes:
    entries: list[dict[str, Any]] = []
    for filename, relpath, _, sha256, size, upload_time, python, yanked, metadata in files:
        entry: dict[str, Any] = {
            "filename": filename,
            "url": TO_ROOT + _url(relpath),
            "hashes": {"sha256": sha256},
            "size": size,
            "upload-time": upload_time,
        }
        if python:
            entry["requires-python"] = python
        if yanked is not None:
            entry["yanked"] = yanked or True
        if metadata:
            entry["core-metadata"] = {"sha256": metadata}
        entries.append(entry)
    document = {
        "meta": {"api-version": API_VERSION},
        "name": project,
        "versions": versions,
        "files": entries,
    }
    return orjson.dumps(document)


def index_html(title: str, projects: Iterable[str]) -> bytes:
    return _html(title, (f'    <a href="{_url(p)}/">{_text(p)}</a><br>\n' for p in projects))


def index_json(projects: Iterable[str]) -> bytes:
    return orjson.dumps(
        {"meta": {"api-version": API_VERSION}, "projects": [{"name": p} for p in projects]}
    )
