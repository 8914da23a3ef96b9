"""What the parts of the benchmark hand each other: the upstream, each server's endpoints,
and a measured figure."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class UpstreamFile:
    filename: str
    sha256: str
    size: int


@dataclasses.dataclass(frozen=True)
class Upstream:
    """The generated upstream index, on disk and served by nginx from static files."""

    root: Path  # the static tree: simple/, files/
    url: str  # its simple index, e.g. http://127.0.0.1:PORT/simple/ (PEP 503 HTML)
    projects: tuple[str, ...]  # normalized names of the projects with real files
    big_project: str  # the project with 5,000 versions
    big_wheel: UpstreamFile  # the 50 MB wheel, in project ``big_wheel_project``
    big_wheel_project: str
    small_page_project: str  # a typical project: the "warm simple page" workloads ask for it
    install_set: tuple[str, ...]  # the 10 projects ``pip install`` takes in the install workload
    files: dict[str, UpstreamFile]  # every real file by filename, with its true sha256
    uploads: Path  # 50 real distribution files (wheels and sdists) for the upload workload
    list_size: int  # names in the project list (1,000,000)
    # 10 files of one private project (``private_project``), not on the upstream: what each
    # server's stage (or pypiserver's only) index holds, so their pages can be compared
    stage_uploads: Path | None = None
    private_project: str = ""


@dataclasses.dataclass(frozen=True)
class Endpoints:
    """Where a started server answers. A peer without a capability has None there."""

    base: str  # http://127.0.0.1:PORT
    mirror_simple: str | None  # simple index of the mirror of the upstream, ending in /
    stage_simple: str | None  # simple index of the stage index (mirror as base + uploads)
    upload_url: str | None  # what twine gets as --repository-url
    upload_auth: tuple[str, str] | None  # user, password for uploads
    upload_simple: str | None  # simple index of the index the uploads land in


class Server(Protocol):
    """A server under test. ``start`` returns once it answers; ``pids`` is its whole process
    tree now (for memory); ``stop`` ends it and waits."""

    name: str

    def start(self) -> Endpoints: ...

    def pids(self) -> list[int]: ...

    def stop(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class Figure:
    """One measured number of one server in one workload."""

    workload: str  # e.g. "warm page html mirror c=32"
    server: str  # "pkgdepot", "devpi-server", "proxpi", "pypiserver", "nginx"
    metric: str  # "req/s", "p50 ms", "p99 ms", "MB/s", "s", "files/s", "MB"
    value: float
    better: str  # "higher" or "lower"
    errors: int = 0  # failed or wrong responses seen while measuring
