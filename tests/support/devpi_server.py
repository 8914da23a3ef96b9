"""The real devpi-server (from the test set-up's .venv-devpi) and the real devpi client.

devpi-server runs with ``--offline-mode`` on 127.0.0.1 and its mirror is never asked for
anything; the client runs in its own home, cut off from this machine's configuration.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import isolated_environment
from tests.support.procs import stop_group

DEVPI_VENV = Path(__file__).resolve().parents[2] / ".venv-devpi" / "bin"
DEVPI_CLIENT = Path(sys.executable).parent / "devpi"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run(command: list[str | Path], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{command} failed:\n{output}"
    return output


@dataclasses.dataclass
class DevpiServer:
    """``devpi-init``, ``devpi-server`` and ``devpi-export`` on one server directory."""

    serverdir: Path
    home: Path
    url: str = ""
    process: subprocess.Popen[str] | None = None

    @property
    def env(self) -> dict[str, str]:
        return isolated_environment(self.home)

    def init(self, root_password: str) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        _run(
            [DEVPI_VENV / "devpi-init", "--serverdir", self.serverdir,
             "--root-passwd", root_password],
            self.env, self.home,
        )  # fmt: skip

    def start(self, timeout: float = 90.0) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = (self.home / "devpi-server.log").open("w")
        self.process = subprocess.Popen(
            [str(DEVPI_VENV / "devpi-server"), "--serverdir", str(self.serverdir),
             "--host", "127.0.0.1", "--port", str(port), "--offline-mode"],
            env=self.env, cwd=self.home, stdout=log, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(self.url + "/+api", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("devpi-server did not start:\n" + self.log())

    def log(self) -> str:
        return (self.home / "devpi-server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is None:
            return
        stop_group(self.process, timeout=30)
        self.process = None

    def export(self, target: Path) -> str:
        """``devpi-export`` (the server must be stopped)."""
        assert self.process is None
        return _run(
            [DEVPI_VENV / "devpi-export", "--serverdir", self.serverdir, target],
            self.env, self.home,
        )  # fmt: skip


@dataclasses.dataclass
class DevpiClient:
    """The ``devpi`` command as one person, with their own home and client state."""

    home: Path

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)

    def ok(self, *args: str | Path) -> str:
        return _run([DEVPI_CLIENT, *args], isolated_environment(self.home), self.home)
