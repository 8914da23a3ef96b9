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
_is_hex = re.compile(r"[0-9a-f]*").fullmatch


def _url(path: str) -> str:
    """URL-quoted; the result holds no character that HTML needs escaped."""
    return path if _is_plain(path) else quote(path, safe=_URL_SAFE)


def _text(value: str) -> str:
    return value if _is_plain(value) else escape(value)


def file_url(relpath: str) -> str:
    return TO_ROOT + _url(relpath)


def _html(title: str, lines: Iterable[str]) -> bytes:
    head = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{escape(title)}</h1>\n"
    )
    return (head + "".join(lines) + "  </body>\n</html>\n").encode()


def project_html(project: str, files: Sequence[Link], note: str | None = None) -> bytes:
    requires_python: dict[str, str] = {}  # each distinct value escaped once per page
    lines = [f"    <p>{escape(note)}</p>\n"] if note else []
    append = lines.append
    for filename, relpath, _, sha256, _, _, python, yanked, metadata in files:
        if _is_plain(relpath) and relpath.endswith(filename):  # the usual case: one check
            href, text = relpath, filename
        else:
            href, text = quote(relpath, safe=_URL_SAFE), escape(filename)
        if not _is_hex(sha256):
            sha256 = escape(sha256)
        extra = ""
        if python:
            extra = requires_python.get(python) or requires_python.setdefault(
                python, f' data-requires-python="{escape(python)}"'
            )
        if yanked is not None:
            extra += f' data-yanked="{escape(yanked)}"'
        if metadata:
            if not _is_hex(metadata):
                metadata = escape(metadata)
            extra += (
                f' data-core-metadata="sha256={metadata}"'
                f' data-dist-info-metadata="sha256={metadata}"'
            )
        append(f'    <a href="{TO_ROOT}{href}#sha256={sha256}"{extra}>{text}</a><br>\n')
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
