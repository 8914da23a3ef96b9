"""The pure parts of ``pkgdepot fsck``: what a row needs, verdicts, sizes; and the blob store's
orphan removal, which must never delete a blob a writer has just reused."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from pathlib import Path

import pytest

from pkgdepot.commands.fsck import count, format_size
from pkgdepot.domain.models import ReleaseFile
from pkgdepot.service.integrity import (
    CHUNK,
    FILE,
    METADATA,
    Need,
    Plan,
    Reference,
    hash_file,
    needs_of,
    verdict,
)
from pkgdepot.storage.blobs_fs import FsBlobStore

WHEEL = "a" * 64
META = "b" * 64
UPLOADED = ReleaseFile(
    index="alice/dev",
    relpath="alice/dev/+f/aaa/aaaaaaaaaaaaa/hello-1.0-py3-none-any.whl",
    project="hello",
    version="1.0",
    filename="hello-1.0-py3-none-any.whl",
    kind="releasefile",
    sha256=WHEEL,
    size=10,
    upload_time=None,
    core_metadata_sha256=META,
)
MIRRORED = dataclasses.replace(UPLOADED, index="root/pypi", url="http://upstream.test/x.whl")


def test_an_upload_needs_its_blob_and_its_core_metadata() -> None:
    assert needs_of(UPLOADED) == [Need(WHEEL, FILE, True, 10), Need(META, METADATA, True, None)]


def test_a_fetched_mirror_file_needs_its_blob_and_only_checks_its_metadata() -> None:
    assert needs_of(MIRRORED) == [Need(WHEEL, FILE, True, 10), Need(META, METADATA, False, None)]


def test_a_mirror_file_not_fetched_needs_no_blob_of_its_own() -> None:
    unfetched = dataclasses.replace(MIRRORED, cached=False)
    assert needs_of(unfetched) == [Need(META, METADATA, False, None)]
    no_digest = dataclasses.replace(unfetched, sha256="", core_metadata_sha256=None)
    assert needs_of(no_digest) == []


def test_verdicts() -> None:
    assert verdict(WHEEL, 10, WHEEL, 10) is None
    assert verdict(WHEEL, None, WHEEL, 99) is None
    assert verdict(WHEEL, 10, WHEEL, 9) == "9 bytes, the database says 10"
    assert verdict(WHEEL, 10, META, 10) == f"its content hashes to sha256 {META}"


def test_a_blob_needed_by_many_rows_is_required_if_any_requires_it() -> None:
    plan = Plan()
    plan.expect(Need(META, METADATA, False, None))
    plan.expect(Need(META, METADATA, True, None))
    plan.expect(Need(META, FILE, False, 7))
    assert plan.expected[META].required
    assert plan.expected[META].size == 7


def test_references_say_what_they_are() -> None:
    file = Reference("alice/dev", "alice/dev/+f/x", "releasefile", FILE, mirrored=False)
    metadata = dataclasses.replace(file, role=METADATA)
    assert file.what == "releasefile"
    assert metadata.what == "releasefile core metadata"


def test_hashing_streams_in_chunks_and_reports_progress(tmp_path: Path) -> None:
    data = os.urandom(2 * CHUNK + 5)
    path = tmp_path / "blob"
    path.write_bytes(data)
    steps: list[int] = []
    assert hash_file(path, steps.append) == (hashlib.sha256(data).hexdigest(), len(data))
    assert steps == [CHUNK, CHUNK, 5]


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1536, "1.5 KiB"),
        (3 * 1024**2, "3.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (2 * 1024**4, "2.0 TiB"),
    ],
)
def test_sizes(size: int, shown: str) -> None:
    assert format_size(size) == shown


def test_counts() -> None:
    assert count(1, "blob") == "1 blob"
    assert count(0, "blob") == "0 blobs"
    assert count(2, "orphaned blob") == "2 orphaned blobs"


# the blob store


def backdate(path: Path, seconds: float = 7200) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_stored_lists_blobs_only(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    first, second = store.put_bytes(b"one"), store.put_bytes(b"two")
    (store.tmpdir / "upload-leftover").write_bytes(b"x")
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "not-a-blob").write_bytes(b"x")
    assert sorted(store.stored()) == sorted([first, second])


def test_discard_deletes_an_old_blob_and_keeps_a_recent_one(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    old, recent = store.put_bytes(b"old"), store.put_bytes(b"recent")
    backdate(store.path(old))
    cutoff = time.time() - 3600
    assert store.discard(old, cutoff)
    assert not store.discard(recent, cutoff)
    assert not store.exists(old)
    assert store.read_bytes(recent) == b"recent"
    assert not store.discard(old, cutoff)  # gone already
    assert list(store.tmpdir.iterdir()) == []


def test_a_blob_reused_by_a_writer_is_kept_with_its_modification_time(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    sha256 = store.put_bytes(b"shared")
    path = store.path(sha256)
    backdate(path)
    written = path.stat().st_mtime
    assert store.put_bytes(b"shared") == sha256  # an upload of the same bytes
    assert path.stat().st_mtime == written  # Last-Modified of the file stays
    assert not store.discard(sha256, time.time() - 3600)
    assert store.read_bytes(sha256) == b"shared"


def test_a_writer_finding_its_blob_discarded_stores_its_own_copy(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path)
    sha256 = store.put_bytes(b"again")
    backdate(store.path(sha256))
    writer = store.writer()
    writer.write(b"again")
    assert store.discard(sha256, time.time() - 3600)  # between the write and the commit
    assert writer.commit(sha256) == sha256
    assert store.read_bytes(sha256) == b"again"


def test_set_aside_moves_a_blob_out_of_service(tmp_path: Path) -> None:
    store = FsBlobStore(tmp_path / "blobs")
    sha256 = store.put_bytes(b"bad")
    quarantine = tmp_path / "quarantine"
    first = store.set_aside(sha256, quarantine)
    assert first is not None
    assert first.read_bytes() == b"bad"
    assert not store.exists(sha256)
    assert store.set_aside(sha256, quarantine) is None
    store.put_bytes(b"bad")
    second = store.set_aside(sha256, quarantine)
    assert second is not None
    assert second != first
    assert sorted(p.name for p in quarantine.iterdir()) == sorted([first.name, second.name])
