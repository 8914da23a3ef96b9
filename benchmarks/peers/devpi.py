"""devpi-server 6.20.3 (the venv ``scripts/bootstrap test`` makes) with its default settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks.model import Endpoints, Upstream
from benchmarks.peers import devpi_api
from benchmarks.peers.process import ServerProcess, Supervised, clean_environment, free_port

REPO = Path(__file__).resolve().parents[2]
DEVPI_BIN = REPO / ".venv-devpi" / "bin"
INIT_TIMEOUT = 300.0


def devpi_init(serverdir: Path, log: Path) -> None:
    """``devpi-init`` with root's password (bounded in time; its output in ``log``)."""
    with log.open("ab") as out:
        subprocess.run(
            [DEVPI_BIN / "devpi-init", "--serverdir", serverdir,
             "--root-passwd", devpi_api.ROOT_PASSWORD],
            env=clean_environment(), stdout=out, stderr=subprocess.STDOUT,
            timeout=INIT_TIMEOUT, check=True,
        )  # fmt: skip


class Devpi(Supervised):
    """``devpi-server --host 127.0.0.1 --port P --serverdir D``, otherwise its defaults
    (threads, mirror cache expiry, ``mirror_use_external_urls`` off: files are fetched and
    served by devpi-server itself). On every start root/pypi's ``mirror_url`` is set (as root,
    over the API) to the upstream, whose port changes from run to run. The first start on an
    empty directory runs ``devpi-init`` and creates the same user and indexes as pkgdepot's;
    ``reset`` forgets the directory; a given ``serverdir`` is started as it is."""

    name = "devpi-server"

    def __init__(self, upstream: Upstream, workdir: Path, *, serverdir: Path | None = None):
        self.upstream = upstream
        self.here = workdir.resolve() / "devpi"
        self.prepared = serverdir is not None
        self.serverdir = serverdir.resolve() if serverdir else self.here / "server"
        self._process: ServerProcess | None = None
        self.startup_seconds = 0.0

    def start(self) -> Endpoints:
        self.here.mkdir(parents=True, exist_ok=True)
        if not self.prepared and not self.serverdir.exists():
            devpi_init(self.serverdir, self.here / "init.log")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command: list[str | Path] = [
            DEVPI_BIN / "devpi-server", "--serverdir", self.serverdir,
            "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip
        self._process = ServerProcess(command, log=self.here / "server.log", cwd=self.here)
        self.startup_seconds = self._process.start(base + "/+api")
        with devpi_api.DevpiApi(base) as api:
            root = api.login("root", devpi_api.ROOT_PASSWORD)
            api.patch_index("root/pypi", [f"mirror_url={self.upstream.url}"], root)
        marker = self.here / "set-up"
        if not self.prepared and not marker.exists():
            devpi_api.set_up(base, self.upstream.stage_uploads)
            marker.touch()
        return devpi_api.endpoints(base, prepared=self.prepared)
