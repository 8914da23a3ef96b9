"""pkgdepot itself: ``.venv/bin/pkgdepot serve`` with its default settings."""

from __future__ import annotations

from pathlib import Path

from benchmarks.model import Endpoints, Upstream
from benchmarks.peers import devpi_api
from benchmarks.peers.process import ServerProcess, Supervised, free_port

REPO = Path(__file__).resolve().parents[2]
PKGDEPOT = REPO / ".venv" / "bin" / "pkgdepot"


class Pkgdepot(Supervised):
    """``pkgdepot serve`` on 127.0.0.1 with default settings (workers, logging, caches) but
    its server directory, address, ``--mirror-url`` (the upstream) and root's password.

    The first start on an empty directory also creates, over the API, the user ``bench``,
    ``bench/stage`` (base root/pypi, with the 10 stage uploads) and the empty volatile
    ``bench/uploads``. ``stop`` then ``start`` restarts on the same directory; ``reset``
    forgets it, so the next ``start`` is on an empty one. With ``serverdir`` given (a
    prepared directory, see benchmarks/seed_startup.py) it starts on that as it is.
    """

    name = "pkgdepot"

    def __init__(self, upstream: Upstream, workdir: Path, *, serverdir: Path | None = None):
        self.upstream = upstream
        self.here = workdir.resolve() / "pkgdepot"
        self.prepared = serverdir is not None
        self.serverdir = serverdir.resolve() if serverdir else self.here / "server"
        self._process: ServerProcess | None = None
        self.startup_seconds = 0.0  # from spawn to its first answer, in the last start

    def start(self) -> Endpoints:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        self.here.mkdir(parents=True, exist_ok=True)
        command: list[str | Path] = [
            PKGDEPOT, "serve",
            "--serverdir", self.serverdir,
            "--host", "127.0.0.1", "--port", str(port),
            "--mirror-url", self.upstream.url,
            "--root-password", devpi_api.ROOT_PASSWORD,
        ]  # fmt: skip
        self._process = ServerProcess(command, log=self.here / "server.log", cwd=self.here)
        self.startup_seconds = self._process.start(base + "/+api")
        marker = self.here / "set-up"
        if not self.prepared and not marker.exists():
            devpi_api.set_up(base, self.upstream.stage_uploads)
            marker.touch()
        return devpi_api.endpoints(base, prepared=self.prepared)
