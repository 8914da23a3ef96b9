"""What the fake upstream (``fake_upstream.py``) serves: its projects and the bytes of its pages."""

from __future__ import annotations

import hashlib
import html
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import orjson
from packaging.utils import canonicalize_name


@dataclass
class FakeFile:
    filename: str
    data: bytes
    requires_python: str | None = None
    yanked: bool | str = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def metadata(self) -> bytes | None:
        """The wheel's METADATA (PEP 658), None for sdists."""
        if not self.filename.endswith(".whl"):
            return None
        with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            return archive.read(name)


@dataclass
class FakeProject:
    name: str
    serial: int
    files: list[FakeFile] = field(default_factory=list)


def json_page(project: FakeProject, base: str, sha256_of: Callable[[FakeFile], str]) -> bytes:
    files = []
    for file in project.files:
        entry: dict[str, object] = {
            "filename": file.filename,
            "url": f"{base}/files/{quote(file.filename, safe='')}",
            "hashes": {"sha256": sha256_of(file)},
            "requires-python": file.requires_python,
            "yanked": file.yanked,
            "size": len(file.data),
            "upload-time": "2024-01-02T03:04:05.000000Z",
        }
        metadata = file.metadata
        if metadata is not None:
            entry["core-metadata"] = {"sha256": hashlib.sha256(metadata).hexdigest()}
        files.append(entry)
    document = {
        "meta": {"api-version": "1.1", "_last-serial": project.serial},
        "name": canonicalize_name(project.name),
        "versions": [],
        "files": files,
    }
    return orjson.dumps(document)


def html_page(project: FakeProject, sha256_of: Callable[[FakeFile], str]) -> bytes:
    anchors = []
    for file in project.files:
        href = f"../../files/{quote(file.filename, safe='')}#sha256={sha256_of(file)}"
        attrs = f'href="{href}"'
        if file.requires_python:
            escaped = file.requires_python.replace("<", "&lt;").replace(">", "&gt;")
            attrs += f' data-requires-python="{escaped}"'
        if file.yanked is not False:
            reason = file.yanked if isinstance(file.yanked, str) else ""
            attrs += f' data-yanked="{html.escape(reason)}"'
        metadata = file.metadata
        if metadata is not None:
            attrs += f' data-core-metadata="sha256={hashlib.sha256(metadata).hexdigest()}"'
        anchors.append(f"<a {attrs}>{file.filename}</a><br/>")
    page = "<!DOCTYPE html><html><body>\n" + "\n".join(anchors) + "\n</body></html>\n"
    return page.encode()


def generated_list_chunks(count: int, flavour: str, batch: int = 2000) -> Iterator[bytes]:
    """A project list of ``count`` names (``name-0`` ...), produced lazily in chunks."""
    if flavour == "json":
        yield b'{"meta": {"api-version": "1.1", "_last-serial": 7}, "projects": ['
        entry = b'%s{"name": "name-%d", "_last-serial": %d}'
        for start in range(0, count, batch):
            stop = min(start + batch, count)
            yield b"".join(entry % (b"," if i else b"", i, i) for i in range(start, stop))
        yield b"]}"
    else:
        yield b"<!DOCTYPE html><html><body>\n"
        for start in range(0, count, batch):
            stop = min(start + batch, count)
            yield b"".join(b'<a href="name-%d/">name-%d</a>\n' % (i, i) for i in range(start, stop))
        yield b"</body></html>\n"
