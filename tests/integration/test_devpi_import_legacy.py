"""A devpi-server export holding setuptools' legacy formats imports whole: every file is listed
and served as devpi served it, and pip installs the zip sdist from pkgdepot afterwards."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import clients_in
from tests.support import legacy_dists
from tests.support.devpi_dump import to_dump_version_1
from tests.support.devpi_scenario import pkgdepot_import, project_view
from tests.support.devpi_server import DevpiClient, DevpiServer
from tests.support.server import ServerProcess
from tests.support.uploading import Built, encode_multipart, twine_form

PASSWORD = "legacy-pw"
SEED_WHEELS = Path(sys.executable).parent.parent.joinpath(
    "lib", f"python{sys.version_info.major}.{sys.version_info.minor}", "site-packages",
    "virtualenv", "seed", "wheels", "embed",
)  # fmt: skip
PROJECT_PATH = "ann/dev/old-pkg"


def _setuptools_wheel() -> Built:
    wheel = sorted(SEED_WHEELS.glob("setuptools-*.whl"))[-1]
    return wheel.name, wheel.read_bytes()


def _post(url: str, name: str, version: str, built: Built) -> None:
    reply = httpx.post(
        f"{url}/ann/dev/",
        content=encode_multipart(twine_form(name, version, built[1]), built),
        headers={"Content-Type": "multipart/form-data; boundary=pkgdepot-test-boundary"},
        auth=("ann", PASSWORD),
        timeout=60,
    )
    assert reply.status_code == 200, (built[0], reply.status_code, reply.text)


def _devpi_export(work: Path) -> tuple[Path, dict[str, set[tuple[str, str, str]]]]:
    """ann/dev on devpi-server with every legacy format of old-pkg 1.0 (and setuptools, which
    pip needs to build the zip sdist); what devpi showed for old-pkg, and the export."""
    server = DevpiServer(work / "devpi-serverdir", work / "devpi-home")
    server.init("root-pw")
    server.start()
    try:
        ann = DevpiClient(work / "home-ann")
        ann.ok("use", server.url)
        ann.ok("user", "-c", "ann", f"password={PASSWORD}")
        ann.ok("login", "ann", "--password", PASSWORD)
        ann.ok("index", "-c", "dev")
        for _packagetype, built in legacy_dists.every_format("Old.Pkg", "1.0"):
            _post(server.url, "Old.Pkg", "1.0", built)
        wheel = _setuptools_wheel()
        _post(server.url, "setuptools", wheel[0].split("-")[1], wheel)
        view = project_view(server.url, PROJECT_PATH)
    finally:
        server.stop()
    server.export(work / "export")
    return work / "export", view


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, set[Any]]]:
    return _devpi_export(tmp_path_factory.mktemp("devpi-legacy"))


def test_devpi_export_with_legacy_formats_imports_whole(
    exported: tuple[Path, dict[str, set[tuple[str, str, str]]]],
    tmp_path: Path,
    start_server: Callable[..., ServerProcess],
) -> None:
    export, devpi_view = exported
    every = dict(built for _type, built in legacy_dists.every_format("Old.Pkg", "1.0"))
    assert {Path(href).name for _rel, href, _sha in devpi_view["1.0"]} == set(every)

    done = pkgdepot_import(export, tmp_path / "server")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "files 8" in done.stdout, done.stdout
    server = start_server(serverdir=tmp_path / "server")
    assert project_view(server.url, PROJECT_PATH) == devpi_view
    page = httpx.get(
        f"{server.url}/ann/dev/+simple/old-pkg/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    ).json()
    assert {f["filename"] for f in page["files"]} == set(every)
    for entry in page["files"]:
        data = every[entry["filename"]]
        assert entry["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
        url = httpx.URL(f"{server.url}/ann/dev/+simple/old-pkg/").join(entry["url"])
        assert httpx.get(url).content == data

    clients = clients_in(tmp_path / "home")
    python = clients.new_venv("venv", with_pip=True)
    clients.pip_install(python, f"{server.url}/ann/dev/+simple/", "old-pkg==1.0")
    shown = clients.check([python, "-c", "import old_pkg_mod; print(old_pkg_mod.VERSION)"])
    assert shown.split() == ["1.0"]


def test_a_dump_version_1_reads_each_version_from_its_filename(
    exported: tuple[Path, dict[str, set[tuple[str, str, str]]]],
    tmp_path: Path,
    start_server: Callable[..., ServerProcess],
) -> None:
    export, devpi_view = exported
    dump = to_dump_version_1(export, tmp_path / "dump-v1", {})
    done = pkgdepot_import(dump, tmp_path / "server")
    assert done.returncode == 0, done.stdout + done.stderr
    server = start_server(serverdir=tmp_path / "server")
    assert project_view(server.url, PROJECT_PATH) == devpi_view
