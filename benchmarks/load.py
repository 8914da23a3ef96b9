"""Load from ``wrk``: one bounded run against one URL, read back as one JSON line.

Pages go through ``wrk/page.lua``, which compares every response body with the expected bytes;
large downloads go through ``wrk/download.lua``, which leaves bodies alone (see there).
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
from collections.abc import Sequence
from pathlib import Path

WRK = "/usr/bin/wrk"
SCRIPTS = Path(__file__).parent / "wrk"
JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"


@dataclasses.dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    bytes: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    non_2xx: int  # wrk counts statuses >= 400 here; page.lua also counts anything but 200
    mismatches: int  # bodies that were not the expected bytes, or (downloads) short bodies

    @property
    def req_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.duration_s / 1e6 if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        # A page's mismatches include its non-2xx responses, a download's short bodies too.
        sockets = self.connect_errors + self.read_errors + self.write_errors + self.timeouts
        return sockets + max(self.non_2xx, self.mismatches)


def threads_for(connections: int) -> int:
    """One thread for one connection, two otherwise (the machine has two cores)."""
    return 1 if connections == 1 else 2


def run_wrk(
    url: str,
    *,
    connections: int,
    duration: float,
    script: str,
    script_args: Sequence[str] = (),
    headers: Sequence[str] = (),
    timeout: float = 10.0,
) -> WrkResult:
    seconds = max(1, math.ceil(duration))
    command = [
        WRK,
        f"-t{threads_for(connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={math.ceil(timeout)}s",
        "-s",
        str(SCRIPTS / script),
    ]
    for header in headers:
        command += ["-H", header]
    command += [url, "--", *script_args]
    finished = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + timeout + 30, check=False
    )
    line = next(
        (x for x in finished.stdout.splitlines() if x.startswith('{"requests"')),
        None,
    )
    if finished.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({finished.returncode}) on {url}:\n{finished.stdout}\n{finished.stderr}"
        )
    raw = json.loads(line)
    return WrkResult(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        bytes=raw["bytes"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        connect_errors=raw["connect"],
        read_errors=raw["read"],
        write_errors=raw["write"],
        timeouts=raw["timeout"],
        non_2xx=raw["status"],
        mismatches=raw["mismatches"],
    )


def load_page(
    url: str,
    expected: Path,
    *,
    connections: int,
    duration: float,
    accept: str | None = None,
) -> WrkResult:
    """Every response must be 200 with exactly the bytes in ``expected``."""
    headers = [f"Accept: {accept}"] if accept else []
    return run_wrk(
        url,
        connections=connections,
        duration=duration,
        script="page.lua",
        script_args=[str(expected)],
        headers=headers,
    )


def load_download(url: str, size: int, *, connections: int, duration: float) -> WrkResult:
    """``size`` is the file's length: fewer bytes than ``requests * size`` read means bodies
    came back short (or were not the file at all, such as a redirect); those count as
    mismatches. Up to ``connections`` responses cut off by the end of the run add bytes, so a
    few short bodies can hide behind them: the workload also checks the sha256 separately."""
    result = run_wrk(
        url, connections=connections, duration=duration, script="download.lua", timeout=30.0
    )
    missing = result.requests * size - result.bytes
    short = math.ceil(missing / size) if missing > 0 else 0
    return dataclasses.replace(result, mismatches=short)


def self_check(url: str, body: bytes, scratch: Path) -> None:
    """The checks themselves checked: a page served with ``body`` must pass against those
    bytes and fail against one changed byte, so a broken script cannot pass everything."""
    good = scratch / "self-check-good.body"
    bad = scratch / "self-check-bad.body"
    good.write_bytes(body)
    bad.write_bytes(body[:-1] + bytes([body[-1] ^ 1]))
    passed = load_page(url, good, connections=1, duration=1)
    failed = load_page(url, bad, connections=1, duration=1)
    if passed.requests == 0 or passed.errors or failed.mismatches != failed.requests:
        raise RuntimeError(f"wrk/page.lua does not check bodies: {passed}, {failed}")
