"""Fixtures shared by every test directory."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.client import Api
from tests.support.server import ServerProcess

_counter = itertools.count()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server for the tests that can share it (each uses its own user names)."""
    process = ServerProcess(tmp_path_factory.mktemp("shared-server")).start()
    yield process
    process.stop()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Api]:
    client = Api(server.url)
    yield client
    client.close()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names no other test uses on the shared server."""
    return lambda prefix: f"{prefix}{next(_counter)}"


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start private servers (for restarts, kills and worker tests); all stopped at the end."""
    started: list[ServerProcess] = []

    def start(workers: int = 1, serverdir: Path | None = None, **kwargs: object) -> ServerProcess:
        directory = serverdir or tmp_path / f"server{len(started)}"
        process = ServerProcess(directory, workers=workers, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()
