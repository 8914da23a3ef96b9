"""``pkgdepot export`` and ``pkgdepot import``: a running server exported, imported into a new
server directory, and served again exactly as before; damaged, unfinished and hand-made exports;
refused targets."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import argon2
import httpx
import pytest

from pkgdepot.app import open_store
from pkgdepot.domain.models import ReleaseFile
from pkgdepot.serverdir import ServerDir
from pkgdepot.storage.blobs_fs import FsBlobStore
from tests.support import dists
from tests.support.client import Api, basic
from tests.support.fake_upstream import FakeUpstream, running
from tests.support.server import NOWHERE, ROOT_PASSWORD, ServerProcess
from tests.support.uploading import zip_of

JSON = "application/json"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
HTML = "text/html"
PASSWORDS = {"root": ROOT_PASSWORD, "alice": "alice-pw", "bob": "bob-pw"}
INDEXES = ["alice/prod", "alice/dev", "bob/a", "bob/b", "root/mirror", "root/pypi"]
PROJECTS = ["hello-pkg", "other-pkg", "cycle-pkg", "mirrored-pkg"]
MIRRORED_WHEEL = dists.wheel_name("mirrored-pkg", "1.0")
REPORT = b'{"reportversion": "1", "host": "h", "testenvs": {}}\n'


def cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pkgdepot", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )


def exported(server: ServerProcess, target: Path, *extra: str) -> Path:
    done = cli("export", str(target), "--serverdir", str(server.serverdir), *extra)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar when stderr is no terminal
    assert done.stdout.startswith("Exported users 3, indexes 6,"), done.stdout
    return target


def imported(export: Path, serverdir: Path) -> subprocess.CompletedProcess[str]:
    done = cli("import", str(export), "--serverdir", str(serverdir))
    assert done.returncode == 0, done.stderr
    return done


# the server to export


def populate(api: Api, upstream: FakeUpstream) -> None:
    """Users with passwords, a non-volatile and a volatile index with bases, a cycle of bases,
    wheels and sdists, docs, a tox result, a yanked release, and a mirror with a cached file."""
    root = basic("root", ROOT_PASSWORD)
    api.create_user("alice", PASSWORDS["alice"], email="alice@example.test")
    api.create_user("bob", PASSWORDS["bob"])
    mirror = {"type": "mirror", "mirror_url": upstream.url, "mirror_cache_expiry": 3600}
    reply = api.http.put("/root/mirror", json=mirror, headers=root)
    assert reply.status_code == 201, reply.text
    alice, bob = ("alice", PASSWORDS["alice"]), ("bob", PASSWORDS["bob"])
    api.create_index("alice/prod", auth=alice, volatile=False, title="Production")
    api.create_index(
        "alice/dev",
        auth=alice,
        bases=["alice/prod", "root/mirror"],
        acl_upload=["alice", "bob"],
        mirror_whitelist=["mirrored-pkg"],
    )
    api.create_index("bob/a", auth=bob, bases=["alice/prod"])
    api.create_index("bob/b", auth=bob, bases=["bob/a"])
    reply = api.http.patch("/bob/a", json=["bases+=bob/b"], headers=basic(*bob))  # a cycle
    assert reply.status_code == 200, reply.text
    uploads = [
        ("alice/prod", alice, "Hello.Pkg", dists.make_wheel("hello-pkg", "1.0")),
        ("alice/prod", alice, "Hello.Pkg", dists.make_sdist("hello-pkg", "1.0")),
        ("alice/dev", bob, "hello-pkg", dists.make_wheel("hello-pkg", "1.1")),
        ("alice/dev", bob, "other_pkg", dists.make_sdist("other-pkg", "0.1")),
        ("bob/b", bob, "cycle-pkg", dists.make_wheel("cycle-pkg", "2.0")),
    ]
    for index, who, name, (filename, data) in uploads:
        version = filename.split("-")[1].removesuffix(".tar.gz")
        reply = api.upload(index, filename, data, auth=who, name=name, version=version)
        assert reply.status_code == 200, reply.text
    docs = zip_of({"index.html": b"<h1>hello-pkg docs</h1>"})
    reply = api.upload(
        "alice/prod",
        "hello-pkg-1.0.doc.zip",
        docs,
        auth=alice,
        name="hello-pkg",
        version="1.0",
        action="doc_upload",
    )
    assert reply.status_code == 200, reply.text
    reply = api.http.patch(
        "/alice/dev/hello-pkg/1.1", json={"yanked": "broken"}, headers=basic(*alice)
    )
    assert reply.status_code == 200, reply.text
    wheel_href = _release_href(api, "alice/prod", "hello-pkg", "1.0", ".whl")
    reply = api.http.post(
        wheel_href.removeprefix(api.url), content=REPORT, headers={"Content-Type": JSON}
    )
    assert reply.status_code == 200, reply.text
    # the mirror: its page fetched, its wheel downloaded (cached), its sdist not
    page = api.http.get("/alice/dev/+simple/mirrored-pkg/", headers={"Accept": SIMPLE_JSON})
    assert page.status_code == 200, page.text
    [url] = [f["url"] for f in page.json()["files"] if f["filename"] == MIRRORED_WHEEL]
    absolute = httpx.URL(f"{api.url}/alice/dev/+simple/mirrored-pkg/").join(url)
    assert httpx.get(absolute, timeout=60).status_code == 200
    assert upstream.downloads_of(MIRRORED_WHEEL) == 1


def _release_href(api: Api, index: str, project: str, version: str, suffix: str) -> str:
    reply = api.http.get(f"/{index}/{project}/{version}")
    assert reply.status_code == 200, reply.text
    [href] = [
        link["href"]
        for link in reply.json()["result"]["+links"]
        if link["rel"] == "releasefile" and link["href"].endswith(suffix)
    ]
    return str(href)


@dataclasses.dataclass
class Source:
    server: ServerProcess
    upstream: FakeUpstream
    export: Path
    full_export: Path  # with --include-mirrored-files
    views: dict[str, bytes]
    files: dict[str, str]


def served(url: str) -> tuple[dict[str, bytes], dict[str, str]]:
    """Every page a client may read (host names normalised), and the sha256 of every file
    downloaded through the links of the version pages."""
    views: dict[str, bytes] = {}
    links: dict[str, str] = {}
    with httpx.Client(base_url=url, timeout=60) as http:

        def get(path: str, accept: str = JSON) -> httpx.Response:
            reply = http.get(path, headers={"Accept": accept})
            body = reply.content.replace(url.encode(), b"SERVER")
            views[f"{accept} {path}"] = f"{reply.status_code} ".encode() + body
            return reply

        for user in PASSWORDS:
            get(f"/{user}")
        for index in INDEXES:
            get(f"/{index}")
            for accept in (HTML, SIMPLE_JSON):
                get(f"/{index}/+simple/", accept)
            for project in PROJECTS:
                for accept in (HTML, SIMPLE_JSON):
                    get(f"/{index}/+simple/{project}/", accept)
                reply = get(f"/{index}/{project}")
                if reply.status_code != 200:
                    continue
                for version in reply.json()["result"]:
                    data = get(f"/{index}/{project}/{version}").json()["result"]
                    for link in data["+links"]:
                        links[link["href"].removeprefix(url)] = link["hashes"]["sha256"]
        get("/alice/prod/hello-pkg/1.0/+doc/index.html", "*/*")
        files = {}
        for path, sha256 in sorted(links.items()):
            reply = http.get(path, headers={"Accept": "*/*"})
            assert reply.status_code == 200, (path, reply.text)
            assert hashlib.sha256(reply.content).hexdigest() == sha256, path
            files[path] = sha256
    return views, files


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Source]:
    base = tmp_path_factory.mktemp("export-source")
    with running("json") as upstream:
        upstream.add_release("mirrored-pkg", "1.0")
        server = ServerProcess(base / "server", extra_args=["--mirror-url", upstream.url])
        server.start()
        try:
            api = Api(server.url)
            populate(api, upstream)
            api.close()
            export = exported(server, base / "export")  # while it runs
            full = exported(server, base / "export-full", "--include-mirrored-files")
            views, files = served(server.url)
            yield Source(server, upstream, export, full, views, files)
        finally:
            server.stop()


@pytest.fixture
def start(
    start_server: Callable[..., ServerProcess], source: Source
) -> Callable[[Path], ServerProcess]:
    def serve(serverdir: Path) -> ServerProcess:
        return start_server(serverdir=serverdir, extra_args=["--mirror-url", source.upstream.url])

    return serve


def rows(export: Path, table: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (export / f"{table}.jsonl").read_text().splitlines()]


def blob_of(export: Path, sha256: str) -> Path:
    return export / "blobs" / sha256[:2] / sha256[2:4] / sha256


# round trips


def test_an_import_serves_every_page_and_file_as_the_exported_server_did(
    source: Source, start: Callable[[Path], ServerProcess], tmp_path: Path
) -> None:
    done = imported(source.export, tmp_path / "new")
    # the cached mirrored wheel and the never cached sdist
    assert "; 2 mirrored files without their bytes: fetched when asked for" in done.stdout
    server = start(tmp_path / "new")
    before = source.upstream.downloads_of(MIRRORED_WHEEL)
    asked = len(source.upstream.requests_for("/simple/mirrored-pkg/"))
    views, files = served(server.url)
    # root/mirror's page came with what its upstream last said: not asked again; root/pypi,
    # which never had the project, asks once
    assert len(source.upstream.requests_for("/simple/mirrored-pkg/")) == asked + 1
    assert views.keys() == source.views.keys()
    for key, body in source.views.items():
        assert views[key] == body, key
    assert files == source.files
    shown = source.views
    assert b'data-yanked="broken"' in shown[f"{HTML} /alice/dev/+simple/hello-pkg/"]
    assert shown["*/* /alice/prod/hello-pkg/1.0/+doc/index.html"] == b"200 <h1>hello-pkg docs</h1>"
    assert shown[f"{SIMPLE_JSON} /bob/a/+simple/cycle-pkg/"].startswith(b"200 ")
    assert shown[f"{SIMPLE_JSON} /alice/dev/+simple/mirrored-pkg/"].count(b'"filename"') == 2
    assert any(".toxresult-" in path for path in files)
    # the mirrored wheel was exported without its bytes: fetched again from the upstream
    assert source.upstream.downloads_of(MIRRORED_WHEEL) == before + 1


def test_old_passwords_log_in_after_an_import(
    source: Source, start: Callable[[Path], ServerProcess], tmp_path: Path
) -> None:
    imported(source.export, tmp_path / "new")
    api = Api(start(tmp_path / "new").url)
    for user, password in PASSWORDS.items():
        token = api.login(user, password)
        reply = api.http.patch(f"/{user}", json={"title": "x"}, headers=basic(user, token))
        assert reply.status_code == 200, reply.text
    reply = api.http.post("/+login", json={"user": "alice", "password": "bob-pw"})
    assert reply.status_code == 401
    api.close()


def test_mirrored_files_go_with_include_mirrored_files(
    source: Source, start: Callable[[Path], ServerProcess], tmp_path: Path
) -> None:
    manifest = json.loads((source.full_export / "manifest.json").read_text())
    assert manifest["include_mirrored_files"] is True
    plain = json.loads((source.export / "manifest.json").read_text())
    assert manifest["counts"]["blobs"] > plain["counts"]["blobs"]
    done = imported(source.full_export, tmp_path / "new")
    assert "; 1 mirrored files without their bytes" in done.stdout  # the never cached sdist
    server = start(tmp_path / "new")
    before = source.upstream.downloads_of(MIRRORED_WHEEL)
    views, files = served(server.url)
    assert views == source.views
    assert files == source.files
    assert source.upstream.downloads_of(MIRRORED_WHEEL) == before


def test_the_export_lists_every_row_with_its_bytes(source: Source) -> None:
    manifest = json.loads((source.export / "manifest.json").read_text())
    assert manifest["format"] == "pkgdepot-export"
    assert manifest["version"] == 1
    for table in ("users", "indexes", "projects", "releases", "files"):
        assert len(rows(source.export, table)) == manifest["counts"][table]
    users = {row["name"]: row for row in rows(source.export, "users")}
    assert users["alice"]["pwhash"].startswith("$argon2")
    assert PASSWORDS["alice"] not in (source.export / "users.jsonl").read_text()
    assert oct((source.export / "users.jsonl").stat().st_mode & 0o777) == "0o600"
    kinds = {row["kind"] for row in rows(source.export, "files")}
    assert kinds == {"releasefile", "doczip", "toxresult"}
    for row in rows(source.export, "files"):
        held = blob_of(source.export, row["sha256"]).is_file()
        assert held == (row["url"] is None), row["relpath"]
    indexes = {f"{r['user']}/{r['name']}": r for r in rows(source.export, "indexes")}
    assert indexes["bob/a"]["config"]["bases"] == ["alice/prod", "bob/b"]
    assert indexes["root/mirror"]["config"]["mirror_cache_expiry"] == 3600


def test_an_export_taken_during_uploads_is_consistent(
    source: Source, start: Callable[[Path], ServerProcess], tmp_path: Path
) -> None:
    """Uploads go on while the export runs: it shows the server at one moment, whole."""
    api = Api(source.server.url)
    process = subprocess.Popen(
        [sys.executable, "-m", "pkgdepot", "export", str(tmp_path / "export"),
         "--serverdir", str(source.server.serverdir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    version = 0
    while process.poll() is None and version < 30:
        built = dists.make_sdist("busy-pkg", f"0.{version}")
        assert api.upload("bob/b", *built, auth=("bob", PASSWORDS["bob"])).status_code == 200
        version += 1
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    api.close()
    export = tmp_path / "export"
    releases = [r for r in rows(export, "releases") if r["project"] == "busy-pkg"]
    files = [r for r in rows(export, "files") if r["project"] == "busy-pkg"]
    assert sorted(r["version"] for r in releases) == sorted(r["version"] for r in files)
    imported(export, tmp_path / "new")
    server = start(tmp_path / "new")
    reply = httpx.get(f"{server.url}/bob/b/+simple/busy-pkg/", headers={"Accept": SIMPLE_JSON})
    shown = reply.json()["files"] if reply.status_code == 200 else []
    assert sorted(f["filename"] for f in shown) == sorted(r["filename"] for r in files)


# refusals


def test_a_corrupted_blob_stops_the_import_naming_the_file(source: Source, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(source.export, damaged)  # copies: the server's own blobs stay untouched
    [row] = [r for r in rows(damaged, "files") if r["filename"] == "hello_pkg-1.0-py3-none-any.whl"]
    blob = blob_of(damaged, row["sha256"])
    blob.write_bytes(blob.read_bytes()[:-1] + b"!")
    target = tmp_path / "target"
    target.mkdir()
    done = cli("import", str(damaged), "--serverdir", str(target))
    assert done.returncode == 1
    assert row["relpath"] in done.stderr
    assert "the export is damaged" in done.stderr
    assert "nothing was imported" in done.stderr
    assert list(target.iterdir()) == []
    # a server directory that did not exist is not left behind either
    done = cli("import", str(damaged), "--serverdir", str(tmp_path / "never"))
    assert done.returncode == 1
    assert not (tmp_path / "never").exists()


def test_missing_bytes_of_a_private_file_stop_the_import(source: Source, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(source.export, damaged)
    [row] = [r for r in rows(damaged, "files") if r["kind"] == "toxresult"]
    blob_of(damaged, row["sha256"]).unlink()
    done = cli("import", str(damaged), "--serverdir", str(tmp_path / "target"))
    assert done.returncode == 1
    assert (
        f"{row['relpath']}: its bytes (sha256 {row['sha256']}) are not in the export" in done.stderr
    )
    assert not (tmp_path / "target").exists()


def test_a_server_directory_that_holds_anything_is_refused(source: Source, tmp_path: Path) -> None:
    serial = httpx.get(f"{source.server.url}/+api").headers["x-devpi-serial"]
    done = cli("import", str(source.export), "--serverdir", str(source.server.serverdir))
    assert done.returncode == 1
    assert "already holds a pkgdepot server" in done.stderr
    assert httpx.get(f"{source.server.url}/+api").headers["x-devpi-serial"] == serial
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    done = cli("import", str(source.export), "--serverdir", str(other))
    assert done.returncode == 1
    assert f"{other} is not empty (notes.txt)" in done.stderr
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    assert (other / "notes.txt").read_text() == "mine"


def test_an_export_refuses_a_directory_that_is_not_empty(source: Source, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    done = cli("export", str(tmp_path), "--serverdir", str(source.server.serverdir))
    assert done.returncode == 1
    assert "is not empty: export into a new or empty directory" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_an_unfinished_export_is_refused(source: Source, tmp_path: Path) -> None:
    unfinished = tmp_path / "unfinished"
    shutil.copytree(source.export, unfinished)
    (unfinished / "manifest.json").unlink()
    done = cli("import", str(unfinished), "--serverdir", str(tmp_path / "target"))
    assert done.returncode == 1
    assert "holds an unfinished pkgdepot export: it has no manifest.json" in done.stderr
    assert not (tmp_path / "target").exists()


def test_a_truncated_table_is_refused(source: Source, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated"
    shutil.copytree(source.export, truncated)
    lines = (truncated / "files.jsonl").read_text().splitlines(keepends=True)
    (truncated / "files.jsonl").write_text("".join(lines[:-1]))
    done = cli("import", str(truncated), "--serverdir", str(tmp_path / "target"))
    assert done.returncode == 1
    expected = f"files: the export holds {len(lines) - 1} rows, its manifest says {len(lines)}"
    assert expected in done.stderr
    assert not (tmp_path / "target").exists()


def test_not_an_export_at_all(tmp_path: Path) -> None:
    done = cli("import", str(tmp_path), "--serverdir", str(tmp_path / "target"))
    assert done.returncode == 1
    assert "is not an export: it has neither manifest.json" in done.stderr


# hand-made exports


def write_export(directory: Path, tables: Mapping[str, list[dict[str, Any]]]) -> None:
    directory.mkdir(exist_ok=True)
    counts = {}
    for table in ("users", "indexes", "projects", "releases", "files"):
        lines = tables.get(table, [])
        text = "".join(json.dumps(line) + "\n" for line in lines)
        (directory / f"{table}.jsonl").write_text(text)
        counts[table] = len(lines)
    manifest = {"format": "pkgdepot-export", "version": 1, "counts": counts}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def put_blob(export: Path, data: bytes) -> str:
    sha256 = hashlib.sha256(data).hexdigest()
    path = blob_of(export, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha256


def test_bases_in_a_cycle_or_naming_a_missing_index_import_cleanly(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Also: an export without root (root is created, its password shown once), and a wheel
    whose core metadata is not in the export (extracted from the wheel, as an upload does)."""
    export = tmp_path / "export"
    export.mkdir()
    filename, data = dists.make_wheel("crafted-pkg", "1.0")
    sha256 = put_blob(export, data)
    stamp = "2026-01-01T00:00:00Z"
    write_export(
        export,
        {
            "users": [
                {
                    "name": "carol",
                    "pwhash": argon2.PasswordHasher().hash("carol-pw"),
                    "config": {"email": "carol@example.test"},
                    "created": stamp,
                    "modified": stamp,
                }
            ],
            "indexes": [
                {
                    "user": "carol",
                    "name": "a",
                    "type": "stage",
                    "config": {"bases": ["carol/b", "ghost/gone"]},
                },
                {"user": "carol", "name": "b", "type": "stage", "config": {"bases": ["carol/a"]}},
            ],
            "projects": [{"index": "carol/b", "name": "crafted-pkg", "display_name": "Crafted"}],
            "releases": [
                {
                    "index": "carol/b",
                    "project": "crafted-pkg",
                    "version": "1.0",
                    "metadata": {"name": "Crafted", "version": "1.0"},
                }
            ],
            "files": [
                {
                    "index": "carol/b",
                    "relpath": f"carol/b/+f/{sha256[:3]}/{sha256[3:16]}/{filename}",
                    "project": "crafted-pkg",
                    "version": "1.0",
                    "filename": filename,
                    "kind": "releasefile",
                    "sha256": sha256,
                    "size": len(data),
                    "upload_time": stamp,
                    "log": [],
                }
            ],
        },
    )
    serverdir = tmp_path / "server"
    done = cli(
        "import", str(export), "--serverdir", str(serverdir), env={"PKGDEPOT_MIRROR_URL": NOWHERE}
    )
    assert done.returncode == 0, done.stderr
    assert "dropped the base of carol/a -> ghost/gone: not in the export" in done.stderr
    [password] = re.findall(r"created it with password: (\S+)", done.stdout)
    server = start_server(serverdir=serverdir)
    api = Api(server.url)
    assert api.http.get("/carol/a").json()["result"]["bases"] == ["carol/b"]
    assert api.http.get("/carol/b").json()["result"]["bases"] == ["carol/a"]
    for index in ("carol/a", "carol/b"):
        page = api.http.get(f"/{index}/+simple/crafted-pkg/", headers={"Accept": SIMPLE_JSON})
        assert page.status_code == 200, page.text
        [file] = page.json()["files"]
        assert file["hashes"] == {"sha256": sha256}
        url = httpx.URL(f"{server.url}/{index}/+simple/crafted-pkg/").join(file["url"])
        assert hashlib.sha256(httpx.get(url).content).hexdigest() == sha256
        metadata = httpx.get(str(url) + ".metadata")
        assert metadata.status_code == 200
        assert file["core-metadata"] == {"sha256": hashlib.sha256(metadata.content).hexdigest()}
        assert b"Name: crafted-pkg" in metadata.content
    api.login("carol", "carol-pw")
    api.login("root", password)
    assert api.http.get("/root/pypi").json()["result"]["type"] == "mirror"
    api.close()


