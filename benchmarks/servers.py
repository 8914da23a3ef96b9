"""The servers under test, each started on 127.0.0.1 against the upstream (see model.Server):

    Pkgdepot, Devpi           a mirror (root/pypi), bench/stage (base root/pypi, with the 10
                              stage uploads) and bench/uploads (empty, volatile: for twine)
    Proxpi                    mirror only (/index/)
    Pypiserver                private packages only: the 10 stage uploads, and twine's
    NginxStatic               the ceiling: the static upstream tree and its files

Each takes ``(upstream, workdir)`` (the upstream with its ``url``: ``upstream.served``) and
keeps its files in ``workdir/<its name>/``. ``start()`` returns its Endpoints once it answers,
``stop()`` ends its whole process group (bounded), ``start()`` again restarts it on the same
directory, ``reset()`` stops it and forgets its directory (the next start is fresh: empty
caches), ``pids()`` is its live process tree and ``startup_seconds`` how long its last start
took from spawn to a first answer (the set-up after a fresh start not included). Pkgdepot and
Devpi also take ``serverdir=`` a directory from ``prepare_startup_dir`` (then their Endpoints'
``stage_simple`` is the prepared index bench/big, and there is no upload index).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.model import Server, Upstream
from benchmarks.peers.devpi import Devpi
from benchmarks.peers.nginx import NginxStatic
from benchmarks.peers.pkgdepot import Pkgdepot
from benchmarks.peers.process import ServerFailed
from benchmarks.peers.proxpi import Proxpi
from benchmarks.peers.pypiserver import Pypiserver
from benchmarks.seed_startup import STARTUP_COUNTS, PrepareFailed, prepare_startup_dir

__all__ = [
    "STARTUP_COUNTS",
    "Devpi",
    "NginxStatic",
    "Pkgdepot",
    "PrepareFailed",
    "Proxpi",
    "Pypiserver",
    "ServerFailed",
    "every_server",
    "prepare_startup_dir",
]


def every_server(upstream: Upstream, workdir: Path) -> list[Server]:
    """One of each, pkgdepot first."""
    return [
        Pkgdepot(upstream, workdir),
        Devpi(upstream, workdir),
        Proxpi(upstream, workdir),
        Pypiserver(upstream, workdir),
        NginxStatic(upstream, workdir),
    ]
