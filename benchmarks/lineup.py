"""The servers a run can include, by name, and how each kind of them is made (servers.py
has the classes)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from benchmarks.context import ServerFactory
from benchmarks.model import Endpoints, Upstream
from benchmarks.seed_startup import KINDS, prepare_startup_dir
from benchmarks.servers import Devpi, NginxStatic, Pkgdepot, Proxpi, Pypiserver

# The order servers alternate in; pkgdepot first.
SERVERS = ("pkgdepot", "devpi-server", "proxpi", "pypiserver", "nginx")


class _Resettable(Protocol):
    name: str

    def start(self) -> Endpoints: ...

    def pids(self) -> list[int]: ...

    def stop(self) -> None: ...

    def reset(self) -> None: ...

    @property
    def startup_seconds(self) -> float: ...


def _server(name: str, upstream: Upstream, workdir: Path) -> _Resettable:
    if name == "pkgdepot":
        return Pkgdepot(upstream, workdir)
    if name == "devpi-server":
        return Devpi(upstream, workdir)
    if name == "proxpi":
        return Proxpi(upstream, workdir)
    if name == "pypiserver":
        return Pypiserver(upstream, workdir)
    if name == "nginx":
        return NginxStatic(upstream, workdir)
    raise LookupError(f"no server called {name}")


def factory_for(upstream: Upstream, workdir: Path) -> ServerFactory:
    """``main``: the server every shared workload uses, on a fresh directory (whatever an
    earlier run left is forgotten). ``fresh``: another one on an empty directory of its own,
    for the cold install. ``startup-N``: on the prepared directory with N projects (made the
    first time, then reused)."""

    def make(name: str, kind: str) -> _Resettable:
        if kind.startswith("startup-") and name in KINDS:
            serverdir = prepare_startup_dir(name, workdir, int(kind.removeprefix("startup-")))
            cls = Pkgdepot if name == "pkgdepot" else Devpi
            return cls(upstream, workdir / "startup-runs", serverdir=serverdir)
        if kind == "main":
            server = _server(name, upstream, workdir / "servers")
        elif kind == "fresh":
            server = _server(name, upstream, workdir / "fresh")
        else:
            raise LookupError(f"no {kind} server for {name}")
        server.reset()
        return server

    return make
