"""Mirrored files: fetched on first request, streamed while stored, one download at a time.

A mirrored file is a row of the ``files`` table with the upstream ``url``. Its bytes are
fetched when first asked for: one request (of any worker) downloads them into a blob writer,
every request for the file streams them from that growing file (``flight.py``), and the blob
and the row are committed only when the sha256 and size match what the upstream page
announced. A client's last chunk is held back until its own copy is known to be the committed
one, so a failed download can only ever leave a client with a broken body.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from collections.abc import AsyncGenerator
from pathlib import Path

from pkgdepot import archives
from pkgdepot.domain.models import Index, ReleaseFile
from pkgdepot.errors import InvalidInput, NotFound, PkgdepotError, UpstreamUnavailable
from pkgdepot.mirror import metrics
from pkgdepot.mirror.clients import UpstreamClients
from pkgdepot.mirror.flight import Flights, Follower, PartWriter
from pkgdepot.mirror.upstream import Downloaded, UpstreamNotFound
from pkgdepot.storage.blobs import BlobStore, BlobWriter
from pkgdepot.storage.meta import MetaStore

log = logging.getLogger("pkgdepot.mirror")

METADATA_SUFFIX = ".metadata"
MAX_METADATA_SIZE = 16 * 1024 * 1024


@dataclasses.dataclass
class Streaming:
    """A mirrored file on its way: ``first`` is ready, ``rest`` raises if the download fails."""

    first: bytes
    rest: AsyncGenerator[bytes, None]
    size: int | None


def _key(file: ReleaseFile) -> str:
    return hashlib.sha256(file.relpath.encode()).hexdigest()[:40]


class MirrorFiles:
    def __init__(
        self,
        store: MetaStore,
        blobs: BlobStore,
        upstreams: UpstreamClients,
        workdir: Path,
        *,
        offline: bool,
        stall_timeout: float = 60.0,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._upstreams = upstreams
        self._flights = Flights(workdir, blobs, stall_timeout=stall_timeout)
        self.offline = offline

    def check_online(self, file: ReleaseFile) -> None:
        if self.offline:
            raise UpstreamUnavailable(
                f"the server is in offline mode and {file.filename} is not cached here"
            )

    # the file

    async def stream(self, index: Index, file: ReleaseFile) -> Streaming | None:
        """The bytes of a mirrored file that is not here, as they arrive from the upstream.

        None when the file got stored meanwhile: serve it from disk. Errors before the first
        chunk are raised here: 404 when the upstream has no such file, else 502.
        """
        self.check_online(file)
        follower = await self._flights.follow(
            _key(file),
            lambda part: self._download(index, file, part),
            lambda: asyncio.to_thread(self._missing, index, file),
        )
        if follower is None:
            return None
        chunks = self._checked(index, file, follower)
        try:
            first = await anext(chunks, b"")
        except BaseException:
            await chunks.aclose()
            raise
        return Streaming(first, chunks, file.size)

    def _missing(self, index: Index, file: ReleaseFile) -> bool:
        row = self._store.get_file(index, file.relpath)
        return row is not None and not (row.cached and self._stored(row.sha256))

    def _stored(self, sha256: str) -> bool:
        return bool(sha256) and self._blobs.exists(sha256)

    async def _checked(
        self, index: Index, file: ReleaseFile, follower: Follower
    ) -> AsyncGenerator[bytes, None]:
        """The follower's chunks, the last one only once the database says they were stored."""
        try:
            held = b""
            async for chunk in follower.chunks():
                if held:
                    yield held
                held = chunk
            row = await asyncio.to_thread(self._store.get_file, index, file.relpath)
            if (
                row is None
                or not row.cached
                or (row.sha256, row.size)
                != (
                    follower.sha256,
                    follower.size,
                )
            ):
                raise UpstreamUnavailable(f"the download of {file.filename} failed")
            if held:
                yield held
        finally:
            follower.close()

    async def _download(self, index: Index, file: ReleaseFile, part: PartWriter) -> None:
        """The leader's work: download, verify, store the blob, mark the row fetched."""
        assert file.url is not None
        client = self._upstreams.for_index(index)
        try:
            with metrics.fetching(index.path, metrics.FILE):
                result = await client.download_file(
                    file.url, part.write, sha256=file.sha256 or None, size=file.size
                )
            if isinstance(result, UpstreamNotFound):
                raise NotFound(f"the upstream has no file {file.filename} (HTTP 404)")
            await part.flush()
            await asyncio.to_thread(self._commit, index, file, part.blob, result)
        except PkgdepotError as error:
            log.warning("%s: download of %s failed: %s", index.path, file.filename, error.message)
            raise

    def _commit(
        self, index: Index, file: ReleaseFile, blob: BlobWriter, result: Downloaded
    ) -> None:
        sha256 = blob.commit(result.sha256)
        metadata = self._metadata_from_wheel(file, self._blobs.path(sha256))
        known = (file.cached, file.sha256, file.size, file.core_metadata_sha256)
        if known == (True, sha256, result.size, metadata):
            return  # its blob was missing on disk; the row already says all this
        with self._store.transaction(None) as tx:
            tx.mark_fetched(index, file.relpath, sha256, result.size, metadata)

    def _metadata_from_wheel(self, file: ReleaseFile, path: Path) -> str | None:
        """Store a fetched wheel's core metadata; the sha256 the row should advertise.

        Extracted metadata that differs from what the upstream announced is not stored: the
        upstream's own ``.metadata`` file is fetched when a client asks for it.
        """
        announced = file.core_metadata_sha256
        if not file.filename.endswith(".whl"):
            return announced
        try:
            raw = archives.extract_core_metadata(path, file.filename)
        except InvalidInput as error:
            log.warning("no core metadata from %s: %s", file.filename, error.message)
            return announced
        if raw is None:
            return announced
        sha256 = hashlib.sha256(raw).hexdigest()
        if announced and announced != sha256:
            return announced
        self._blobs.put_bytes(raw)
        return sha256

    # its PEP 658 core metadata

    async def fetch_metadata(self, index: Index, file: ReleaseFile) -> None:
        """Make a mirrored file's core metadata available here.

        From the upstream when its page announced one with a sha256, else extracted from the
        wheel, which is fetched first if need be.
        """
        announced = file.core_metadata_sha256 or ""
        if await asyncio.to_thread(self._stored, announced):
            return
        if not announced and not file.filename.endswith(".whl"):
            raise NotFound(f"{file.filename} has no core metadata file: only wheels have one")
        self.check_online(file)
        if announced and await self._fetch_upstream_metadata(index, file, announced):
            return
        if not file.filename.endswith(".whl"):
            raise NotFound(f"the upstream has no core metadata file for {file.filename}")
        if not (file.cached and await asyncio.to_thread(self._stored, file.sha256)):
            streaming = await self.stream(index, file)
            if streaming is not None:
                async for _ in streaming.rest:
                    pass
        await asyncio.to_thread(self._extract_metadata, index, file.relpath)

    async def _fetch_upstream_metadata(self, index: Index, file: ReleaseFile, sha256: str) -> bool:
        """False when the upstream has no ``.metadata`` file for ``file``."""
        assert file.url is not None
        url = file.url + METADATA_SUFFIX
        body = bytearray()

        async def write(chunk: bytes) -> None:
            body.extend(chunk)
            if len(body) > MAX_METADATA_SIZE:
                raise UpstreamUnavailable(f"{url} is larger than {MAX_METADATA_SIZE} bytes")

        client = self._upstreams.for_index(index)
        try:
            with metrics.fetching(index.path, metrics.FILE):
                result = await client.download_file(url, write, sha256=sha256)
        except PkgdepotError as error:
            log.warning("%s: download of %s failed: %s", index.path, url, error.message)
            raise
        if isinstance(result, UpstreamNotFound):
            return False
        await asyncio.to_thread(self._blobs.put_bytes, bytes(body))
        return True

    def _extract_metadata(self, index: Index, relpath: str) -> None:
        row = self._store.get_file(index, relpath)
        if row is None or not row.cached:
            raise NotFound(f"no file {relpath}")
        metadata = row.core_metadata_sha256
        if metadata and self._blobs.exists(metadata):
            return  # stored when the wheel was fetched
        try:
            raw = archives.extract_core_metadata(self._blobs.path(row.sha256), row.filename)
        except InvalidInput as error:
            raise NotFound(f"no core metadata in {row.filename}: {error.message}") from None
        if raw is None:
            raise NotFound(f"no core metadata in {row.filename}")
        sha256 = self._blobs.put_bytes(raw)
        if sha256 != metadata:
            with self._store.transaction(None) as tx:
                tx.mark_fetched(index, relpath, row.sha256, row.size or 0, sha256)
