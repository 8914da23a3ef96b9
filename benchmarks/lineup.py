"""The servers a run can include, by name, and how each is made."""

from __future__ import annotations

from pathlib import Path

from benchmarks.context import ServerFactory
from benchmarks.model import Server, Upstream
from benchmarks.peers.nginx import NginxStatic

# The order servers alternate in; pkgdepot first.
SERVERS = ("pkgdepot", "devpi-server", "proxpi", "pypiserver", "nginx")


def factory_for(upstream: Upstream, workdir: Path) -> ServerFactory:
    def make(name: str, kind: str) -> Server:
        if name == "nginx":
            if kind != "main":
                raise LookupError(f"nginx has no {kind} server")
            return NginxStatic(upstream, workdir)
        raise LookupError(f"no server {name} ({kind}) yet")

    return make
