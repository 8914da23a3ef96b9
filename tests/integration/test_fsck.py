"""``pkgdepot fsck`` on the server directory of a running server: damage found, repaired where
it can be, orphans and stale doc trees found and removed."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from pkgdepot.app import open_store
from pkgdepot.domain.models import ReleaseFile
from pkgdepot.serverdir import ServerDir
from tests.mirror.mirrored import Mirror
from tests.support.client import Api, basic
from tests.support.doczips import make_zip
from tests.support.fake_upstream import FakeUpstream, Fault, running
from tests.support.server import ServerProcess
from tests.support.stages import sdist, upload, wheel

pytestmark = pytest.mark.timeout(180)

INDEX = "alice/dev"
ALICE = basic("alice", "secret")
TWO_HOURS_AGO = time.time() - 7200


def pkgdepot(*args: str, **options: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "pkgdepot", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        **options,
    )


def fsck(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return pkgdepot("fsck", "--serverdir", str(server.serverdir), *args)


def rows(server: ServerProcess) -> dict[str, ReleaseFile]:
    """filename -> its row, in every index."""
    store = open_store(ServerDir(server.serverdir))
    try:
        return {row.filename: row for row in store.iter_files()}
    finally:
        store.close()


def blob(server: ServerProcess, sha256: str) -> Path:
    return ServerDir(server.serverdir).blobs / sha256[:2] / sha256[2:4] / sha256


def flip_a_byte(path: Path) -> bytes:
    """Corrupt a file in place, keeping its size; returns the corrupt bytes."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return bytes(data)


def quarantined(server: ServerProcess) -> list[Path]:
    folder = ServerDir(server.serverdir).quarantine
    return sorted(folder.iterdir()) if folder.exists() else []


def serial(api: Api) -> str:
    return api.http.get("/+api").headers["x-devpi-serial"]


@dataclasses.dataclass
class Depot:
    server: ServerProcess
    api: Api

    def upload(self, built: tuple[str, bytes]) -> ReleaseFile:
        upload(self.api, INDEX, built)
        return rows(self.server)[built[0]]

    def get(self, relpath: str) -> httpx.Response:
        return self.api.http.get("/" + relpath, headers={"Accept": "*/*"})


@pytest.fixture
def depot(start_server: Callable[..., ServerProcess]) -> Iterator[Depot]:
    server = start_server()
    api = Api(server.url)
    api.create_user("alice")
    api.create_index(INDEX)
    yield Depot(server, api)
    api.close()


def upload_docs(depot: Depot, name: str, version: str) -> None:
    form = {":action": "doc_upload", "name": name, "version": version}
    data = make_zip([("index.html", b"<h1>docs</h1>")])
    files = {"content": (f"{name}-{version}.doc.zip", data)}
    reply = depot.api.http.post(f"/{INDEX}/", data=form, files=files, headers=ALICE)
    assert reply.status_code == 200, reply.text


def test_a_healthy_server_directory_passes_and_nothing_changes(depot: Depot) -> None:
    built = wheel("hello", "1.0")
    released = depot.upload(built)
    depot.upload(sdist("hello", "1.0"))
    upload_docs(depot, "hello", "1.0")
    report = depot.api.http.post(
        "/" + released.relpath, content=b'{"ok": 1}', headers={"Content-Type": "application/json"}
    )
    assert report.status_code == 200, report.text
    before = serial(depot.api)
    result = fsck(depot.server)
    assert result.returncode == 0, result.stdout + result.stderr
    # the wheel, its core metadata, the sdist, the doc zip and the tox result
    assert "Checked 4 files: 5 blobs" in result.stdout
    assert "No damage found." in result.stdout
    assert result.stderr == ""
    assert serial(depot.api) == before
    assert depot.get(released.relpath).content == built[1]


