"""A server process of the benchmark: started in its own session with its log in a file,
waited for until it answers (bounded), its whole process tree listed, and stopped as a group."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

START_TIMEOUT = 120.0  # seconds a server gets to answer its first request
STOP_TIMEOUT = 20.0  # seconds a server gets to exit after SIGTERM, before SIGKILL


class ServerFailed(RuntimeError):
    """A server did not start or did not answer; the message ends with its log's tail."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def process_tree(pid: int) -> list[int]:
    """``pid`` and every live process below it (Linux: /proc/PID/task/PID/children)."""
    found = [pid]
    for parent in found:
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found += [int(child) for child in children.split()]
    return [pid for pid in found if Path(f"/proc/{pid}").exists()]


def clean_environment(extra: Mapping[str, str] = {}) -> dict[str, str]:
    """This machine's environment without the settings of any server or client under test."""
    prefixes = (
        "PKGDEPOT_",
        "DEVPI_",
        "DEVPISERVER_",
        "PROXPI_",
        "PYPISERVER_",
        "PIP_",
        "UV_",
        "TWINE_",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


class ServerProcess:
    """One started command (and the processes it starts), logging to ``log``."""

    def __init__(
        self,
        command: Sequence[str | Path],
        *,
        log: Path,
        cwd: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.command = [str(part) for part in command]
        self.log = log
        self.cwd = cwd
        self.env = clean_environment() if env is None else dict(env)
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in = 0.0  # seconds from spawn to the first answer, in the last start

    def start(self, ready_url: str, *, timeout: float = START_TIMEOUT) -> float:
        """Start, and return once ``ready_url`` answers 200: the seconds that took."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5, trust_env=False) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.fail(f"exited with status {self.process.returncode}")
                try:
                    if http.get(ready_url).status_code == 200:
                        self.started_in = time.perf_counter() - began
                        return self.started_in
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        self.fail(f"did not answer {ready_url} within {timeout:.0f} s")
        raise AssertionError("unreachable")

    def fail(self, why: str) -> None:
        self.stop()
        raise ServerFailed(f"{self.command[0]} {why}; the end of {self.log}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def pids(self) -> list[int]:
        if self.process is None or self.process.poll() is not None:
            return []
        return process_tree(self.process.pid)

    def stop(self, *, graceful: signal.Signals = signal.SIGTERM) -> None:
        """``graceful`` to the whole process group, SIGKILL if it is not gone in time; then
        every process of the group is waited for (bounded)."""
        if self.process is None:
            return
        group = self.process.pid
        if self.process.poll() is None:
            _signal_group(group, graceful)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(group, signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT)
        # Workers may outlive their parent for a moment: the group is gone when none is left.
        deadline = time.monotonic() + STOP_TIMEOUT
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_alive(group):
            _signal_group(group, signal.SIGKILL)
        self.process = None


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


class Supervised:
    """``pids``, ``stop`` and ``reset`` of a server under test run as one ``ServerProcess``
    with its files in ``here``: ``reset`` stops it and forgets them (all but a prepared
    server directory), so the next ``start`` is a fresh server."""

    here: Path
    prepared = False
    stop_signal = signal.SIGTERM
    _process: ServerProcess | None = None

    def pids(self) -> list[int]:
        return self._process.pids() if self._process else []

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(graceful=self.stop_signal)
            self._process = None

    def reset(self) -> None:
        self.stop()
        if not self.prepared:
            shutil.rmtree(self.here, ignore_errors=True)
