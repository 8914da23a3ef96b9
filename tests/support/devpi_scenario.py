"""One devpi-server export, made by the real devpi-server and the real devpi client.

Users alice and bob (and root), alice/dev inheriting from the non-volatile alice/prod, bob/dev;
wheels and an sdist uploaded with ``devpi upload --from-dir``, a doc zip with ``--only-docs``
(and one to alice/dev for a project with no release),
a tox result posted to a wheel, ``devpi push`` from alice/dev to alice/prod. What devpi's JSON
showed for each project is kept, to compare with what pkgdepot shows after the import.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from tests.support.devpi_server import DevpiClient, DevpiServer
from tests.support.dists import make_sdist, make_wheel

ROOT_PW = "devpi-root-pw"
ALICE_PW = "alice-devpi-pw"
BOB_PW = "bob-devpi-pw"


PROJECTS = (
    "alice/prod/hello-pkg",
    "alice/prod/dev-thing",
    "alice/dev/dev-thing",
    "alice/dev/docs-only",
    "bob/dev/bobs-pkg",
)


@dataclasses.dataclass(frozen=True)
class Built:
    export: Path
    dists: dict[str, bytes]  # every uploaded file by name
    doczip: bytes
    docs_only: bytes  # the doc zip of alice/dev/docs-only 0.2, a project with no release
    toxresult: bytes
    workdir: Path
    devpi_views: dict[str, dict[str, set[tuple[str, str, str]]]]  # what devpi's JSON showed


def project_view(url: str, project_path: str) -> dict[str, set[tuple[str, str, str]]]:
    """A project's JSON as both servers show it: version -> {(rel, path of href, sha256)}."""
    reply = httpx.get(f"{url}/{project_path}", headers={"Accept": "application/json"})
    assert reply.status_code == 200, reply.text
    return {
        version: {
            (link["rel"], link["href"].removeprefix(url), link["hashes"]["sha256"])
            for link in data.get("+links", [])
        }
        for version, data in reply.json()["result"].items()
    }


def _doc_zip(title: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", f"<h1>{title}</h1>")
    return buffer.getvalue()


def _write_all(directory: Path, built: list[tuple[str, bytes]]) -> dict[str, bytes]:
    directory.mkdir()
    for filename, data in built:
        (directory / filename).write_bytes(data)
    return dict(built)


def _wheel_url(server: DevpiServer, project_path: str) -> str:
    reply = httpx.get(f"{server.url}/{project_path}", headers={"Accept": "application/json"})
    assert reply.status_code == 200, reply.text
    links = reply.json()["result"]["+links"]
    return str(next(link["href"] for link in links if link["href"].endswith(".whl")))


def build_devpi_export(work: Path) -> Built:
    """The scenario above, in ``work``; its export is ``work / "export"``."""
    prod = _write_all(
        work / "prod",
        [make_wheel("Hello.Pkg", "1.0"), make_sdist("Hello.Pkg", "1.0"),
         make_wheel("Hello.Pkg", "1.1", requires_python=">=3.8")],
    )  # fmt: skip
    dev = _write_all(work / "dev", [make_wheel("Dev.Thing", "0.1", requires=["Hello.Pkg"])])
    bobs = _write_all(work / "bob", [make_wheel("bobs-pkg", "2.0")])
    docs = work / "Hello.Pkg-1.0.doc.zip"
    docs.write_bytes(_doc_zip("Hello.Pkg docs from devpi"))
    docs_only = work / "Docs.Only-0.2.doc.zip"
    docs_only.write_bytes(_doc_zip("Docs only, no release"))
    toxresult = json.dumps({"reportversion": "1", "testenvs": {"py": {}}}).encode()

    server = DevpiServer(work / "devpi-serverdir", work / "devpi-home")
    server.init(ROOT_PW)
    server.start()
    try:
        root, alice, bob = (DevpiClient(work / f"home-{who}") for who in ("root", "alice", "bob"))
        root.ok("use", server.url)
        root.ok("login", "root", "--password", ROOT_PW)
        root.ok("user", "-c", "alice", f"password={ALICE_PW}", "email=alice@example.test")
        root.ok("user", "-c", "bob", f"password={BOB_PW}")
        alice.ok("use", server.url)
        alice.ok("login", "alice", "--password", ALICE_PW)
        alice.ok("index", "-c", "prod", "volatile=False")
        alice.ok("index", "-c", "dev", "bases=alice/prod", "title=Alice's dev")
        alice.ok("use", "alice/prod")
        alice.ok("upload", "--from-dir", work / "prod")
        alice.ok("upload", "--only-docs", docs)
        alice.ok("use", "alice/dev")
        alice.ok("upload", "--from-dir", work / "dev")
        alice.ok("upload", "--only-docs", docs_only)
        alice.ok("push", "dev-thing==0.1", "alice/prod")
        posted = httpx.post(
            _wheel_url(server, "alice/prod/hello-pkg/1.1"),
            content=toxresult,
            headers={"Content-Type": "application/json"},
        )
        assert posted.status_code == 200, posted.text
        bob.ok("use", server.url)
        bob.ok("login", "bob", "--password", BOB_PW)
        bob.ok("index", "-c", "dev")
        bob.ok("use", "bob/dev")
        bob.ok("upload", "--from-dir", work / "bob")
        views = {path: project_view(server.url, path) for path in PROJECTS}
    finally:
        server.stop()
    server.export(work / "export")
    dists = {**prod, **dev, **bobs}
    return Built(
        work / "export", dists, docs.read_bytes(), docs_only.read_bytes(), toxresult, work, views
    )


def pkgdepot_import(export: Path, serverdir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
    return subprocess.run(
        [sys.executable, "-m", "pkgdepot", "import", str(export), "--serverdir", str(serverdir)],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
