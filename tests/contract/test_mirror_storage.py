"""Mirrored links in the store: written only when they change, fetched files kept, page state."""

from __future__ import annotations

import dataclasses

import pytest

from pkgdepot.domain.models import Index, MirrorPageState, ReleaseFile, User
from pkgdepot.mirror.links import to_release_file
from pkgdepot.mirror.parse import UpstreamLink
from pkgdepot.storage.meta import MetaStore

SHA_A = "a" * 64
SHA_B = "b" * 64
BASE = "http://127.0.0.1:9/files/"


@pytest.fixture
def mirror(store: MetaStore) -> Index:
    with store.transaction("root") as tx:
        tx.put_user(User(name="root", pwhash=None, config={}, created="t", modified="t"))
        tx.put_index("root", "pypi", "mirror", {"mirror_url": "http://127.0.0.1:9/simple/"})
    return store.all_indexes()["root/pypi"]


def link(filename: str, sha256: str | None = SHA_A, **facts: object) -> UpstreamLink:
    hashes = {"sha256": sha256} if sha256 else {}
    return UpstreamLink(filename=filename, url=BASE + filename, hashes=hashes, **facts)  # type: ignore[arg-type]


def stored(mirror: Index, *links: UpstreamLink) -> list[ReleaseFile]:
    files = [to_release_file(mirror.path, "pkg", item) for item in links]
    return [file for file in files if file is not None]


def replace(store: MetaStore, mirror: Index, files: list[ReleaseFile]) -> bool:
    with store.transaction(None) as tx:
        return tx.replace_mirror_links(mirror, "pkg", files)


def test_a_link_becomes_an_unfetched_file_row(store: MetaStore, mirror: Index) -> None:
    when = "2024-01-01T00:00:00Z"
    files = stored(
        mirror,
        link("pkg-1.0.tar.gz", requires_python=">=3.9", size=10, upload_time=when),
        link("pkg-1.0-py3-none-any.whl", SHA_B, yanked=True, yanked_reason="broken",
             core_metadata={"sha256": "c" * 64}),
        link("pkg-2.0.zip", None),
        link("other-1.0.tar.gz"),  # not a file of pkg
    )  # fmt: skip
    assert replace(store, mirror, files)
    rows = {f.filename: f for f in store.files_of_project(mirror, "pkg")}
    assert set(rows) == {"pkg-1.0.tar.gz", "pkg-1.0-py3-none-any.whl", "pkg-2.0.zip"}
    sdist = rows["pkg-1.0.tar.gz"]
    assert sdist.relpath == f"root/pypi/+f/aaa/{'a' * 13}/pkg-1.0.tar.gz"
    assert (sdist.version, sdist.size, sdist.requires_python) == ("1.0", 10, ">=3.9")
    assert (sdist.cached, sdist.url) == (False, BASE + "pkg-1.0.tar.gz")
    wheel = rows["pkg-1.0-py3-none-any.whl"]
    assert (wheel.yanked, wheel.core_metadata_sha256) == ("broken", "c" * 64)
    unhashed = rows["pkg-2.0.zip"]
    assert "/+e/" in unhashed.relpath
    assert (unhashed.sha256, unhashed.size) == ("", None)
    assert store.indexes_having("pkg", [mirror.id]) == {mirror.id}


def test_the_same_links_again_write_nothing(store: MetaStore, mirror: Index) -> None:
    files = stored(mirror, link("pkg-1.0.tar.gz"))
    assert replace(store, mirror, files)
    serial = store.serial.get()
    assert not replace(store, mirror, files)
    assert store.serial.get() == serial


def test_changed_and_removed_links_are_written(store: MetaStore, mirror: Index) -> None:
    replace(store, mirror, stored(mirror, link("pkg-1.0.tar.gz"), link("pkg-2.0.tar.gz", SHA_B)))
    serial = store.serial.get()
    assert replace(store, mirror, stored(mirror, link("pkg-1.0.tar.gz", yanked=True)))
    assert store.serial.get() == serial + 1
    rows = store.files_of_project(mirror, "pkg")
    assert [(f.filename, f.yanked) for f in rows] == [("pkg-1.0.tar.gz", "")]
    assert store.project_serials("pkg", [mirror.id]) == {mirror.id: serial + 1}


def test_a_project_without_files_still_exists(store: MetaStore, mirror: Index) -> None:
    assert replace(store, mirror, [])
    assert store.indexes_having("pkg", [mirror.id]) == {mirror.id}


def test_a_fetched_file_stays_fetched_and_keeps_its_bytes(store: MetaStore, mirror: Index) -> None:
    (file,) = stored(mirror, link("pkg-1.0-py3-none-any.whl"))
    replace(store, mirror, [file])
    with store.transaction(None) as tx:
        fetched = tx.mark_fetched(mirror, file.relpath, SHA_A, 123, "d" * 64)
    assert fetched is not None
    assert fetched.cached
    assert [f.cached for f in store.files_of_project(mirror, "pkg")] == [True]
    # the upstream page changes something else about the file: still fetched, metadata kept
    replace(store, mirror, stored(mirror, link("pkg-1.0-py3-none-any.whl", yanked=True)))
    (row,) = store.files_of_project(mirror, "pkg")
    assert (row.cached, row.size, row.yanked, row.core_metadata_sha256) == (
        True, 123, "", "d" * 64,
    )  # fmt: skip
    # the upstream announces other bytes under the same name: the verified file stays
    assert not replace(store, mirror, stored(mirror, link("pkg-1.0-py3-none-any.whl", SHA_B)))
    (row,) = store.files_of_project(mirror, "pkg")
    assert (row.sha256, row.cached) == (SHA_A, True)


def test_cached_only_links_leave_out_unfetched_files(store: MetaStore, mirror: Index) -> None:
    files = stored(mirror, link("pkg-1.0.tar.gz"), link("pkg-2.0.tar.gz", SHA_B))
    replace(store, mirror, files)
    with store.transaction(None) as tx:
        tx.mark_fetched(mirror, files[1].relpath, SHA_B, 5, None)
    all_links = store.links_of_project(mirror.id, "pkg", "html")
    cached = store.links_of_project(mirror.id, "pkg", "json", cached_only=True)
    assert sorted(name for name, _, _ in all_links) == ["pkg-1.0.tar.gz", "pkg-2.0.tar.gz"]
    assert [name for name, _, _ in cached] == ["pkg-2.0.tar.gz"]


def test_mark_fetched_of_a_vanished_row_is_none(store: MetaStore, mirror: Index) -> None:
    with store.transaction(None) as tx:
        assert tx.mark_fetched(mirror, "root/pypi/+f/aaa/x/pkg-1.0.tar.gz", SHA_A, 1, None) is None


def test_page_state_is_remembered_without_a_serial(store: MetaStore, mirror: Index) -> None:
    assert store.mirror_page(mirror.id, "pkg") is None
    serial = store.serial.get()
    state = MirrorPageState(found=True, etag='"e1"', upstream_serial=42, fetched_at=1000.5)
    store.record_mirror_page(mirror.id, "pkg", state)
    assert store.mirror_page(mirror.id, "pkg") == state
    newer = dataclasses.replace(state, found=False, etag=None, upstream_serial=-1)
    store.record_mirror_page(mirror.id, "pkg", newer)
    assert store.mirror_page(mirror.id, "pkg") == newer
    assert store.serial.get() == serial
    with store.transaction(None) as tx:  # a delete on the mirror forgets the page with it
        tx.delete_project(mirror.id, mirror.path, "pkg")
        tx.forget_mirror_page(mirror.id, "pkg")
    assert store.mirror_page(mirror.id, "pkg") is None