def test_a_row_that_does_not_fit_the_format_is_refused(tmp_path: Path) -> None:
    export = tmp_path / "export"
    stamp = "2026-01-01T00:00:00Z"
    user: dict[str, Any] = {"name": "dave", "pwhash": None, "created": stamp}
    index: dict[str, Any] = {
        "user": "dave",
        "name": "dev",
        "type": "stage",
        "config": {"volatile": "maybe"},
    }
    write_export(export, {"users": [user], "indexes": [index]})
    done = cli("import", str(export), "--serverdir", str(tmp_path / "target"))
    assert done.returncode == 1
    assert "indexes: dave/dev: volatile must be true or false, not 'maybe'" in done.stderr
    assert not (tmp_path / "target").exists()
    index["config"] = {}
    orphan = {"index": "dave/dev", "project": "nope", "version": "1", "metadata": {}}
    write_export(export, {"users": [user], "indexes": [index], "releases": [orphan]})
    done = cli("import", str(export), "--serverdir", str(tmp_path / "target"))
    assert done.returncode == 1
    assert "releases: dave/dev nope 1: its project 'nope' is not in the export" in done.stderr


# the terminal, and memory


def test_a_progress_bar_is_drawn_on_a_terminal_only(source: Source, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pkgdepot", "export", str(tmp_path / "export")]
    command += ["--serverdir", str(source.server.serverdir)]
    controller, terminal = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal's other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert b"Exporting" in shown
    assert b"100%" in shown
    assert stdout.startswith(b"Exported users 3")
    assert b"Exporting" not in stdout


def many_files_server(serverdir: Path, count: int) -> None:
    """A server directory with ``count`` release files (sharing one blob), each with a 16 KB log
    entry: held in memory all at once, they would weigh far more than a batch."""
    done = cli("init", "--serverdir", str(serverdir), "--mirror-url", NOWHERE)
    assert done.returncode == 0, done.stderr
    directory = ServerDir(serverdir)
    store = open_store(directory)
    try:
        data = dists.make_sdist("many-pkg", "1.0")[1]
        sha256 = FsBlobStore(directory.blobs).put_bytes(data)
        with store.transaction("root") as tx:
            index_id = tx.put_index("root", "many", "stage", {"bases": [], "volatile": True})
            tx.touch_project(index_id, "many-pkg", "many-pkg")
            tx.put_release(index_id, "many-pkg", "1.0", {"name": "many-pkg", "version": "1.0"})
            for number in range(count):
                filename = f"many_pkg-1.0.post{number}.tar.gz"
                tx.put_file(
                    index_id,
                    ReleaseFile(
                        index="root/many",
                        relpath=f"root/many/+f/{sha256[:3]}/{sha256[3:16]}/{filename}",
                        project="many-pkg",
                        version="1.0",
                        filename=filename,
                        kind="releasefile",
                        sha256=sha256,
                        size=len(data),
                        upload_time="2026-01-01T00:00:00Z",
                        log=({"what": "upload", "note": f"{number:08x}" * 2000},),
                    ),
                )
    finally:
        store.close()


# Runs the pkgdepot command in this process, then writes its peak resident memory (VmHWM: of
# this program alone, unlike the rusage of a child, which counts the forking parent's too).
MEASURED = """
import sys
from pathlib import Path
from pkgdepot.cli import main
try:
    main(sys.argv[2:], prog_name="pkgdepot")
except SystemExit as end:
    code = end.code
status = Path("/proc/self/status").read_text().splitlines()
[peak] = [line.split()[1] for line in status if line.startswith("VmHWM:")]
Path(sys.argv[1]).write_text(peak)
raise SystemExit(code)
"""


def peak_rss(tmp_path: Path, *args: str) -> int:
    """Run ``pkgdepot ARGS`` to the end; the most memory it ever held, in bytes."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
    report = tmp_path / "peak"
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, str(report), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(report.read_text()) * 1024


def test_memory_stays_flat_however_many_files(tmp_path: Path) -> None:
    many_files_server(tmp_path / "few", 10)
    many_files_server(tmp_path / "many", 2_500)  # 40 MB of log entries
    peak = {}
    for name in ("few", "many"):
        export, server = str(tmp_path / f"{name}-export"), str(tmp_path / name)
        peak[f"export {name}"] = peak_rss(tmp_path, "export", export, "--serverdir", server)
        target = str(tmp_path / f"{name}-imported")
        peak[f"import {name}"] = peak_rss(tmp_path, "import", export, "--serverdir", target)
    assert peak["export many"] - peak["export few"] < 20 * 1024 * 1024, peak
    assert peak["import many"] - peak["import few"] < 20 * 1024 * 1024, peak
