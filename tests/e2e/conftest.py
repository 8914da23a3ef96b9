"""Real clients (twine, uv, pip) run as subprocesses, cut off from this machine's configuration
and from the network: only our server on 127.0.0.1 can answer them."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
# Any connection that is not to 127.0.0.1 goes to this proxy, which is a closed port.
NOWHERE = "http://127.0.0.1:9"


def isolated_environment(home: Path) -> dict[str, str]:
    """The environment without anything that configures pip, uv or twine from outside."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("PIP_", "UV_", "TWINE_", "PYTHON", "VIRTUAL_ENV"))
        and key.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        UV_NO_CONFIG="1",
        UV_CACHE_DIR=str(home / "uv-cache"),
        UV_PYTHON_DOWNLOADS="never",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        NO_COLOR="1",
        COLUMNS="300",  # twine's messages are not wrapped
    )
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        env[name] = env[name.upper()] = NOWHERE
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


@dataclasses.dataclass
class Clients:
    """Runs the test venv's twine and uv, and pip and Python in fresh venvs."""

    home: Path
    env: dict[str, str]

    def run(self, command: Sequence[str | Path]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(part) for part in command],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )

    def check(self, command: Sequence[str | Path]) -> str:
        """Run a command that must succeed; its output when it does."""
        done = self.run(command)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def twine_upload(
        self, url: str, user: str, password: str, files: Sequence[Path]
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            [
                BIN / "twine", "upload",
                "--non-interactive", "--disable-progress-bar",
                "--repository-url", url,
                "--username", user, "--password", password,
                *files,
            ]
        )  # fmt: skip

    def uv_publish(
        self, url: str, user: str, password: str, files: Sequence[Path]
    ) -> subprocess.CompletedProcess[str]:
        return self.run(
            [
                BIN / "uv", "publish",
                "--no-config",
                "--publish-url", url,
                "--username", user, "--password", password,
                "--trusted-publishing", "never",
                *files,
            ]
        )  # fmt: skip

    def new_venv(self, name: str, *, with_pip: bool) -> Path:
        """A fresh venv, with the pip that ensurepip brings or none; returns its python."""
        directory = self.home / name
        self.check(
            [sys.executable, "-m", "venv", *([] if with_pip else ["--without-pip"]), directory]
        )
        return directory / "bin" / "python"

    def pip_install(self, python: Path, index_url: str, *requirements: str) -> str:
        return self.check(
            [
                python, "-m", "pip", "--isolated", "install",
                "--disable-pip-version-check", "--no-cache-dir", "--no-input",
                "--index-url", index_url,
                *requirements,
            ]
        )  # fmt: skip

    def uv_pip_install(self, python: Path, index_url: str, *requirements: str) -> str:
        return self.check(
            [
                BIN / "uv", "pip", "install",
                "--no-config",
                "--python", python,
                "--index-url", index_url,
                *requirements,
            ]
        )  # fmt: skip


def clients_in(home: Path) -> Clients:
    home.mkdir(parents=True, exist_ok=True)
    return Clients(home, isolated_environment(home))


@pytest.fixture
def clients(tmp_path: Path) -> Clients:
    return clients_in(tmp_path / "home")
