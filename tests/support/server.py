"""A real ``pkgdepot serve`` process on 127.0.0.1, started and stopped by tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.support.procs import stop_group

ROOT_PASSWORD = "root-secret"
# Where root/pypi points unless a test gives --mirror-url: a local port nobody listens on, so
# no test can reach the internet through the mirror.
NOWHERE = "http://127.0.0.1:9/simple/"
_URL_LINE = re.compile(r"serving on (http://\S+/|unix:\S+)")


class ServerProcess:
    def __init__(
        self, serverdir: Path, *, workers: int = 1, extra_args: Sequence[str] = ()
    ) -> None:
        self.serverdir = serverdir
        self.workers = workers
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen[str] | None = None
        self._drainer: threading.Thread | None = None
        self.url = ""
        self.unix_socket: Path | None = None  # set when serving on a unix socket
        self.output: list[str] = []

    def start(self, timeout: float = 30.0) -> ServerProcess:
        command = [
            sys.executable, "-m", "pkgdepot", "serve",
            "--serverdir", str(self.serverdir),
            "--host", "127.0.0.1", "--port", "0",
            "--workers", str(self.workers),
            "--root-password", ROOT_PASSWORD,
            "--log-level", "warning",
            *self.extra_args,
        ]  # fmt: skip
        if "--mirror-url" not in self.extra_args:
            command += ["--mirror-url", NOWHERE]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.process.stdout:
            self.output.append(line)
            match = _URL_LINE.search(line)
            if match:
                address = match.group(1)
                if address.startswith("unix:"):
                    self.unix_socket = Path(address.removeprefix("unix:"))
                    address = "http://localhost"
                self.url = address.rstrip("/")
                break
            if time.monotonic() > deadline:
                break
        if not self.url:
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.output))
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        self._wait_ready(deadline)
        return self

    def _drain(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client for this server, over its unix socket if it listens on one."""
        if self.unix_socket is not None:
            kwargs["transport"] = httpx.HTTPTransport(uds=str(self.unix_socket))
        return httpx.Client(base_url=self.url, **kwargs)

    def _wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with self.client(timeout=2) as client:
                    if client.get("/+api").status_code == 200:
                        return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not answer:\n" + "".join(self.output))

    def stop(self) -> None:
        if self.process is None:
            return
        stop_group(self.process, timeout=15)
        self._close()

    def kill(self) -> None:
        """``kill -9`` of the whole process group: no chance to clean up."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._close()

    def _close(self) -> None:
        assert self.process is not None
        if self._drainer is not None:
            self._drainer.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def restart(self) -> ServerProcess:
        self.stop()
        self.url = ""
        self.unix_socket = None
        return self.start()


@contextlib.contextmanager
def without_internal_errors(server: ServerProcess) -> Iterator[None]:
    """What the server logs meanwhile holds no traceback and no internal error."""
    seen = len(server.output)
    yield
    logged = "".join(server.output[seen:])
    assert "Traceback" not in logged, logged
    assert "internal error" not in logged, logged
