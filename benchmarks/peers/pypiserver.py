"""pypiserver 2.4.2, the private-only peer, run as its Docker image runs it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from benchmarks.model import Endpoints, Upstream
from benchmarks.peers import devpi_api
from benchmarks.peers.process import ServerProcess, Supervised, clean_environment, free_port

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / "benchmarks" / ".work" / "venv-pypiserver"
VERSION = "2.4.2"

# What pypiserver's Docker image puts in /data/gunicorn.conf.py (its default server is
# gunicorn with one gevent worker; the access log is off there too).
_GUNICORN_CONF = """\
errorlog = "-"
preload_app = True
workers = 1
worker_class = "gevent"
"""


class Pypiserver(Supervised):
    """``pypi-server run --server gunicorn`` (with the image's gunicorn.conf.py: one gevent
    worker, preloaded) and ``--backend cached-dir`` (the package list cached in memory and
    refreshed by a watchdog on the directory: "pypiserver with its cache"). Uploads need a
    password from an htpasswd file in the ``{SHA}`` form its README makes (``htpasswd -s``,
    written here with passlib). Its package directory starts with the 10 stage uploads, so
    its page of the private project compares with the other servers' stage pages."""

    name = "pypiserver"

    def __init__(self, upstream: Upstream, workdir: Path) -> None:
        self.upstream = upstream
        self.here = workdir.resolve() / "pypiserver"
        self._process: ServerProcess | None = None
        self.startup_seconds = 0.0

    def _set_up(self) -> None:
        packages = self.here / "packages"
        packages.mkdir(parents=True)
        for file in (
            sorted(self.upstream.stage_uploads.iterdir()) if self.upstream.stage_uploads else []
        ):
            shutil.copy(file, packages / file.name)
        (self.here / "gunicorn.conf.py").write_text(_GUNICORN_CONF)
        script = (
            "import sys; from passlib.apache import HtpasswdFile; "
            "h = HtpasswdFile(sys.argv[1], new=True, default_scheme='ldap_sha1'); "
            "h.set_password(sys.argv[2], sys.argv[3]); h.save()"
        )
        subprocess.run(
            [VENV / "bin" / "python", "-c", script, self.here / "htpasswd",
             devpi_api.USER, devpi_api.PASSWORD],
            env=clean_environment(), check=True, timeout=60,
        )  # fmt: skip

    def start(self) -> Endpoints:
        if not (self.here / "htpasswd").exists():
            shutil.rmtree(self.here, ignore_errors=True)
            self._set_up()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command: list[str | Path] = [
            VENV / "bin" / "pypi-server", "run",
            "--host", "127.0.0.1", "--port", str(port),
            "--server", "gunicorn",
            "--backend", "cached-dir",
            "--passwords", self.here / "htpasswd", "--authenticate", "update",
            "--disable-fallback",
            self.here / "packages",
        ]  # fmt: skip
        env = clean_environment({"HOME": str(self.here)})  # gunicorn's socket: ~/.gunicorn
        self._process = ServerProcess(command, log=self.here / "server.log", cwd=self.here, env=env)
        self.startup_seconds = self._process.start(base + "/health")
        return Endpoints(
            base=base,
            mirror_simple=None,
            stage_simple=None,
            upload_url=base + "/",
            upload_auth=(devpi_api.USER, devpi_api.PASSWORD),
            upload_simple=base + "/simple/",
        )
