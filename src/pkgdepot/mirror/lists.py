"""A mirror's project list: fetched with its ETag, kept on disk, streamed to clients.

Each mirror index has a directory (named by its id and upstream URL) holding the list as the
upstream last sent it, written while the names stream in, never held in memory whole:

- ``names-DIGEST.txt``: the PEP 503 normalised names, each once, one a line, upstream order;
- ``list-DIGEST.html`` and ``list-DIGEST.json``: the two documents served as they are;
- ``state.json``: the current DIGEST, the upstream's ETag and serial, the fetch time, the count.

New files get a new DIGEST and ``state.json`` is replaced by a rename, so a reader in any worker
sees the old list or the new one, whole. The previous generation is kept until the next
refresh, for readers that read the old state a moment before. One fetch per list runs in a
worker at a time; requests meanwhile share it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import json
import logging
import os
import tempfile
import time
from array import array
from collections.abc import Iterator
from html import escape
from pathlib import Path

from packaging.utils import canonicalize_name

from pkgdepot.domain.models import Index
from pkgdepot.domain.names import is_valid_project_name
from pkgdepot.errors import UpstreamUnavailable
from pkgdepot.mirror import metrics
from pkgdepot.mirror.clients import UpstreamClients
from pkgdepot.mirror.upstream import ProjectList

log = logging.getLogger("pkgdepot.mirror")

STATE = "state.json"
FORMATS = ("html", "json")
API_VERSION = "1.1"
WRITE_EVERY = 4096  # names buffered before they are written out


# ---- the documents, in pieces that can be written (or streamed) a name at a time ----------


def html_head(title: str) -> bytes:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{escape(title)}</h1>\n"
    ).encode()


HTML_TAIL = b"  </body>\n</html>\n"
JSON_HEAD = b'{"meta":{"api-version":"%s"},"projects":[' % API_VERSION.encode()
JSON_TAIL = b"]}"


# Normalised names are made of a-z, 0-9 and "-": nothing to quote or escape.
def html_line(name: str) -> str:
    return f'    <a href="{name}/">{name}</a><br>\n'


def json_entry(name: str) -> str:
    """One entry of the ``projects`` array, preceded by a comma (drop it before the first)."""
    return f',{{"name":"{name}"}}'


class SeenNames:
    """Which names were seen, in about 16 bytes a name: their 64-bit hashes in an
    open-addressing table (a ``set`` of a million names would take about 100 MB). Two names
    with the same 64-bit hash count as one; among a few million names that is improbable."""

    def __init__(self) -> None:
        self._slots = array("q", bytes(8 * 1024))
        self._count = 0

    def add(self, name: str) -> bool:
        """True the first time ``name`` is added."""
        if not self._insert(self._slots, hash(name) or 1):
            return False
        self._count += 1
        if self._count * 2 > len(self._slots):
            bigger = array("q", bytes(16 * len(self._slots)))
            for key in self._slots:
                if key:
                    self._insert(bigger, key)
            self._slots = bigger
        return True

    @staticmethod
    def _insert(slots: array[int], key: int) -> bool:
        mask = len(slots) - 1
        at = key & mask
        while (found := slots[at]) != 0:
            if found == key:
                return False
            at = (at + 1) & mask
        slots[at] = key
        return True


# ---- what is stored -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StoredList:
    directory: Path
    digest: str  # of the names in order: the same list has the same digest in every worker
    etag: str | None  # the upstream's
    serial: int  # the upstream's X-PyPI-Last-Serial, -1 if it sent none
    fetched_at: float
    count: int

    def document(self, fmt: str) -> Path:
        return self.directory / f"list-{self.digest}.{fmt}"

    @property
    def names(self) -> Path:
        return self.directory / f"names-{self.digest}.txt"

    def is_fresh(self, expiry: float) -> bool:
        return 0 <= time.time() - self.fetched_at < expiry


@dataclasses.dataclass(frozen=True)
class Listing:
    stored: StoredList
    stale: bool  # the upstream failed: this is the last list that was fetched


def _read_state(directory: Path) -> StoredList | None:
    try:
        state = json.loads((directory / STATE).read_bytes())
        stored = StoredList(directory=directory, **state)
    except (FileNotFoundError, ValueError, TypeError):
        return None
    missing = not all(stored.document(fmt).exists() for fmt in FORMATS)
    return None if missing or not stored.names.exists() else stored


def _write_state(stored: StoredList) -> None:
    state = dataclasses.asdict(stored)
    del state["directory"]
    _atomic_write(stored.directory / STATE, json.dumps(state).encode())


def _files_of(stored: StoredList) -> set[str]:
    return {stored.names.name, *(stored.document(fmt).name for fmt in FORMATS)}


def _prune(directory: Path, keep: set[str]) -> None:
    """Drop older generations, and temporary files an hour old (a worker that died left them;
    younger ones may still be written)."""
    for path in directory.iterdir():
        if path.name == STATE or path.name in keep:
            continue
        if path.suffix != ".tmp" or time.time() - path.stat().st_mtime > 3600:
            path.unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(file.name, path)


def _temporary_file(directory: Path) -> tempfile._TemporaryFileWrapper[bytes]:
    """A file for the caller to close, then rename into place or remove."""
    return tempfile.NamedTemporaryFile(dir=directory, suffix=".tmp", delete=False)


class MaybeSeen:
    """A Bloom filter of names in a fixed 4 MiB (two bits a name, from its hash): ``add`` says
    False for a name surely not added before, True for one that may have been (at a million
    names, about 1 new name in 300; at five million, 1 in 15)."""

    BITS = 1 << 25

    def __init__(self) -> None:
        self._bits = bytearray(self.BITS // 8)

    def add(self, name: str) -> bool:
        key = hash(name)
        first, second = key & (self.BITS - 1), (key >> 25) & (self.BITS - 1)
        bits = self._bits
        was_first, was_second = bits[first >> 3], bits[second >> 3]  # both before either write
        first_bit, second_bit = 1 << (first & 7), 1 << (second & 7)
        bits[first >> 3] = was_first | first_bit
        bits[second >> 3] |= second_bit
        return bool(was_first & first_bit and was_second & second_bit)


class _ListWriter:
    """Writes the names file and both documents to temporary files, in two passes, so memory
    stays flat however many names there are: as they come in, every valid name goes to a
    scratch file, and the few a Bloom filter may have seen before are remembered; at the end
    the scratch file is read back and each name is written once, where it first came."""

    def __init__(self, directory: Path, title: str) -> None:
        self._directory = directory
        self._title = title
        self._scratch = _temporary_file(directory)
        self._maybe_seen = MaybeSeen()
        self._suspects: set[str] = set()  # names that may come more than once
        self._buffered: list[str] = []

    def add(self, upstream_name: str) -> None:
        if not is_valid_project_name(upstream_name):
            return  # no installer could ask for it
        name = canonicalize_name(upstream_name)
        if self._maybe_seen.add(name):
            self._suspects.add(name)
        self._buffered.append(name + "\n")
        if len(self._buffered) >= WRITE_EVERY:
            self._scratch.write("".join(self._buffered).encode())
            self._buffered.clear()

    def _unique_names(self) -> Iterator[list[str]]:
        """The scratch file's names, each once, in chunks of lines (with their newlines)."""
        self._scratch.write("".join(self._buffered).encode())
        self._scratch.seek(0)
        written: set[str] = set()
        lines = io.TextIOWrapper(self._scratch.file, encoding="ascii")
        chunk: list[str] = []
        for line in lines:
            name = line[:-1]
            if name in self._suspects:
                if name in written:
                    continue
                written.add(name)
            chunk.append(line)
            if len(chunk) >= WRITE_EVERY:
                yield chunk
                chunk = []
        yield chunk
        lines.detach()

    def finish(self, etag: str | None, serial: int, previous: StoredList | None) -> StoredList:
        files = {kind: _temporary_file(self._directory) for kind in ("names", *FORMATS)}
        digest = hashlib.sha256()
        count = 0
        try:
            files["html"].write(html_head(self._title))
            files["json"].write(JSON_HEAD)
            for chunk in self._unique_names():
                names = "".join(chunk).encode()
                digest.update(names)
                files["names"].write(names)
                files["html"].write("".join(html_line(n[:-1]) for n in chunk).encode())
                entries = "".join(json_entry(n[:-1]) for n in chunk)
                files["json"].write((entries if count else entries[1:]).encode())
                count += len(chunk)
            files["html"].write(HTML_TAIL)
            files["json"].write(JSON_TAIL)
            stored = StoredList(
                self._directory, digest.hexdigest()[:32], etag, serial, time.time(), count
            )
            targets = {"names": stored.names} | {fmt: stored.document(fmt) for fmt in FORMATS}
            for kind, file in files.items():
                file.flush()
                os.fsync(file.fileno())
                file.close()
                os.replace(file.name, targets[kind])
        except BaseException:
            for file in files.values():
                file.close()
                Path(file.name).unlink(missing_ok=True)
            raise
        finally:
            self.abort()
        _write_state(stored)
        _prune(self._directory, _files_of(stored) | (_files_of(previous) if previous else set()))
        return stored

    def abort(self) -> None:
        """Drop the scratch file (the documents are renamed into place or dropped by then)."""
        self._scratch.close()
        Path(self._scratch.name).unlink(missing_ok=True)


