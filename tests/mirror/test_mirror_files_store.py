"""MirrorFiles on a real metadata store and blob directory, against a fake upstream over HTTP.

Rows are put the way a page sync puts them (``Transaction.replace_mirror_links``); no server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from pkgdepot.domain.models import Index, ReleaseFile, User
from pkgdepot.errors import NotFound, UpstreamUnavailable
from pkgdepot.mirror.clients import UpstreamClients
from pkgdepot.mirror.files import MirrorFiles
from pkgdepot.mirror.links import to_release_file
from pkgdepot.mirror.parse import UpstreamLink
from pkgdepot.storage.blobs_fs import FsBlobStore
from pkgdepot.storage.meta import MetaStore
from tests.contract.conftest import open_migrated_store
from tests.support.fake_pages import FakeFile
from tests.support.fake_upstream import FakeUpstream, Fault, running

pytestmark = pytest.mark.timeout(60)
_T = TypeVar("_T")


@dataclasses.dataclass
class Setup:
    store: MetaStore
    blobs: FsBlobStore
    index: Index
    upstream: FakeUpstream
    workdir: Path

    @contextlib.asynccontextmanager
    async def files(self, offline: bool = False) -> AsyncIterator[MirrorFiles]:
        """A MirrorFiles as one worker process has it, with its own upstream clients."""
        clients = UpstreamClients(timeout=2.0, retries=0)
        try:
            yield MirrorFiles(self.store, self.blobs, clients, self.workdir, offline=offline)
        finally:
            await clients.aclose()

    def run(self, use: Callable[[MirrorFiles], Awaitable[_T]], offline: bool = False) -> _T:
        async def main() -> _T:
            async with self.files(offline) as files:
                return await use(files)

        return asyncio.run(main())

    def put(self, fake: FakeFile, project: str = "pkg", **link: object) -> ReleaseFile:
        """The row a page sync would write for ``fake``; ``link`` overrides what it announces."""
        metadata = fake.metadata
        announced: dict[str, object] = {
            "filename": fake.filename,
            "url": f"{self.upstream.base}/files/{fake.filename}",
            "hashes": {"sha256": fake.sha256},
            "size": fake.size,
            "core_metadata": {"sha256": hashlib.sha256(metadata).hexdigest()}
            if metadata
            else False,
            **link,
        }
        row = to_release_file(self.index.path, project, UpstreamLink(**announced))  # type: ignore[arg-type]
        assert row is not None
        with self.store.transaction(None) as tx:
            tx.replace_mirror_links(self.index, project, [row])
        return row

    def row(self, file: ReleaseFile) -> ReleaseFile:
        found = self.store.get_file(self.index, file.relpath)
        assert found is not None
        return found

    def blob_names(self) -> list[str]:
        return sorted(p.name for p in self.blobs.root.glob("??/??/*"))


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    store = open_migrated_store(tmp_path)
    with store.transaction("root") as tx:
        tx.put_user(User("root", None, {}, "t0", "t0"))
        tx.put_index("root", "mirror", "mirror", {"mirror_url": "http://127.0.0.1:9/simple/"})
    index = store.all_indexes()["root/mirror"]
    with running("json") as upstream:
        yield Setup(store, FsBlobStore(tmp_path / "+blobs"), index, upstream, tmp_path / "work")
    store.close()


async def read_all(files: MirrorFiles, index: Index, file: ReleaseFile) -> bytes:
    streaming = await files.stream(index, file)
    assert streaming is not None
    body = bytearray(streaming.first)
    async for chunk in streaming.rest:
        body += chunk
    return bytes(body)


def fetch(setup: Setup, file: ReleaseFile, offline: bool = False) -> bytes:
    return setup.run(lambda files: read_all(files, setup.index, file), offline)


def test_first_fetch_stores_the_blob_and_marks_the_row(setup: Setup) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(wheel)
    assert not row.cached
    assert fetch(setup, row) == wheel.data
    stored = setup.row(row)
    assert stored.cached
    assert (stored.sha256, stored.size) == (wheel.sha256, len(wheel.data))
    assert setup.blobs.read_bytes(wheel.sha256) == wheel.data
    assert setup.upstream.downloads_of(wheel.filename) == 1
    assert list(setup.workdir.iterdir()) == []  # no lock or part file left behind


def test_a_stored_file_needs_no_download(setup: Setup) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(wheel)
    fetch(setup, row)
    again = setup.run(lambda files: files.stream(setup.index, setup.row(row)))
    assert again is None  # the caller serves it from disk
    assert setup.upstream.downloads_of(wheel.filename) == 1


def test_concurrent_requests_share_one_download(setup: Setup) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(wheel)
    setup.upstream.file_delay = 0.1

    async def many(files: MirrorFiles) -> list[bytes]:
        return await asyncio.gather(*(read_all(files, setup.index, row) for _ in range(10)))

    assert setup.run(many) == [wheel.data] * 10
    assert setup.upstream.downloads_of(wheel.filename) == 1


def test_two_processes_worth_of_instances_share_one_download(setup: Setup) -> None:
    """Separate MirrorFiles share nothing in memory: only the lock and part files."""
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(wheel)
    setup.upstream.file_delay = 0.1

    async def both() -> tuple[bytes, bytes]:
        async with setup.files() as a, setup.files() as b:
            return await asyncio.gather(
                read_all(a, setup.index, row), read_all(b, setup.index, row)
            )

    assert list(asyncio.run(both())) == [wheel.data, wheel.data]
    assert setup.upstream.downloads_of(wheel.filename) == 1


@pytest.mark.parametrize("fault", [Fault.TRUNCATED, Fault.ERROR_500, Fault.DOWN])
def test_a_failed_download_stores_nothing(setup: Setup, fault: Fault) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(wheel)
    setup.upstream.set_fault(fault)
    with pytest.raises(UpstreamUnavailable):
        fetch(setup, row)
    assert not setup.row(row).cached
    assert setup.blob_names() == []
    assert list(setup.blobs.tmpdir.iterdir()) == []
    setup.upstream.set_fault(None)
    assert fetch(setup, row) == wheel.data
    assert setup.row(row).cached


def test_bytes_that_do_not_match_the_announced_hash_are_not_stored(setup: Setup) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(wheel, hashes={"sha256": "0" * 64})
    with pytest.raises(UpstreamUnavailable, match="sha256"):
        fetch(setup, row)
    assert not setup.row(row).cached
    assert setup.blob_names() == []


def test_a_wrong_size_is_not_stored(setup: Setup) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(wheel, size=len(wheel.data) + 1)
    with pytest.raises(UpstreamUnavailable, match="bytes"):
        fetch(setup, row)
    assert not setup.row(row).cached
    assert setup.blob_names() == []


def test_upstream_404_is_not_found(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    row = setup.put(FakeFile("pkg-1.0.tar.gz", b"never served"))
    with caplog.at_level(logging.WARNING, logger="pkgdepot.mirror"), pytest.raises(NotFound):
        fetch(setup, row)
    (record,) = caplog.records
    assert "pkg-1.0.tar.gz" in record.getMessage()


def test_a_file_without_announced_hash_gets_its_hash_when_fetched(setup: Setup) -> None:
    _, sdist = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(sdist, hashes={}, size=None)
    assert "/+e/" in row.relpath
    assert fetch(setup, row) == sdist.data
    stored = setup.row(row)
    assert (stored.cached, stored.sha256, stored.size) == (True, sdist.sha256, len(sdist.data))


def test_a_missing_blob_is_fetched_again_without_a_new_serial(setup: Setup) -> None:
    _, sdist = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(sdist)
    fetch(setup, row)
    serial = setup.store.serial.get()
    setup.blobs.path(sdist.sha256).unlink()
    assert fetch(setup, setup.row(row)) == sdist.data
    assert setup.blobs.read_bytes(sdist.sha256) == sdist.data
    assert setup.store.serial.get() == serial
    assert setup.upstream.downloads_of(sdist.filename) == 2


def test_fetching_a_wheel_stores_its_metadata(setup: Setup) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    assert wheel.metadata is not None
    row = setup.put(wheel, core_metadata=False)  # the page announced none
    assert row.core_metadata_sha256 is None
    fetch(setup, row)
    metadata_sha256 = hashlib.sha256(wheel.metadata).hexdigest()
    assert setup.row(row).core_metadata_sha256 == metadata_sha256
    assert setup.blobs.read_bytes(metadata_sha256) == wheel.metadata


def test_announced_metadata_comes_from_the_upstream(setup: Setup) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    assert wheel.metadata is not None
    row = setup.put(wheel)
    setup.run(lambda files: files.fetch_metadata(setup.index, row))
    assert setup.blobs.read_bytes(hashlib.sha256(wheel.metadata).hexdigest()) == wheel.metadata
    assert setup.upstream.downloads_of(wheel.filename + ".metadata") == 1
    assert setup.upstream.downloads_of(wheel.filename) == 0
    assert not setup.row(row).cached


def test_metadata_the_upstream_lacks_is_extracted_from_the_wheel(setup: Setup) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    assert wheel.metadata is not None
    row = setup.put(wheel, core_metadata=False)
    setup.run(lambda files: files.fetch_metadata(setup.index, row))
    stored = setup.row(row)
    assert stored.cached
    assert stored.core_metadata_sha256 is not None
    assert setup.blobs.read_bytes(stored.core_metadata_sha256) == wheel.metadata
    assert setup.upstream.downloads_of(wheel.filename + ".metadata") == 0


def test_offline_mode_refuses_to_fetch(setup: Setup) -> None:
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(wheel)
    with pytest.raises(UpstreamUnavailable, match="offline mode"):
        fetch(setup, row, offline=True)
    assert setup.upstream.requests == []


def test_a_killed_leaders_leftovers_are_never_served(setup: Setup) -> None:
    """A leader killed mid-download leaves a lock file (not held) and a part link to a partial
    file: the next request leads a fresh download and removes them."""
    wheel, _ = setup.upstream.add_release("pkg", "1.0")
    row = setup.put(wheel)
    setup.workdir.mkdir()
    partial = setup.blobs.tmpdir / "upload-killed"
    partial.write_bytes(wheel.data[:10])
    key = hashlib.sha256(row.relpath.encode()).hexdigest()[:40]
    (setup.workdir / f"{key}.lock").touch()
    (setup.workdir / f"{key}.part").symlink_to(partial)
    assert fetch(setup, row) == wheel.data
    assert not partial.exists()
    assert list(setup.workdir.iterdir()) == []


def test_a_follower_in_another_process_fails_with_its_leader(setup: Setup) -> None:
    """The follower cannot ask the leader's task: the database tells it nothing was stored."""
    big = FakeFile.generated("pkg-1.0.tar.gz", 3 * 1024 * 1024)
    setup.upstream.add_file("pkg", big)
    row = setup.put(big, hashes={"sha256": "0" * 64})

    async def both() -> tuple[bytes | BaseException, bytes | BaseException]:
        async with setup.files() as a, setup.files() as b:
            leader = asyncio.create_task(read_all(a, setup.index, row))
            for _ in range(10_000):  # until the leader's part file is there
                if list(setup.workdir.glob("*.part")):
                    break
                await asyncio.sleep(0.001)
            follower = asyncio.create_task(read_all(b, setup.index, row))
            return await asyncio.gather(leader, follower, return_exceptions=True)

    leader, follower = setup.run(lambda _: both())
    assert isinstance(leader, UpstreamUnavailable)
    assert isinstance(follower, UpstreamUnavailable)
    assert "failed" in str(follower)
    assert setup.upstream.downloads_of(big.filename) == 1
    assert setup.blob_names() == []
