"""One release file as a simple page lists it: a PEP 503 anchor line and a PEP 691 JSON object.

Each file's two fragments are rendered once, when the file is stored or yanked, and kept with
it; a page of ten thousand files is then a sort and a join, not ten thousand renders.
URLs are relative to the page, so the fragments serve every host name and path prefix.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote

from pkgdepot.domain.models import ReleaseFile

# From /USER/INDEX/+simple/PROJECT/ (or /simple/PROJECT/) up to the server root.
TO_ROOT = "../../../../"


def file_url(relpath: str) -> str:
    return TO_ROOT + quote(relpath, safe="/+!~")


def html_link(file: ReleaseFile) -> str:
    fragment = f"#sha256={escape(file.sha256)}" if file.sha256 else ""
    attrs = [f'href="{escape(file_url(file.relpath))}{fragment}"']
    if file.requires_python:
        attrs.append(f'data-requires-python="{escape(file.requires_python)}"')
    if file.yanked is not None:
        attrs.append(f'data-yanked="{escape(file.yanked)}"')
    if file.core_metadata_sha256:
        value = f"sha256={escape(file.core_metadata_sha256)}"
        attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
    return f"    <a {' '.join(attrs)}>{escape(file.filename)}</a><br>\n"


def json_link(file: ReleaseFile) -> str:
    entry: dict[str, Any] = {
        "filename": file.filename,
        "url": file_url(file.relpath),
        "hashes": {"sha256": file.sha256} if file.sha256 else {},
    }
    if file.size is not None:
        entry["size"] = file.size
    if file.upload_time:
        entry["upload-time"] = file.upload_time
    if file.requires_python:
        entry["requires-python"] = file.requires_python
    if file.yanked is not None:
        entry["yanked"] = file.yanked or True
    if file.core_metadata_sha256:
        entry["core-metadata"] = {"sha256": file.core_metadata_sha256}
    return json.dumps(entry, separators=(",", ":"))
