"""Memory of a server's whole process tree, read from /proc.

``Sampler`` watches every registered server about ten times a second from a background thread.
A server's peak is the sum over its processes of each one's VmHWM (its own peak resident set),
which never misses a peak between two samples; the largest sum of VmRSS seen at one sample is
kept too (it is at most the peak).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable

INTERVAL = 0.1


def _status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of one process in kB; empty if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            lines = status.read().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(rest.split()[0])
    return found


def rss_mb(pids: Iterable[int]) -> float:
    """The resident memory of these processes now, summed, in MB."""
    return sum(_status_kb(pid).get("VmRSS", 0) for pid in pids) / 1024


@dataclasses.dataclass
class TreeMemory:
    """What was seen of one server's process tree."""

    pids: Callable[[], list[int]]
    hwm_kb: dict[int, int] = dataclasses.field(default_factory=dict)
    max_rss_kb: int = 0
    samples: int = 0

    def sample(self) -> None:
        total_rss = 0
        for pid in self.pids():
            status = _status_kb(pid)
            if not status:
                continue
            total_rss += status.get("VmRSS", 0)
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), status.get("VmHWM", 0))
        self.max_rss_kb = max(self.max_rss_kb, total_rss)
        self.samples += 1

    @property
    def peak_mb(self) -> float:
        """The sum of each process's own peak (VmHWM), in MB."""
        return sum(self.hwm_kb.values()) / 1024

    @property
    def max_rss_mb(self) -> float:
        return self.max_rss_kb / 1024


class Sampler:
    """Samples every watched tree every ``INTERVAL`` seconds until ``stop``."""

    def __init__(self) -> None:
        self.trees: dict[str, TreeMemory] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def watch(self, name: str, pids: Callable[[], list[int]]) -> TreeMemory:
        with self._lock:
            tree = self.trees.setdefault(name, TreeMemory(pids))
            tree.pids = pids
        tree.sample()
        return tree

    def forget(self, name: str) -> None:
        """One last sample, then no more (call it before stopping the server; its figures
        stay in ``trees``)."""
        with self._lock:
            tree = self.trees.get(name)
        if tree is not None:
            tree.sample()
            tree.pids = list

    def _run(self) -> None:
        while not self._stopping.wait(INTERVAL):
            with self._lock:
                trees = list(self.trees.values())
            for tree in trees:
                try:
                    tree.sample()
                except Exception:  # noqa: S112 (a server stopping mid-sample is not an error)
                    continue

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
