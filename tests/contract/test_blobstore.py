"""FsBlobStore: content-addressed, invisible until committed, nothing left behind on failure."""

from __future__ import annotations

import hashlib
import os

import pytest

from pkgdepot.errors import InvalidInput
from pkgdepot.storage.blobs_fs import FsBlobStore


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_files(blobs: FsBlobStore) -> list[str]:
    return sorted(
        str(path.relative_to(blobs.root))
        for path in blobs.root.rglob("*")
        if path.is_file() and path.parent != blobs.tmpdir
    )


def test_put_bytes_stores_by_sha256(blobs: FsBlobStore) -> None:
    data = b"hello blob"
    digest = blobs.put_bytes(data)
    assert digest == sha(data)
    assert blobs.path(digest) == blobs.root / digest[:2] / digest[2:4] / digest
    assert blobs.exists(digest)
    assert blobs.read_bytes(digest) == data
    assert list(blobs.tmpdir.iterdir()) == []


def test_same_content_is_stored_once(blobs: FsBlobStore) -> None:
    first = blobs.put_bytes(b"same")
    second = blobs.put_bytes(b"same")
    assert first == second
    assert stored_files(blobs) == [f"{first[:2]}/{first[2:4]}/{first}"]
    assert list(blobs.tmpdir.iterdir()) == []


def test_a_blob_is_invisible_until_committed(blobs: FsBlobStore) -> None:
    writer = blobs.writer()
    for _ in range(4):
        writer.write(b"x" * 1000)
    digest = sha(b"x" * 4000)
    assert not blobs.exists(digest)
    assert stored_files(blobs) == []
    staged = writer.staged_path()
    assert staged.parent == blobs.tmpdir
    assert staged.read_bytes() == b"x" * 4000
    assert writer.commit() == digest
    assert blobs.read_bytes(digest) == b"x" * 4000
    assert writer.digests.size == 4000
    assert writer.digests.md5.hexdigest() == hashlib.md5(b"x" * 4000).hexdigest()  # noqa: S324
    assert list(blobs.tmpdir.iterdir()) == []


def test_committed_blob_is_readable_by_others(blobs: FsBlobStore) -> None:
    digest = blobs.put_bytes(b"public")
    assert os.stat(blobs.path(digest)).st_mode & 0o777 == 0o644


def test_hash_mismatch_is_refused_and_nothing_is_kept(blobs: FsBlobStore) -> None:
    writer = blobs.writer()
    writer.write(b"content")
    with pytest.raises(InvalidInput, match="sha256 mismatch"):
        writer.commit(expected_sha256="0" * 64)
    assert not blobs.exists(sha(b"content"))
    assert stored_files(blobs) == []
    assert list(blobs.tmpdir.iterdir()) == []


def test_expected_hash_that_matches_is_accepted(blobs: FsBlobStore) -> None:
    writer = blobs.writer()
    writer.write(b"content")
    assert writer.commit(expected_sha256=sha(b"content")) == sha(b"content")


def test_abort_removes_the_temporary_file(blobs: FsBlobStore) -> None:
    writer = blobs.writer()
    writer.write(b"half an upload")
    writer.abort()
    writer.abort()  # harmless twice
    assert list(blobs.tmpdir.iterdir()) == []
    assert stored_files(blobs) == []


def test_abort_after_commit_keeps_the_blob(blobs: FsBlobStore) -> None:
    writer = blobs.writer()
    writer.write(b"kept")
    digest = writer.commit()
    writer.abort()
    assert blobs.read_bytes(digest) == b"kept"


def test_start_up_cleaning_removes_what_interrupted_writes_left(blobs: FsBlobStore) -> None:
    digest = blobs.put_bytes(b"kept")
    writer = blobs.writer()
    writer.write(b"interrupted")  # as if the process had been killed here
    (blobs.tmpdir / "upload-stray").write_bytes(b"stray")
    blobs.clean_temporary()
    assert list(blobs.tmpdir.iterdir()) == []
    assert blobs.read_bytes(digest) == b"kept"
    writer.abort()  # only closes the file: the process is "gone"


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "a" * 63, "g" * 64, ""])
def test_path_refuses_anything_but_a_sha256(blobs: FsBlobStore, bad: str) -> None:
    with pytest.raises(ValueError, match="not a sha256"):
        blobs.path(bad)
