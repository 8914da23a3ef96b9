"""Server directories holding 100,000 projects, for the start-up workload.

    prepare_startup_dir("pkgdepot" | "devpi-server", workdir, count=100_000) -> serverdir

Both hold the same data: the users root and bench, and the stage index ``bench/big`` (no
bases) with ``count`` projects of one version each (name, version, summary; no files), made
the way each server's operators would: an export in the server's own format, imported with
its own command. pkgdepot gets one in docs/export-format.md's format (``pkgdepot import``),
devpi-server a devpi export (``devpi-import``) grown from what ``devpi-export`` writes for a
freshly initialised server. pkgdepot's can also be written straight through its storage
layer (the default: ``pkgdepot import`` commits a transaction per few hundred rows and takes
minutes for 100,000 projects). Each import is bounded (``IMPORT_TIMEOUT``): devpi-import
commits one transaction per project, so devpi-server gets ``STARTUP_COUNTS``' smaller count.
A directory is cached under ``workdir/startup/`` with a stamp and reused while the stamp says
the same; a preparation that failed is remembered there too (``KIND-COUNT.failed``).
Start a server on it with ``Pkgdepot(upstream, workdir, serverdir=...)`` (or ``Devpi``):
its Endpoints' ``stage_simple`` is then bench/big's simple index (the project list).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.peers import devpi_api
from benchmarks.peers.devpi import DEVPI_BIN
from benchmarks.peers.pkgdepot import PKGDEPOT
from benchmarks.peers.process import clean_environment
from pkgdepot.app import open_services
from pkgdepot.config import Settings
from pkgdepot.domain.permissions import Identity

BIG_INDEX = devpi_api.BIG
INDEX_USER, INDEX_NAME = BIG_INDEX.split("/")
IMPORT_TIMEOUT = 300.0  # seconds; past it the import is stopped and reported as failed
CREATED = "2026-01-01T00:00:00Z"
KINDS = ("pkgdepot", "devpi-server")
# devpi-import commits each project in a transaction of its own: about 15-35 ms each on the
# 2-core development VM, so 100,000 projects would take 25-60 minutes. devpi-server's
# directory gets STARTUP_COUNTS' smaller count (pkgdepot can be prepared with both, to compare
# like with like).
STARTUP_COUNTS = {"pkgdepot": 100_000, "devpi-server": 5_000}


class PrepareFailed(RuntimeError):
    pass


def project_names(count: int) -> Iterator[str]:
    words = ("alpha", "beta", "gamma", "delta", "omega", "data", "net", "io", "kit", "lab")
    for n in range(count):
        yield f"{words[n % 10]}-{words[(n // 10) % 10]}-{n:06d}"


def _release(name: str) -> dict[str, Any]:
    return {"name": name, "version": "1.0", "summary": f"The project {name}"}


def prepare_startup_dir(
    kind: str, workdir: Path, count: int = 100_000, *, via_import: bool = False
) -> Path:
    """A server directory of ``kind`` with ``count`` projects (cached; see the module doc).
    pkgdepot's is written through its storage layer unless ``via_import``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    here = workdir.resolve() / "startup" / f"{kind}-{count}"
    serverdir = here / "server"
    stamp = here / "stamp.json"
    key = json.dumps({"kind": kind, "count": count, "format": 1, "via_import": via_import})
    if stamp.exists() and stamp.read_text() == key and serverdir.exists():
        return serverdir
    # A preparation that failed (timed out) is not tried again on every run: remove the file
    # (or the whole directory) to try again.
    failed = workdir.resolve() / "startup" / f"{kind}-{count}.failed"
    if failed.exists() and failed.read_text().startswith(key + "\n"):
        raise PrepareFailed(
            f"an earlier run could not prepare it ({failed}):\n{failed.read_text()}"
        )
    shutil.rmtree(here, ignore_errors=True)
    here.mkdir(parents=True)
    began = time.perf_counter()
    try:
        export = _prepare(kind, here, serverdir, count, via_import=via_import)
    except PrepareFailed as error:
        failed.write_text(f"{key}\n{error}\n")
        raise
    if export is not None:
        shutil.rmtree(export)
    (here / "seconds").write_text(f"{time.perf_counter() - began:.1f}\n")
    stamp.write_text(key)
    return serverdir