def test_a_terminal_sees_a_progress_bar_with_byte_counts(depot: Depot) -> None:
    depot.upload(wheel("hello", "1.0", payload=os.urandom(3 * 1024 * 1024)))
    controller, terminal = pty.openpty()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
        command = [sys.executable, "-m", "pkgdepot", "fsck", "--serverdir"]
        process = subprocess.run(
            [*command, str(depot.server.serverdir)],
            stdout=subprocess.PIPE,
            stderr=terminal,
            env=env,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the other end is closed and everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert process.returncode == 0
    assert b"No damage found." in process.stdout
    assert b"Checking" in shown
    assert b"3.0 MiB of 3.0 MiB" in shown


def test_a_corrupt_and_a_deleted_blob_are_listed_with_index_path_and_reason(
    depot: Depot,
) -> None:
    corrupt = depot.upload(wheel("first", "1.0"))
    deleted = depot.upload(sdist("second", "1.0"))
    third = sdist("third", "1.0")
    shortened = depot.upload(third)
    healthy = depot.upload(sdist("fourth", "1.0"))
    corrupt_bytes = flip_a_byte(blob(depot.server, corrupt.sha256))
    blob(depot.server, deleted.sha256).unlink()
    path = blob(depot.server, shortened.sha256)
    path.write_bytes(path.read_bytes()[:-5])
    before = serial(depot.api)

    result = fsck(depot.server)

    assert result.returncode == 1, result.stdout
    out = result.stdout
    actual = hashlib.sha256(corrupt_bytes).hexdigest()
    assert f"CORRUPT  {INDEX}  {corrupt.relpath} (releasefile)" in out
    assert f"its content hashes to sha256 {actual}" in out
    assert f"MISSING  {INDEX}  {deleted.relpath} (releasefile)" in out
    assert f"no stored copy of blob {deleted.sha256}" in out
    assert f"CORRUPT  {INDEX}  {shortened.relpath} (releasefile)" in out
    size = len(third[1])
    assert f"{size - 5} bytes, the database says {size}" in out
    assert healthy.relpath not in out
    assert "3 damaged blobs; --repair repairs what can be repaired." in out
    assert serial(depot.api) == before
    assert quarantined(depot.server) == []


def test_repair_takes_corrupt_uploads_out_of_service_and_says_they_are_lost(
    depot: Depot,
) -> None:
    corrupt = depot.upload(sdist("first", "1.0"))
    deleted = depot.upload(sdist("second", "1.0"))
    corrupt_bytes = flip_a_byte(blob(depot.server, corrupt.sha256))
    blob(depot.server, deleted.sha256).unlink()

    result = fsck(depot.server, "--repair")

    assert result.returncode == 1, result.stdout
    out = result.stdout
    [aside] = quarantined(depot.server)
    assert aside.read_bytes() == corrupt_bytes
    assert aside.name.startswith(corrupt.sha256)
    assert f"Blob {corrupt.sha256} was corrupt: moved to {aside}" in out
    for lost in (corrupt, deleted):
        assert f"LOST     {INDEX}  {lost.relpath}: uploaded here, so it cannot be repaired" in out
        assert f"restore its blob {lost.sha256} from a backup" in out
    assert "2 damaged blobs: 0 repaired, 2 not repairable." in out
    # Never served as if fine: the corrupt copy is gone from service.
    reply = depot.get(corrupt.relpath)
    assert reply.status_code == 404
    assert "missing on this server" in reply.json()["message"]
    again = fsck(depot.server)
    assert again.returncode == 1
    assert f"MISSING  {INDEX}  {corrupt.relpath} (releasefile)" in again.stdout


@pytest.mark.parametrize("damage", ["corrupt", "delete"])
def test_repair_extracts_an_uploaded_wheels_core_metadata_again(depot: Depot, damage: str) -> None:
    built = depot.upload(wheel("meta", "1.0"))
    sha256 = built.core_metadata_sha256
    assert sha256 is not None
    path = blob(depot.server, sha256)
    original = path.read_bytes()
    if damage == "corrupt":
        flip_a_byte(path)
    else:
        path.unlink()

    found = fsck(depot.server)
    assert found.returncode == 1
    state = "CORRUPT" if damage == "corrupt" else "MISSING"
    assert f"{state:8} {INDEX}  {built.relpath} (releasefile core metadata)" in found.stdout

    repaired = fsck(depot.server, "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert f"Blob {sha256} extracted again from its wheel, sha256 verified" in repaired.stdout
    assert f"REPAIRED {INDEX}  {built.relpath}" in repaired.stdout
    assert path.read_bytes() == original
    reply = depot.get(built.relpath + ".metadata")
    assert reply.status_code == 200
    assert reply.content == original
    assert fsck(depot.server).returncode == 0


# mirrors


@dataclasses.dataclass
class Mirrored:
    mirror: Mirror
    filename: str
    data: bytes
    sha256: str
    url: str  # the file's URL path on the server

    @property
    def server(self) -> ServerProcess:
        return self.mirror.server

    @property
    def upstream(self) -> FakeUpstream:
        return self.mirror.upstream

    def row(self) -> ReleaseFile:
        row = self.mirror.row(self.url)
        assert row is not None
        return row

    def download(self) -> httpx.Response:
        return self.mirror.http.get(self.url)


@pytest.fixture
def mirrored(start_server: Callable[..., ServerProcess]) -> Iterator[Mirrored]:
    """A mirror index on a private server with one wheel fetched (cached) from its upstream."""
    with running("json") as upstream:
        mirror = Mirror.create(start_server(), upstream, "upstream")
        try:
            fetched, _ = upstream.add_release(mirror.project, "1.0")
            url = mirror.sync(mirror.project)[fetched.filename]
            reply = mirror.http.get(url)
            assert reply.content == fetched.data
            sha256 = hashlib.sha256(fetched.data).hexdigest()
            yield Mirrored(mirror, fetched.filename, fetched.data, sha256, url)
        finally:
            mirror.close()


def damage_blob(mirrored: Mirrored, damage: str) -> None:
    path = blob(mirrored.server, mirrored.sha256)
    if damage == "corrupt":
        flip_a_byte(path)
    else:
        path.unlink()


@pytest.mark.parametrize("damage", ["corrupt", "delete"])
def test_repair_fetches_a_damaged_mirror_file_again(mirrored: Mirrored, damage: str) -> None:
    damage_blob(mirrored, damage)
    relpath, index = mirrored.row().relpath, mirrored.mirror.path

    unchecked = fsck(mirrored.server, "--skip-mirrored")
    assert unchecked.returncode == 0, unchecked.stdout
    assert "1 fetched mirror file not checked (--skip-mirrored)." in unchecked.stdout

    found = fsck(mirrored.server)
    assert found.returncode == 1, found.stdout
    state = "CORRUPT" if damage == "corrupt" else "MISSING"
    assert f"{state:8} {index}  {relpath} (releasefile)" in found.stdout

    repaired = fsck(mirrored.server, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    out = repaired.stdout
    assert f"Blob {mirrored.sha256} fetched again from its upstream, sha256 verified" in out
    assert f"REPAIRED {index}  {relpath}" in out
    assert "1 damaged blob: 1 repaired, 0 not repairable." in out
    assert len(quarantined(mirrored.server)) == (1 if damage == "corrupt" else 0)
    assert hashlib.sha256(blob(mirrored.server, mirrored.sha256).read_bytes()).hexdigest() == (
        mirrored.sha256
    )
    assert mirrored.upstream.downloads_of(mirrored.filename) == 2
    assert mirrored.row().cached
    reply = mirrored.download()
    assert reply.status_code == 200
    assert reply.content == mirrored.data
    assert mirrored.upstream.downloads_of(mirrored.filename) == 2  # served from disk
    assert fsck(mirrored.server).returncode == 0


def test_with_the_upstream_down_a_damaged_mirror_file_is_marked_not_cached(
    mirrored: Mirrored,
) -> None:
    damage_blob(mirrored, "corrupt")
    relpath, index = mirrored.row().relpath, mirrored.mirror.path
    mirrored.upstream.set_fault(Fault.DOWN)

    result = fsck(mirrored.server, "--repair")

    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert f"could not restore it: {relpath}: upstream" in out
    assert f"UNCACHED {index}  {relpath}: marked not cached; its next download fetches it" in out
    assert not mirrored.row().cached
    assert not blob(mirrored.server, mirrored.sha256).exists()  # quarantined, not served
    assert mirrored.download().status_code == 502
    assert fsck(mirrored.server).returncode == 0

    mirrored.upstream.set_fault(None)
    reply = mirrored.download()
    assert reply.status_code == 200
    assert reply.content == mirrored.data
    assert mirrored.row().cached
    assert fsck(mirrored.server).returncode == 0


def test_a_damaged_mirror_file_that_the_upstream_no_longer_has_is_marked_not_cached(
    mirrored: Mirrored,
) -> None:
    damage_blob(mirrored, "delete")
    mirrored.upstream.projects.clear()
    result = fsck(mirrored.server, "--repair")
    assert result.returncode == 0, result.stdout
    assert "HTTP 404" in result.stdout
    assert "UNCACHED" in result.stdout
    assert not mirrored.row().cached
    assert mirrored.download().status_code == 404


def test_a_corrupt_core_metadata_of_a_mirror_file_is_extracted_again(mirrored: Mirrored) -> None:
    row = mirrored.row()
    sha256 = row.core_metadata_sha256
    assert sha256 is not None
    path = blob(mirrored.server, sha256)
    original = path.read_bytes()
    flip_a_byte(path)
    found = fsck(mirrored.server)
    assert found.returncode == 1
    where = f"{mirrored.mirror.path}  {row.relpath}"
    assert f"CORRUPT  {where} (releasefile core metadata)" in found.stdout
    repaired = fsck(mirrored.server, "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert f"REPAIRED {where}" in repaired.stdout
    assert path.read_bytes() == original
    reply = mirrored.mirror.http.get(mirrored.url + ".metadata")
    assert reply.content == original
    assert mirrored.upstream.downloads_of(mirrored.filename) == 1


# orphans and stale doc trees


def test_orphans_and_stale_doc_trees_are_reported_and_removed_when_old(depot: Depot) -> None:
    kept = depot.upload(wheel("keep", "1.0"))
    old = depot.upload(sdist("old", "1.0"))
    upload_docs(depot, "old", "1.0")
    assert depot.get(f"{INDEX}/old/1.0/+doc/index.html").status_code == 200
    old_docs = rows(depot.server)["old-1.0.doc.zip"]
    tree = ServerDir(depot.server.serverdir).docs / old_docs.sha256
    assert tree.is_dir()
    recent = depot.upload(sdist("recent", "1.0"))
    for project in ("old", "recent"):
        reply = depot.api.http.delete(f"/{INDEX}/{project}", headers=ALICE)
        assert reply.status_code == 200, reply.text
    for sha256 in (old.sha256, old_docs.sha256):
        os.utime(blob(depot.server, sha256), (TWO_HOURS_AGO, TWO_HOURS_AGO))

    found = fsck(depot.server)
    assert found.returncode == 0, found.stdout
    out = found.stdout
    assert "Orphaned blobs (no file needs them): 3 (" in out
    assert "; --remove-orphans deletes them" in out
    for orphan in (old, old_docs, recent):
        assert str(blob(depot.server, orphan.sha256)) in out
    assert str(blob(depot.server, kept.sha256)) not in out
    assert "Unpacked doc trees of deleted doc zips: 1 (" in out
    assert str(tree) in out
    assert blob(depot.server, old.sha256).exists()  # only reported

    removed = fsck(depot.server, "--remove-orphans")
    assert removed.returncode == 0, removed.stdout
    assert "Removed 2 orphaned blobs" in removed.stdout
    assert "Kept 1 orphaned blob used within the last hour" in removed.stdout
    assert "Removed 1 unpacked doc tree." in removed.stdout
    assert not blob(depot.server, old.sha256).exists()
    assert not blob(depot.server, old_docs.sha256).exists()
    assert blob(depot.server, recent.sha256).exists()
    assert not tree.exists()
    assert depot.get(kept.relpath).status_code == 200
    assert depot.get(kept.relpath + ".metadata").status_code == 200
    after = fsck(depot.server)
    assert after.returncode == 0
    assert "Orphaned blobs (no file needs them): 1 (" in after.stdout
    assert "Unpacked doc trees" not in after.stdout


def test_an_orphan_uploaded_again_is_needed_and_kept(depot: Depot) -> None:
    built = sdist("again", "1.0")
    first = depot.upload(built)
    reply = depot.api.http.delete(f"/{INDEX}/again", headers=ALICE)
    assert reply.status_code == 200, reply.text
    path = blob(depot.server, first.sha256)
    os.utime(path, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    depot.upload(built)
    result = fsck(depot.server, "--remove-orphans")
    assert result.returncode == 0
    assert "Orphaned blobs" not in result.stdout
    assert path.exists()
    assert depot.get(first.relpath).content == built[1]


def test_fsck_refuses_a_directory_that_is_not_a_server_directory(tmp_path: Path) -> None:
    result = pkgdepot("fsck", "--serverdir", str(tmp_path / "nothing"))
    assert result.returncode == 1
    assert "is not a pkgdepot server directory" in result.stderr
    assert not (tmp_path / "nothing").exists()
