"""Migrating from devpi-server: an export made by the real devpi-server, read and imported.

One export made by the real devpi-server and devpi client (``tests/support/devpi_scenario.py``)
is read: the rows ``DevpiExport`` yields, from it and from a dump version 1 derived from it as
devpi-server's own importer reads old dumps; then ``pkgdepot import`` makes a server of it that
the devpi passwords log in to, pip installs from, and that shows what devpi showed.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import argon2
import httpx
import pytest

from pkgdepot.app import open_store
from pkgdepot.serverdir import ServerDir
from pkgdepot.transfer.devpi import DevpiExport
from pkgdepot.transfer.devpi_rows import DevpiExportError
from tests.e2e.conftest import clients_in
from tests.support.client import Api
from tests.support.devpi_dump import copy_export, read_dump, to_dump_version_1, write_dump
from tests.support.devpi_scenario import (
    ALICE_PW,
    BOB_PW,
    PROJECTS,
    ROOT_PW,
    Built,
    build_devpi_export,
    pkgdepot_import,
    project_view,
)
from tests.support.dists import make_sdist, make_wheel
from tests.support.server import ServerProcess

CAROL = ("carol-old-pw", "c2FsdHNhbHRzYWx0c2FsdA==")  # a devpi-server 4 user: (password, salt)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_devpi_export(tmp_path_factory.mktemp("devpi-export"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows(source: DevpiExport, table: str) -> list[dict[str, Any]]:
    return [dict(row) for row in getattr(source, table)()]


def by_key(items: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    return {
        tuple(item[k] for k in keys) if len(keys) > 1 else item[keys[0]]: item for item in items
    }


# ---- the rows read from a real export --------------------------------------------------------


def test_users_keep_their_devpi_argon2_hashes(built: Built) -> None:
    source = DevpiExport(built.export)
    users = by_key(rows(source, "users"), "name")
    assert set(users) == {"root", "alice", "bob"}
    hasher = argon2.PasswordHasher()
    for name, password in (("root", ROOT_PW), ("alice", ALICE_PW), ("bob", BOB_PW)):
        assert users[name]["pwhash"].startswith("$argon2")
        assert hasher.verify(users[name]["pwhash"], password)
    assert users["alice"]["config"] == {"email": "alice@example.test"}
    assert users["bob"]["config"] == {}
    assert users["alice"]["created"].endswith("Z")


def test_indexes_keep_bases_volatility_and_acls(built: Built) -> None:
    warnings: list[str] = []
    source = DevpiExport(built.export, warn=warnings.append)
    indexes = by_key(rows(source, "indexes"), "user", "name")
    assert set(indexes) == {("root", "pypi"), ("alice", "prod"), ("alice", "dev"), ("bob", "dev")}
    dev = indexes[("alice", "dev")]
    assert dev["type"] == "stage"
    assert dev["config"]["bases"] == ["alice/prod"]
    assert dev["config"]["volatile"] is True
    assert dev["config"]["title"] == "Alice's dev"
    assert dev["config"]["acl_upload"] == ["alice"]
    assert dev["config"]["acl_toxresult_upload"] == [":ANONYMOUS:"]
    assert dev["config"]["mirror_whitelist_inheritance"] == "intersection"
    assert indexes[("alice", "prod")]["config"]["volatile"] is False
    assert indexes[("bob", "dev")]["config"]["bases"] == []
    mirror = indexes[("root", "pypi")]
    assert mirror["type"] == "mirror"
    assert mirror["config"]["mirror_url"].startswith("https://")
    assert "mirror_web_url_fmt" not in mirror["config"]
    # devpi's setting pkgdepot does not have is dropped, with one warning line
    assert warnings == source.warnings
    assert warnings == [
        "index root/pypi: dropped settings pkgdepot does not have: mirror_web_url_fmt"
    ]


def test_projects_and_releases_keep_display_names_and_metadata(built: Built) -> None:
    source = DevpiExport(built.export)
    projects = by_key(rows(source, "projects"), "index", "name")
    assert projects == {
        ("alice/prod", "hello-pkg"): {
            "index": "alice/prod", "name": "hello-pkg", "display_name": "Hello.Pkg"},
        ("alice/prod", "dev-thing"): {
            "index": "alice/prod", "name": "dev-thing", "display_name": "Dev.Thing"},
        ("alice/dev", "dev-thing"): {
            "index": "alice/dev", "name": "dev-thing", "display_name": "Dev.Thing"},
        ("alice/dev", "docs-only"): {
            "index": "alice/dev", "name": "docs-only", "display_name": "Docs.Only"},
        ("bob/dev", "bobs-pkg"): {
            "index": "bob/dev", "name": "bobs-pkg", "display_name": "bobs-pkg"},
    }  # fmt: skip
    releases = by_key(rows(source, "releases"), "index", "project", "version")
    assert set(releases) == {
        ("alice/prod", "hello-pkg", "1.0"), ("alice/prod", "hello-pkg", "1.1"),
        ("alice/prod", "dev-thing", "0.1"), ("alice/dev", "dev-thing", "0.1"),
        ("alice/dev", "docs-only", "0.2"), ("bob/dev", "bobs-pkg", "2.0"),
    }  # fmt: skip
    meta = releases[("alice/dev", "dev-thing", "0.1")]["metadata"]
    assert meta["name"] == "Dev.Thing"
    assert meta["version"] == "0.1"
    assert meta["requires_dist"] == ["Hello.Pkg"]
    assert meta["summary"] == "test package"
    assert releases[("alice/prod", "hello-pkg", "1.1")]["metadata"]["requires_python"] == ">=3.8"
    assert not any(key.startswith(("+", ":")) for r in releases.values() for key in r["metadata"])


def test_files_blobs_and_counts(built: Built) -> None:
    source = DevpiExport(built.export)
    files = rows(source, "files")
    releasefiles = by_key([f for f in files if f["kind"] == "releasefile"], "index", "filename")
    expected = {
        ("alice/prod", "hello_pkg-1.0-py3-none-any.whl"), ("alice/prod", "hello_pkg-1.0.tar.gz"),
        ("alice/prod", "hello_pkg-1.1-py3-none-any.whl"),
        ("alice/prod", "dev_thing-0.1-py3-none-any.whl"),
        ("alice/dev", "dev_thing-0.1-py3-none-any.whl"),
        ("bob/dev", "bobs_pkg-2.0-py3-none-any.whl"),
    }  # fmt: skip
    assert set(releasefiles) == expected
    for (index, filename), row in releasefiles.items():
        data = built.dists[filename]
        digest = sha256(data)
        assert row["sha256"] == digest
        assert row["size"] == len(data)
        assert row["relpath"] == f"{index}/+f/{digest[:3]}/{digest[3:16]}/{filename}"
        blob = source.blob(digest)
        assert blob is not None
        assert blob.read_bytes() == data
        assert row["url"] is None
        assert row["cached"] is True
        assert row["upload_time"] is not None
        assert row["log"][0]["what"] == "upload"
    hello11 = releasefiles[("alice/prod", "hello_pkg-1.1-py3-none-any.whl")]
    assert hello11["requires_python"] == ">=3.8"
    assert hello11["version"] == "1.1"
    assert hello11["project"] == "hello-pkg"
    metadata_blob = source.blob(hello11["core_metadata_sha256"])
    assert metadata_blob is not None
    with zipfile.ZipFile(io.BytesIO(built.dists["hello_pkg-1.1-py3-none-any.whl"])) as wheel:
        assert metadata_blob.read_bytes() == wheel.read("hello_pkg-1.1.dist-info/METADATA")
    assert releasefiles[("alice/prod", "hello_pkg-1.0.tar.gz")]["core_metadata_sha256"] is None
    pushed = releasefiles[("alice/prod", "dev_thing-0.1-py3-none-any.whl")]
    assert [entry["what"] for entry in pushed["log"]] == ["upload", "push"]
    assert pushed["log"][1]["src"] == "alice/dev"

    doczips = by_key([f for f in files if f["kind"] == "doczip"], "index", "filename")
    assert set(doczips) == {
        ("alice/prod", "hello-pkg-1.0.doc.zip"),
        ("alice/dev", "docs-only-0.2.doc.zip"),
    }
    doczip = doczips[("alice/prod", "hello-pkg-1.0.doc.zip")]
    assert (doczip["project"], doczip["version"]) == ("hello-pkg", "1.0")
    assert doczip["sha256"] == sha256(built.doczip)
    docs_only = doczips[("alice/dev", "docs-only-0.2.doc.zip")]
    assert (docs_only["project"], docs_only["version"]) == ("docs-only", "0.2")
    assert docs_only["sha256"] == sha256(built.docs_only)
    (toxresult,) = [f for f in files if f["kind"] == "toxresult"]
    assert toxresult["sha256"] == sha256(built.toxresult)
    assert toxresult["for_relpath"] == hello11["relpath"]
    assert toxresult["relpath"].rsplit("/", 1)[0] == hello11["relpath"].rsplit("/", 1)[0]
    assert toxresult["version"] == "1.1"
    assert toxresult["log"][0]["who"] is None  # posted anonymously

    manifest = source.manifest
    assert manifest["dumpversion"] == "2"
    assert manifest["include_mirrored_files"] is False
    blobs = {f["sha256"] for f in files} | {
        f["core_metadata_sha256"] for f in files if f["core_metadata_sha256"]
    }
    assert manifest["counts"] == {
        "users": 3, "indexes": 4, "projects": 5, "releases": 6, "files": len(files),
        "blobs": len(blobs),
    }  # fmt: skip
    assert all(source.blob(digest) is not None for digest in blobs)
    assert source.blob("0" * 64) is None


# ---- dump version 1, legacy hashes, broken exports -------------------------------------------


def _without_toxresult_times(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in files:
        if row["kind"] == "toxresult":
            assert row.pop("upload_time") is not None
    return files


def test_dump_version_1_reads_as_the_same_rows(built: Built, tmp_path: Path) -> None:
    old = DevpiExport(to_dump_version_1(built.export, tmp_path / "v1", {"carol": CAROL}))
    new = DevpiExport(built.export)
    assert old.manifest["dumpversion"] == "1"
    # the old dump's tox result has no entrymapping: its time comes from its log instead
    assert _without_toxresult_times(rows(old, "files")) == _without_toxresult_times(
        rows(new, "files")
    )
    assert rows(old, "projects") == rows(new, "projects")
    assert rows(old, "releases") == rows(new, "releases")
    carol = by_key(rows(old, "users"), "name")["carol"]
    password, salt = CAROL
    digest = hashlib.sha256((salt + password).encode()).hexdigest()
    assert carol["pwhash"] == f"devpi-sha256${salt}${digest}"
    assert carol["created"] == "1970-01-01T00:00:00Z"  # as devpi-server imports it
    dev = by_key(rows(old, "indexes"), "user", "name")[("alice", "dev")]["config"]
    assert dev["mirror_whitelist"] == []  # was pypi_whitelist
    assert dev["mirror_whitelist_inheritance"] == "union"  # devpi's behaviour without the key
    assert dev["acl_toxresult_upload"] == [":ANONYMOUS:"]


@pytest.mark.parametrize(
    ("dumpversion", "message"),
    [("3", "dump version '3' is not supported"), (None, "dump version None is not supported")],
)
def test_unknown_dump_version_is_refused(
    built: Built, tmp_path: Path, dumpversion: str | None, message: str
) -> None:
    dump = copy_export(built.export, tmp_path / "export")
    dump["dumpversion"] = dumpversion
    write_dump(tmp_path / "export", dump)
    with pytest.raises(DevpiExportError, match=message) as failure:
        DevpiExport(tmp_path / "export")
    assert "reads dump versions 1 and 2" in failure.value.message


def test_broken_exports_are_refused_clearly(built: Built, tmp_path: Path) -> None:
    target = tmp_path / "cut"
    copy_export(built.export, target)
    data = (target / "dataindex.json").read_bytes()
    (target / "dataindex.json").write_bytes(data[: len(data) // 2])
    with pytest.raises(DevpiExportError, match=r"dataindex.json is not valid JSON"):
        DevpiExport(target)

    missing = tmp_path / "missing"
    dump = copy_export(built.export, missing)
    relpath = dump["indexes"]["bob/dev"]["files"][0]["relpath"]
    (missing / relpath).unlink()
    with pytest.raises(DevpiExportError, match=f"{relpath} is missing"):
        DevpiExport(missing)

    outside = tmp_path / "outside"
    dump = copy_export(built.export, outside)
    dump["indexes"]["bob/dev"]["files"][0]["relpath"] = "../../etc/passwd"
    write_dump(outside, dump)
    with pytest.raises(DevpiExportError, match="names a file outside the export"):
        DevpiExport(outside)

    malformed = tmp_path / "malformed"
    dump = copy_export(built.export, malformed)
    dump["indexes"]["bob/dev"]["files"][0]["projectname"] = "no such name!"
    write_dump(malformed, dump)
    with pytest.raises(DevpiExportError, match="index bob/dev: invalid project name 'no such"):
        DevpiExport(malformed)
    del dump["indexes"]["bob/dev"]["files"][0]["relpath"]
    write_dump(malformed, dump)
    with pytest.raises(DevpiExportError, match="index 'bob/dev' is malformed: KeyError: 'relpath'"):
        DevpiExport(malformed)

    with pytest.raises(DevpiExportError, match="not a devpi-server export"):
        DevpiExport(tmp_path / "nothing-here")


def test_what_pkgdepot_cannot_keep_is_dropped_with_a_warning(built: Built, tmp_path: Path) -> None:
    dump = copy_export(built.export, tmp_path / "export")
    dump["indexes"]["alice/dev"]["indexconfig"]["uploadtrigger_jenkins"] = ""
    dump["indexes"]["alice/dev"]["indexconfig"]["pkg_role_owner"] = ["alice"]
    dump["indexes"]["bob/other"] = {"indexconfig": {"type": "indexinherit", "bases": []}}
    dump["users"]["root"]["pwhash"] = argon2.PasswordHasher().hash("")  # devpi-init's default
    dump["users"]["bob"]["theme"] = "dark"
    write_dump(tmp_path / "export", dump)
    source = DevpiExport(tmp_path / "export")
    assert "user 'bob': dropped settings pkgdepot does not have: theme" in source.warnings
    assert (
        "user 'root' has an empty password (devpi-init's default): set one with "
        "'pkgdepot passwd root'"
    ) in source.warnings
    indexes = by_key(rows(source, "indexes"), "user", "name")
    assert ("bob", "other") not in indexes
    assert "pkg_role_owner" not in indexes[("alice", "dev")]["config"]
    assert "uploadtrigger_jenkins" not in indexes[("alice", "dev")]["config"]
    assert "index alice/dev: dropped settings pkgdepot does not have: pkg_role_owner" in (
        source.warnings
    )
    assert any(w.startswith("index bob/other: skipped") for w in source.warnings)
    assert read_dump(built.export)["dumpversion"] == "2"  # the original is untouched


def test_mirrored_files_of_an_export_with_them(built: Built, tmp_path: Path) -> None:
    """``devpi-export --include-mirrored-files``: a mirror's downloaded files, with the index
    entry devpi-server 6 writes for them (seen in a real export of a mirror)."""
    export = tmp_path / "export"
    dump = copy_export(built.export, export)
    filename, data = make_wheel("Mirrored.Pkg", "3.0")
    relpath = f"root/up/mirrored-pkg/3.0/{filename}"
    (export / relpath).parent.mkdir(parents=True)
    (export / relpath).write_bytes(data)
    url = f"http://127.0.0.1:9/files/{filename}"
    dump["indexes"]["root/up"] = {
        "indexconfig": {"volatile": True, "mirror_url": "http://127.0.0.1:9/simple/",
                        "type": "mirror"},
        "projects": {"mirrored-pkg": {"3.0": {
            "name": "mirrored-pkg", "version": "3.0", "requires_python": ">=3.7",
            "yanked": "bad build"}}},
        "files": [{
            "version": "3.0",
            "entrymapping": {
                "url": url, "hash_spec": f"sha256={sha256(data)}",
                "hashes": {"sha256": sha256(data)}, "project": "mirrored-pkg", "version": "3.0",
                "last_modified": "Thu, 26 Nov 2026 02:55:06 GMT"},
            "log": [], "type": "releasefile", "projectname": "mirrored-pkg", "relpath": relpath,
        }],
    }  # fmt: skip
    write_dump(export, dump)
    source = DevpiExport(export)
    assert source.manifest["include_mirrored_files"] is True
    (row,) = [f for f in rows(source, "files") if f["index"] == "root/up"]
    digest = sha256(data)
    assert row == {
        "index": "root/up", "project": "mirrored-pkg", "kind": "releasefile", "sha256": digest,
        "size": len(data), "upload_time": "2026-11-26T02:55:06Z", "requires_python": ">=3.7",
        "yanked": "bad build", "core_metadata_sha256": None, "for_relpath": None, "log": [],
        "url": url, "cached": True, "version": "3.0", "filename": filename,
        "relpath": f"root/up/+f/{digest[:3]}/{digest[3:16]}/{filename}",
    }  # fmt: skip
    # a mirror's project as pkgdepot's mirrors keep it; no releases: pages come from upstream
    assert [p for p in rows(source, "projects") if p["index"] == "root/up"] == [
        {"index": "root/up", "name": "mirrored-pkg", "display_name": "mirrored-pkg"}
    ]
    assert not [r for r in rows(source, "releases") if r["index"] == "root/up"]
    blob = source.blob(digest)
    assert blob is not None
    assert blob.read_bytes() == data


# ---- pkgdepot import, then a pkgdepot server on what it imported ------------------------------


@pytest.mark.e2e
def test_import_then_log_in_install_and_read_as_on_devpi(
    built: Built, tmp_path: Path, start_server: Callable[..., ServerProcess]
) -> None:
    done = pkgdepot_import(built.export, tmp_path / "server")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Imported users 3, indexes 4, projects 5, releases 6, files 9" in done.stdout
    assert "index root/pypi: dropped settings pkgdepot does not have: mirror_web_url_fmt" in (
        done.stderr
    )
    server = start_server(serverdir=tmp_path / "server")
    api = Api(server.url)
    try:
        # the devpi passwords log in; a wrong one does not
        token = api.login("alice", ALICE_PW)
        assert api.login("bob", BOB_PW)
        assert api.login("root", ROOT_PW)
        wrong = api.http.post("/+login", json={"user": "alice", "password": BOB_PW})
        assert wrong.status_code == 401
        # the same versions, files, hashes and even URLs as devpi showed
        for path in PROJECTS:
            assert project_view(server.url, path) == built.devpi_views[path], path
        # the docs, also through alice/dev's base
        for index in ("alice/prod", "alice/dev"):
            doc = api.http.get(f"/{index}/hello-pkg/1.0/+doc/index.html")
            assert doc.status_code == 200, (index, doc.text)
            assert "Hello.Pkg docs from devpi" in doc.text
        # docs devpi took without a release: the version they registered, latest and stable
        for version in ("0.2", "latest", "stable"):
            doc = api.http.get(f"/alice/dev/docs-only/{version}/+doc/index.html")
            assert doc.status_code == 200, (version, doc.text)
            assert doc.text == "<h1>Docs only, no release</h1>"
        # the acls came along: alice uploads to alice/dev, bob may not
        extra = make_wheel("Dev.Thing", "0.2")
        assert api.upload("alice/dev", *extra, auth=("alice", token)).status_code == 200
        refused = api.upload("alice/dev", *make_wheel("Dev.Thing", "0.3"), auth=("bob", BOB_PW))
        assert refused.status_code == 403
        # alice/prod stayed non-volatile
        other = make_sdist("Hello.Pkg", "1.0", summary="other bytes, same name")
        clash = api.upload("alice/prod", *other, auth=("alice", ALICE_PW))
        assert clash.status_code == 409, clash.text
        # pip installs Dev.Thing from alice/dev and Hello.Pkg from alice/prod through it
        clients = clients_in(tmp_path / "home")
        python = clients.new_venv("venv", with_pip=True)
        clients.pip_install(python, f"{server.url}/alice/dev/+simple/", "dev-thing==0.1")
        shown = clients.check(
            [python, "-c", "import dev_thing_mod, hello_pkg_mod; "
             "print(dev_thing_mod.VERSION, hello_pkg_mod.VERSION)"]
        )  # fmt: skip
        assert shown.split() == ["0.1", "1.1"]
    finally:
        api.close()


def test_import_of_dump_version_1_with_an_old_password_hash(
    built: Built, tmp_path: Path, start_server: Callable[..., ServerProcess]
) -> None:
    old = to_dump_version_1(built.export, tmp_path / "v1", {"carol": CAROL})
    done = pkgdepot_import(old, tmp_path / "server")
    assert done.returncode == 0, done.stdout + done.stderr
    server = start_server(serverdir=tmp_path / "server")
    with httpx.Client(base_url=server.url, headers={"Accept": "application/json"}) as http:
        assert http.post("/+login", json={"user": "carol", "password": "x"}).status_code == 401
        for user, password in (("carol", CAROL[0]), ("alice", ALICE_PW)):
            reply = http.post("/+login", json={"user": user, "password": password})
            assert reply.status_code == 200, (user, reply.text)
        carol = http.get("/carol").json()["result"]
        assert carol["email"] == "carol@example.test"
        for path in PROJECTS:
            assert project_view(server.url, path) == built.devpi_views[path], path
        index = http.get("/alice/dev").json()["result"]
        assert index["mirror_whitelist_inheritance"] == "union"
        assert http.get("/alice/prod/hello-pkg/1.0/+doc/index.html").status_code == 200
    server.stop()
    store = open_store(ServerDir(tmp_path / "server"))
    try:
        stored = store.get_user("carol")
        assert stored is not None
        assert stored.pwhash is not None
        assert stored.pwhash.startswith("$argon2")  # replaced at her first login
    finally:
        store.close()


@pytest.mark.parametrize("damage", ["dumpversion", "bytes"])
def test_a_broken_devpi_export_imports_nothing(built: Built, tmp_path: Path, damage: str) -> None:
    export = tmp_path / "export"
    dump = copy_export(built.export, export)
    if damage == "dumpversion":
        dump["dumpversion"] = "7"
        write_dump(export, dump)
        expected = "devpi-server dump version '7' is not supported"
    else:
        relpath = dump["indexes"]["bob/dev"]["files"][0]["relpath"]
        (export / relpath).write_bytes(b"not the uploaded wheel")
        expected = "the export is damaged"
    done = pkgdepot_import(export, tmp_path / "server")
    assert done.returncode != 0
    assert expected in done.stderr
    assert "nothing was imported" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "server").exists()