# ---- fetching and serving -----------------------------------------------------------------


class MirrorLists:
    def __init__(
        self, upstreams: UpstreamClients, workdir: Path, *, offline: bool, wait: float
    ) -> None:
        """``wait``: how long a request waits for a refresh before it takes the stored list."""
        self._upstreams = upstreams
        self._workdir = workdir
        self.offline = offline
        self._wait = wait
        self._fetches: dict[Path, asyncio.Task[StoredList]] = {}

    def lists_upstream(self, index: Index) -> bool:
        """Does ``index`` list the upstream's projects (rather than the ones stored here)?"""
        return index.is_mirror and index.lists_upstream_projects and not self.offline

    def _directory(self, index: Index) -> Path:
        upstream = hashlib.sha256(index.mirror_url.encode()).hexdigest()[:16]
        return self._workdir / f"{index.id}-{upstream}"

    async def listing(self, index: Index) -> Listing:
        """The list of ``index``, refreshed first once it is older than the cache expiry.

        While a stored list exists, a failing or slow upstream never fails the request: it
        gets the stored list, marked stale. Without one: ``UpstreamUnavailable``.
        """
        directory = self._directory(index)
        stored = await asyncio.to_thread(_read_state, directory)
        if stored is not None and stored.is_fresh(index.cache_expiry):
            return Listing(stored, stale=False)
        fetch = self._fetches.get(directory)
        if fetch is None:
            fetch = asyncio.create_task(self._fetch(index, directory, stored))
            self._fetches[directory] = fetch
            fetch.add_done_callback(lambda _: self._forget(directory))
        if stored is None:
            try:
                return Listing(await asyncio.shield(fetch), stale=False)
            except UpstreamUnavailable as error:
                raise UpstreamUnavailable(
                    f"the project list of {index.path} could not be fetched and none is "
                    f"stored: {error.message}"
                ) from None
        try:
            async with asyncio.timeout(self._wait):
                return Listing(await asyncio.shield(fetch), stale=False)
        except (UpstreamUnavailable, TimeoutError):
            return Listing(stored, stale=True)

    def _forget(self, directory: Path) -> None:
        fetch = self._fetches.pop(directory)
        if not fetch.cancelled():
            fetch.exception()  # logged by ``_fetch``; a request that stopped waiting never asks

    async def _fetch(self, index: Index, directory: Path, stored: StoredList | None) -> StoredList:
        try:
            with metrics.fetching(index.path, metrics.LIST):
                return await self._fetch_and_store(index, directory, stored)
        except UpstreamUnavailable as error:
            kept = "kept the stored list" if stored is not None else "no list is stored"
            log.warning("project list of %s not refreshed (%s): %s", index.path, kept, error)
            raise

    async def _fetch_and_store(
        self, index: Index, directory: Path, stored: StoredList | None
    ) -> StoredList:
        client = self._upstreams.for_index(index)
        async with client.project_list(stored.etag if stored else None) as result:
            if isinstance(result, ProjectList):
                return await self._store(index, directory, result, stored)
        if stored is None or stored.etag is None:
            raise UpstreamUnavailable(f"upstream {client.url} answered 304 to a plain request")
        kept = dataclasses.replace(
            stored,
            etag=result.etag or stored.etag,
            serial=max(result.serial, stored.serial),
            fetched_at=time.time(),
        )
        await asyncio.to_thread(_write_state, kept)
        return kept

    async def _store(
        self, index: Index, directory: Path, result: ProjectList, previous: StoredList | None
    ) -> StoredList:
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        writer = await asyncio.to_thread(_ListWriter, directory, f"Simple index of {index.path}")
        try:
            async for name in result.names:
                writer.add(name)
            return await asyncio.to_thread(writer.finish, result.etag, result.serial, previous)
        except BaseException:
            writer.abort()
            raise
