"""What the fake upstream (``fake_upstream.py``) serves: its projects and the bytes of its pages."""

from __future__ import annotations

import functools
import hashlib
import html
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import orjson
from packaging.utils import canonicalize_name

GENERATED_BLOCK = 1024 * 1024


def generated_chunks(size: int, seed: str = "") -> Iterator[bytes]:
    """``size`` bytes made on the fly, 1 MiB at a time, every block different."""
    for start in range(0, size, GENERATED_BLOCK):
        block = hashlib.sha256(b"%s %d" % (seed.encode(), start)).digest() * (GENERATED_BLOCK // 32)
        yield block[: min(GENERATED_BLOCK, size - start)]


@dataclass
class FakeFile:
    filename: str
    data: bytes
    requires_python: str | None = None
    yanked: bool | str = False
    generated_size: int | None = None  # set: the bytes are ``generated_chunks``, not ``data``
    announce_hash: bool = True  # False: pages link it without a sha256 (served under ``+e``)
    announce_metadata: bool = True  # False: pages do not announce a wheel's METADATA (PEP 658)

    @classmethod
    def generated(cls, filename: str, size: int) -> FakeFile:
        """A large file that is never held in memory (its sha256 is computed once)."""
        return cls(filename, b"", generated_size=size)

    @property
    def size(self) -> int:
        return len(self.data) if self.generated_size is None else self.generated_size

    def chunks(self) -> Iterator[bytes]:
        if self.generated_size is None:
            yield self.data
        else:
            yield from generated_chunks(self.generated_size, seed=self.filename)

    @functools.cached_property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()

    @property
    def announced_metadata(self) -> bytes | None:
        return self.metadata if self.announce_metadata else None

    @property
    def metadata(self) -> bytes | None:
        """The wheel's METADATA (PEP 658), None for sdists."""
        if not self.filename.endswith(".whl") or self.generated_size is not None:
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
            "hashes": {"sha256": sha256_of(file)} if file.announce_hash else {},
            "requires-python": file.requires_python,
            "yanked": file.yanked,
            "size": file.size,
            "upload-time": "2024-01-02T03:04:05.000000Z",
        }
        metadata = file.announced_metadata
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
        href = f"../../files/{quote(file.filename, safe='')}"
        if file.announce_hash:
            href += f"#sha256={sha256_of(file)}"
        attrs = f'href="{href}"'
        if file.requires_python:
            escaped = file.requires_python.replace("<", "&lt;").replace(">", "&gt;")
            attrs += f' data-requires-python="{escaped}"'
        if file.yanked is not False:
            reason = file.yanked if isinstance(file.yanked, str) else ""
            attrs += f' data-yanked="{html.escape(reason)}"'
        metadata = file.announced_metadata
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
