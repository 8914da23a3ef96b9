"""Simple API documents (PEP 503 HTML, PEP 691 JSON at api-version 1.1) rendered to bytes.

A project page joins its files' fragments, rendered when each file was stored
(``domain/simple_links.py``), so a page of ten thousand files costs a join, not ten thousand
renders. Links are relative to the page, so the same bytes serve every host name and path prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import quote

import orjson

API_VERSION = "1.1"


def _html(title: str, lines: Iterable[str]) -> bytes:
    head = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{escape(title)}</h1>\n"
    )
    return (head + "".join(lines) + "  </body>\n</html>\n").encode()


def project_html(project: str, fragments: Sequence[str], note: str | None = None) -> bytes:
    lines = [f"    <p>{escape(note)}</p>\n", *fragments] if note else fragments
    return _html(f"Links for {project}", lines)


def project_json(project: str, fragments: Sequence[str], versions: list[str]) -> bytes:
    head = orjson.dumps(
        {"meta": {"api-version": API_VERSION}, "name": project, "versions": versions}
    )
    # The fragments are JSON objects already; splice them in as the "files" array.
    return b"".join((head[:-1], b',"files":[', ",".join(fragments).encode(), b"]}"))


def index_html(title: str, projects: Iterable[str]) -> bytes:
    return _html(title, (f'    <a href="{quote(p)}/">{escape(p)}</a><br>\n' for p in projects))


def index_json(projects: Iterable[str]) -> bytes:
    return orjson.dumps(
        {"meta": {"api-version": API_VERSION}, "projects": [{"name": p} for p in projects]}
    )