def _prepare(
    kind: str, here: Path, serverdir: Path, count: int, *, via_import: bool
) -> Path | None:
    """Writes ``serverdir``; returns the export it imported (to remove), if any."""
    if kind == "pkgdepot" and not via_import:
        _pkgdepot_direct(serverdir, count, here / "import.log")
        export = None
    elif kind == "pkgdepot":
        export = _pkgdepot_export(here / "export", count)
        _run([PKGDEPOT, "import", "--serverdir", serverdir, export], here / "import.log")
    else:
        export = _devpi_export(here, count)
        command: list[str | Path] = [
            DEVPI_BIN / "devpi-import", "--serverdir", serverdir,
            "--root-passwd", devpi_api.ROOT_PASSWORD, export,
        ]  # fmt: skip
        _run(command, here / "import.log")
    return export


def _run(command: list[str | Path], log: Path) -> None:
    with log.open("ab") as out:
        try:
            done = subprocess.run(
                [str(part) for part in command],
                env=clean_environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=IMPORT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PrepareFailed(
                f"{command[0]} did not finish in {IMPORT_TIMEOUT:.0f} s (see {log})"
            ) from None
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise PrepareFailed(f"{command[0]} failed ({done.returncode}):\n{tail}")


def _pkgdepot_direct(serverdir: Path, count: int, log: Path) -> None:
    """``pkgdepot init``, then the user, index, projects and releases written through the
    services and the storage layer the server itself uses, in transactions of 5,000 projects
    (as benchmarks/render_5000_versions.py seeds its project)."""
    command: list[str | Path] = [
        PKGDEPOT,
        "init",
        "--serverdir",
        serverdir,
        "--root-password",
        devpi_api.ROOT_PASSWORD,
    ]
    _run(command, log)
    services = open_services(Settings(serverdir=serverdir))
    try:
        services.accounts.create(Identity("root"), INDEX_USER, {"password": devpi_api.PASSWORD})
        config = {"bases": [], "volatile": True}
        services.indexes.create(Identity(INDEX_USER), INDEX_USER, INDEX_NAME, config)
        index = services.catalog.get(INDEX_USER, INDEX_NAME)
        names = list(project_names(count))
        for start in range(0, count, 5000):
            with services.store.transaction(INDEX_USER) as tx:
                for name in names[start : start + 5000]:
                    tx.touch_project(index.id, name, name)
                    tx.put_release(index.id, name, "1.0", _release(name))
    finally:
        services.store.close()


def _jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> int:
    written = 0
    with path.open("w") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
            written += 1
    return written


def _pkgdepot_export(export: Path, count: int) -> Path:
    """docs/export-format.md, version 1; root and root/pypi are made by the import."""
    export.mkdir(parents=True)
    (export / "blobs").mkdir()
    counts = {
        "users": _jsonl(
            export / "users.jsonl",
            iter([{"name": INDEX_USER, "pwhash": None, "config": {}, "created": CREATED}]),
        ),
        "indexes": _jsonl(
            export / "indexes.jsonl",
            iter(
                [
                    {
                        "user": INDEX_USER,
                        "name": INDEX_NAME,
                        "type": "stage",
                        "config": {"bases": [], "volatile": True},
                    }
                ]
            ),
        ),
        "projects": _jsonl(
            export / "projects.jsonl",
            ({"index": BIG_INDEX, "name": name} for name in project_names(count)),
        ),
        "releases": _jsonl(
            export / "releases.jsonl",
            (
                {"index": BIG_INDEX, "project": name, "version": "1.0", "metadata": _release(name)}
                for name in project_names(count)
            ),
        ),
        "files": _jsonl(export / "files.jsonl", iter([])),
        "blobs": 0,
    }
    manifest = {"format": "pkgdepot-export", "version": 1, "counts": counts}
    (export / "manifest.json").write_text(json.dumps(manifest))
    return export


def _devpi_export(here: Path, count: int) -> Path:
    """What devpi-export writes for a fresh server, with bench and bench/big added."""
    fresh, export = here / "fresh", here / "export"
    log = here / "import.log"
    _run(
        [DEVPI_BIN / "devpi-init", "--serverdir", fresh, "--root-passwd", devpi_api.ROOT_PASSWORD],
        log,
    )
    _run([DEVPI_BIN / "devpi-export", "--serverdir", fresh, export], log)
    shutil.rmtree(fresh)
    dump = json.loads((export / "dataindex.json").read_text())
    dump["users"][INDEX_USER] = {**dump["users"]["root"], "username": INDEX_USER}
    dump["indexes"][BIG_INDEX] = {
        "indexconfig": {
            "type": "stage",
            "bases": [],
            "volatile": True,
            "acl_upload": [INDEX_USER],
            "acl_toxresult_upload": [":ANONYMOUS:"],
            "mirror_whitelist": [],
            "mirror_whitelist_inheritance": "intersection",
        },
        "projects": {name: {"1.0": _release(name)} for name in project_names(count)},
        "files": [],
    }
    (export / "dataindex.json").write_text(json.dumps(dump))
    return export
