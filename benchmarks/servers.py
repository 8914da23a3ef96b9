"""The servers under test, each started on 127.0.0.1 against the upstream (see model.Server):

    Pkgdepot, Devpi           a mirror (root/pypi), bench/stage (base root/pypi, 10 uploads)
                              and bench/uploads (empty, for twine)
    Proxpi                    mirror only
    Pypiserver                private packages only (the 10 stage uploads, and twine's)
    NginxStatic               the ceiling: the static upstream tree and its files

Each takes ``(upstream, workdir)``; ``start()`` returns its Endpoints once it answers,
``stop()`` ends its whole process group, ``start()`` again restarts it on the same directory,
``reset()`` stops it and forgets its directory (the next start is fresh: a cold cache), and
``startup_seconds`` is how long the last start took to answer. Pkgdepot and Devpi also take
``serverdir=`` a prepared directory (``prepare_startup_dir``).
"""

from __future__ import annotations

from benchmarks.peers.devpi import Devpi
from benchmarks.peers.nginx import NginxStatic
from benchmarks.peers.pkgdepot import Pkgdepot
from benchmarks.peers.process import ServerFailed
from benchmarks.peers.proxpi import Proxpi
from benchmarks.peers.pypiserver import Pypiserver

__all__ = ["Devpi", "NginxStatic", "Pkgdepot", "Proxpi", "Pypiserver", "ServerFailed"]
