"""proxpi 1.3.1, the mirror-only peer, run as its Docker image runs it."""

from __future__ import annotations

from pathlib import Path

from benchmarks.model import Endpoints, Upstream
from benchmarks.peers.process import ServerProcess, Supervised, clean_environment, free_port

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / "benchmarks" / ".work" / "venv-proxpi"
VERSION = "1.3.1"


class Proxpi(Supervised):
    """gunicorn with the options of proxpi's Dockerfile: ``--preload``, its access log and
    logger class, one worker process with 2 threads (``--threads 2``, the image's default
    command; its README: the index cache lives in memory and is not shared between processes,
    "so use multiple threads instead of multiple processes"). ``PROXPI_INDEX_URL`` is the
    upstream, ``PROXPI_CACHE_DIR`` a directory of its own (files cached on disk, up to the
    default 5 GB); the index cache keeps its default time-to-live (30 minutes). Mirror only."""

    name = "proxpi"

    def __init__(self, upstream: Upstream, workdir: Path) -> None:
        self.upstream = upstream
        self.here = workdir.resolve() / "proxpi"
        self._process: ServerProcess | None = None
        self.startup_seconds = 0.0

    def start(self) -> Endpoints:
        self.here.mkdir(parents=True, exist_ok=True)
        (self.here / "cache").mkdir(exist_ok=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command: list[str | Path] = [
            VENV / "bin" / "gunicorn",
            "--preload",
            "--access-logfile", "-",
            "--access-logformat", '%(h)s "%(r)s" %(s)s %(b)s %(M)dms',
            "--logger-class", "proxpi.server._GunicornLogger",
            "--bind", f"127.0.0.1:{port}",
            "--threads", "2",
            "proxpi.server:app",
        ]  # fmt: skip
        env = clean_environment(
            {
                "PROXPI_INDEX_URL": self.upstream.url,
                "PROXPI_CACHE_DIR": str(self.here / "cache"),
                "HOME": str(self.here),  # gunicorn's control socket goes to ~/.gunicorn
            }
        )
        self._process = ServerProcess(command, log=self.here / "server.log", cwd=self.here, env=env)
        self.startup_seconds = self._process.start(base + "/health")
        return Endpoints(
            base=base,
            mirror_simple=base + "/index/",
            stage_simple=None,
            upload_url=None,
            upload_auth=None,
            upload_simple=None,
        )
