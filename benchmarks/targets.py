"""The targets of issue 6, checked against a run's figures.

A ratio is always oriented so that more than 1 is better for pkgdepot: ours / peer's for
"higher is better" metrics (req/s, MB/s, files/s), peer's / ours for "lower is better" ones
(ms, s, MB).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from benchmarks.context import CEILING, OURS
from benchmarks.model import Figure

PEERS = ("devpi-server", "proxpi", "pypiserver")
FLAT_MB = 20.0  # "memory flat while serving the list": the tree grew by at most this


def ratio(ours: float, theirs: float, better: str) -> float | None:
    """More than 1: pkgdepot is better by that factor."""
    if better == "higher":
        return ours / theirs if theirs else None
    return theirs / ours if ours else None


@dataclasses.dataclass(frozen=True)
class Target:
    text: str  # as the issue says it
    matches: Callable[[str], bool]  # which workloads it is about
    metric: str
    peer: str | None  # None: an absolute bound on pkgdepot's own figure
    bound: float  # the ratio (or, without a peer, the value) that meets it

    def met(self, value: float) -> bool:
        if self.peer is None:
            return value < self.bound if self.metric.endswith("ms") else value <= self.bound
        return value >= self.bound


def _busy_page(workload: str) -> bool:
    return workload.startswith("warm page") and workload.endswith("c=32")


def _download(workload: str) -> bool:
    return workload.startswith("download")


TARGETS = (
    Target("warm pages c=32: >= 10x devpi's req/s", _busy_page, "req/s", "devpi-server", 10),
    Target("warm pages c=32: >= 2x proxpi's req/s", _busy_page, "req/s", "proxpi", 2),
    Target("warm pages c=32: p99 <= 0.1x devpi's", _busy_page, "p99 ms", "devpi-server", 10),
    Target("downloads: >= 2x devpi's MB/s", _download, "MB/s", "devpi-server", 2),
    Target("downloads: >= 0.8x nginx's MB/s", _download, "MB/s", CEILING, 0.8),
    Target(
        "cold install: through the mirror <= 1.05x direct",
        lambda w: w.startswith("cold pip install"),
        "s",
        CEILING,
        1 / 1.05,
    ),
    Target(
        "uploads: >= 5x devpi's files/s",
        lambda w: w.startswith("twine upload"),
        "files/s",
        "devpi-server",
        5,
    ),
    Target("peak RSS: <= 0.4x devpi's", lambda w: w == "peak RSS", "MB", "devpi-server", 2.5),
    *(
        Target(f"peak RSS: below {peer}'s", lambda w: w == "peak RSS", "MB", peer, 1.0 + 1e-9)
        for peer in PEERS
    ),
    Target(
        "5,000-version page warm: p50 < 2 ms",
        lambda w: w.startswith("5000-version page warm"),
        "p50 ms",
        None,
        2.0,
    ),
    Target(
        f"memory flat serving the list: grows <= {FLAT_MB:.0f} MB",
        lambda w: w == "project list",
        "RSS growth MB",
        None,
        FLAT_MB,
    ),
)


@dataclasses.dataclass(frozen=True)
class Outcome:
    target: str
    workload: str
    metric: str
    peer: str | None
    value: float  # the ratio (> 1: better for pkgdepot), or pkgdepot's own figure
    bound: float
    met: bool
    plain: float  # pkgdepot's figure / the peer's (as the target says it), or its own figure


def evaluate(figures: list[Figure]) -> list[Outcome]:
    """Every target that the run's figures allow checking (a peer left out of the run, or
    without that workload, gives no outcome)."""
    by_key = {(f.workload, f.metric, f.server): f for f in figures}
    outcomes = []
    for target in TARGETS:
        for (workload, metric, server), ours in by_key.items():
            if server != OURS or metric != target.metric or not target.matches(workload):
                continue
            if target.peer is None:
                value: float | None = ours.value
                plain = ours.value
            else:
                theirs = by_key.get((workload, metric, target.peer))
                value = None if theirs is None else ratio(ours.value, theirs.value, ours.better)
                plain = ours.value / theirs.value if theirs and theirs.value else 0.0
            if value is None:
                continue
            met = target.met(value)
            outcome = Outcome(
                target.text, workload, metric, target.peer, value, target.bound, met, plain
            )
            outcomes.append(outcome)
    return outcomes
