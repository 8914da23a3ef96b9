"""What every workload gets: the upstream, the running servers, the settings of the run, and
where its figures go."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from benchmarks.model import Endpoints, Figure, Server, Upstream

# The server whose figures are divided by each peer's; nginx is the ceiling, not a peer.
OURS = "pkgdepot"
CEILING = "nginx"


@dataclasses.dataclass
class Subject:
    """A started server and where it answers."""

    server: Server
    endpoints: Endpoints

    @property
    def name(self) -> str:
        return self.server.name


# Makes a server that is not started yet: ``kind`` is "fresh" (a new, empty server directory)
# or "startup" (the prepared directory with 100,000 projects).
ServerFactory = Callable[[str, str], Server]


@dataclasses.dataclass
class Bench:
    upstream: Upstream
    workdir: Path
    duration: float  # seconds of each wrk run
    quick: bool
    subjects: list[Subject]  # the long-running servers, in the order they alternate
    make_server: ServerFactory
    client: httpx.Client
    figures: list[Figure] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    failures: int = 0  # servers a workload could not measure (see ``attempt``)

    def add(
        self,
        workload: str,
        server: str,
        metric: str,
        value: float,
        better: str,
        errors: int = 0,
    ) -> None:
        figure = Figure(workload, server, metric, value, better, errors)
        self.figures.append(figure)
        flag = f"  ERRORS {errors}" if errors else ""
        print(f"  {workload:<34} {server:<13} {metric:<10} {value:12.2f}{flag}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def attempt(self, workload: str, server: str) -> Iterator[None]:
        """One server's part of a workload: if it fails (a wrong answer, a timeout), that is
        noted and counted, and the workload goes on with the next server."""
        try:
            yield
        except Exception as failed:
            self.failures += 1
            traceback.print_exc()
            self.note(f"{workload} on {server} failed: {failed}")

    def with_url(self, pick: Callable[[Endpoints], str | None]) -> list[tuple[Subject, str]]:
        """The running servers that have this endpoint, with it."""
        found = []
        for subject in self.subjects:
            url = pick(subject.endpoints)
            if url is not None:
                found.append((subject, url))
        return found

    def scratch(self, *parts: str) -> Path:
        path = self.workdir.joinpath("run", *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path
