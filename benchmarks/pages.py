"""Simple pages under load: a typical project's page warm (HTML and PEP 691 JSON, c=1 and
c=32, mirror and stage), the 5,000-version page cold and warm, and the mirror's project list."""

from __future__ import annotations

import hashlib
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.checks import CheckFailed, compare_links, get, is_json, page_links
from benchmarks.context import CEILING, Bench, Subject
from benchmarks.load import JSON_ACCEPT, WrkResult, load_page
from benchmarks.memory import rss_mb
from benchmarks.model import Endpoints

HTML_ACCEPT = "text/html"
FORMATS = {"html": HTML_ACCEPT, "json": JSON_ACCEPT}
INDEXES: dict[str, Callable[[Endpoints], str | None]] = {
    "mirror": lambda e: e.mirror_simple,
    "stage": lambda e: e.stage_simple,
}
WARM_REQUESTS = 3  # "warm": the page was asked for this many times before the run
LIST_TIMEOUT = 600.0  # seconds a request of the project list may wait for bytes (cold: long)
BUSY_ROUNDS = 2  # c=32 runs alternate this many times; the best run (req/s) is kept


def upstream_hashes(bench: Bench, project: str) -> dict[str, str]:
    """Filename -> sha256 of the project's files as the upstream lists them, each checked
    against the generated files' true sha256."""
    url = f"{bench.upstream.url}{project}/"
    response = get(bench.client, url)
    links = page_links(response.content, response.headers.get("content-type", ""))
    hashes = {name: digest for name, (_, digest) in links.items()}
    for name, digest in hashes.items():
        known = bench.upstream.files.get(name)
        if known is not None and known.sha256 != digest:
            raise CheckFailed(f"the upstream's page of {project} lists {name} with a wrong hash")
    return hashes


def prepare_page(
    bench: Bench, subject: Subject, url: str, fmt: str, expected: dict[str, str], tag: str
) -> Path | None:
    """Warm the page, check its files and hashes, and write its bytes for page.lua. None when
    the server does not serve this format (a peer without PEP 691 JSON)."""
    accept = FORMATS[fmt]
    bodies = [get(bench.client, url, accept, tries=20) for _ in range(WARM_REQUESTS)]
    last = bodies[-1]
    content_type = last.headers.get("content-type", "")
    if is_json(content_type) != (fmt == "json"):
        bench.note(f"{subject.name} does not serve {fmt} simple pages; left out of those rows")
        return None
    if last.content != bodies[-2].content:
        raise CheckFailed(f"{subject.name}: {url} changed between two warm requests")
    compare_links(page_links(last.content, content_type), expected, f"{subject.name} {url}")
    path = bench.scratch("expected") / f"{subject.name}-{tag}-{fmt}.body"
    path.write_bytes(last.content)
    return path


def _add_load(bench: Bench, workload: str, server: str, runs: list[WrkResult]) -> None:
    best = max(runs, key=lambda r: r.req_per_s)
    errors = sum(r.errors for r in runs)
    bench.add(workload, server, "req/s", best.req_per_s, "higher", errors)
    bench.add(workload, server, "p50 ms", best.p50_ms, "lower", errors)
    bench.add(workload, server, "p99 ms", best.p99_ms, "lower", errors)


def _private_page(e: Endpoints) -> str | None:
    """The index holding the private project: the stage, or a private-only server's index."""
    if e.stage_simple is not None:
        return e.stage_simple
    return e.upload_simple if e.mirror_simple is None else None


def _private_hashes(bench: Bench) -> dict[str, str]:
    folder = bench.upstream.stage_uploads
    files = sorted(folder.iterdir()) if folder else []
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def warm_pages(bench: Bench) -> None:
    """A typical mirrored project through the mirror and through the stage (inherited), and
    the private project's page on the stage (pypiserver: its only index)."""
    project = bench.upstream.small_page_project
    mirrored = upstream_hashes(bench, project)
    pages = [
        ("mirror", INDEXES["mirror"], project, mirrored),
        ("stage", INDEXES["stage"], project, mirrored),
    ]
    if bench.upstream.private_project:
        private = (bench.upstream.private_project, _private_hashes(bench))
        pages.append(("private", _private_page, *private))
    for index, pick, name, expected in pages:
        for fmt, accept in FORMATS.items():
            targets: list[tuple[Subject, str, Path]] = []
            for subject, simple in bench.with_url(pick):
                if index != "mirror" and subject.name == CEILING:
                    continue
                url = f"{simple}{name}/"
                with bench.attempt(f"warm page {fmt} {index}", subject.name):
                    path = prepare_page(bench, subject, url, fmt, expected, index)
                    if path is not None:
                        targets.append((subject, url, path))
            for connections in (1, 32):
                workload = f"warm page {fmt} {index} c={connections}"
                runs: dict[str, list[WrkResult]] = {s.name: [] for s, _, _ in targets}
                for _ in range(BUSY_ROUNDS if connections > 1 else 1):
                    for subject, url, path in targets:
                        with bench.attempt(workload, subject.name):
                            result = load_page(
                                url,
                                path,
                                connections=connections,
                                duration=bench.duration,
                                accept=accept,
                            )
                            runs[subject.name].append(result)
                for server, results in runs.items():
                    if results:
                        _add_load(bench, workload, server, results)


def _cold_big_page(
    bench: Bench, subject: Subject, url: str, expected: dict[str, str]
) -> Path | None:
    started = time.perf_counter()
    first = get(bench.client, url, HTML_ACCEPT)
    cold = time.perf_counter() - started
    links = page_links(first.content, first.headers.get("content-type", ""))
    errors = 0
    try:
        compare_links(links, expected, f"{subject.name} {url}")
    except CheckFailed as failed:
        bench.note(str(failed))
        errors = 1
    if subject.name != CEILING:
        bench.add("5000-version page cold", subject.name, "ms", cold * 1000, "lower", errors)
    return prepare_page(bench, subject, url, "html", expected, "big")


def big_page(bench: Bench) -> None:
    """Cold: the first request for the project on the freshly started server (it includes the
    upstream fetch), once per server. Warm: wrk c=1 after a few requests."""
    project = bench.upstream.big_project
    expected = upstream_hashes(bench, project)
    targets: list[tuple[Subject, str, Path]] = []
    for subject, simple in bench.with_url(INDEXES["mirror"]):
        url = f"{simple}{project}/"
        with bench.attempt("5000-version page cold", subject.name):
            path = _cold_big_page(bench, subject, url, expected)
            if path is not None:
                targets.append((subject, url, path))
    workload = "5000-version page warm c=1"
    for subject, url, path in targets:
        with bench.attempt(workload, subject.name):
            result = load_page(
                url, path, connections=1, duration=bench.duration, accept=HTML_ACCEPT
            )
            _add_load(bench, workload, subject.name, [result])


class _RssWatch:
    """The most resident memory of a process tree while a block runs, sampled 10 times/s."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.most = rss_mb(pids())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.most = max(self.most, rss_mb(self.pids()))

    def __enter__(self) -> _RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.most = max(self.most, rss_mb(self.pids()))


def _fetch_list(bench: Bench, url: str) -> tuple[float, int, int]:
    """Seconds, bytes and anchors of one full request of the project list (read in 1 MB
    pieces, as a client would)."""
    started = time.perf_counter()
    size = 0
    anchors = 0
    tail = b""
    headers = {"Accept": HTML_ACCEPT}
    with bench.client.stream("GET", url, headers=headers, timeout=LIST_TIMEOUT) as response:
        if response.status_code != 200:
            raise CheckFailed(f"GET {url}: {response.status_code}")
        for chunk in response.iter_bytes(1 << 20):
            size += len(chunk)
            joined = tail + chunk
            anchors += joined.count(b"<a ") - tail.count(b"<a ")
            tail = joined[-2:]
    return time.perf_counter() - started, size, anchors


def project_list(bench: Bench) -> None:
    """Each server's mirror project list: the first request (the server fetches it from the
    upstream), then 10 more (3 with --quick; fewer past a minute, at least 3), timed. The
    tree's memory is sampled from before the first request to after the last: its growth is
    what serving the list costs in memory."""
    for subject, url in bench.with_url(INDEXES["mirror"]):
        with bench.attempt("project list", subject.name):
            _project_list(bench, subject, url)


def _project_list(bench: Bench, subject: Subject, url: str) -> None:
    count = 3 if bench.quick else 10
    workload = "project list"
    budget = 60.0  # seconds: past it, a slow server stops after its 3rd timed request
    wanted = bench.upstream.list_size
    pids = subject.server.pids
    before = rss_mb(pids())
    with _RssWatch(pids) as first_watch:
        seconds, size, anchors = _fetch_list(bench, url)
    errors = int(anchors != wanted)
    if subject.name != CEILING:
        bench.add(workload + " (first)", subject.name, "s", seconds, "lower", errors)
    after_first = rss_mb(pids())
    times = []
    with _RssWatch(pids) as watch:
        for _ in range(count):
            seconds, size, anchors = _fetch_list(bench, url)
            errors += int(anchors != wanted)
            times.append(seconds)
            if len(times) >= 3 and sum(times) > budget:
                break
    if errors:
        bench.note(f"{subject.name}: {errors} lists without exactly {wanted} names")
    per_request = statistics.median(times)
    bench.add(workload, subject.name, "s", per_request, "lower", errors)
    bench.add(workload, subject.name, "MB/s", size / per_request / 1e6, "higher", errors)
    if subject.name != CEILING:
        # From before the first request (the fetch from the upstream included), and while
        # serving the list again (from after the first request).
        growth = max(first_watch.most, watch.most) - before
        bench.add(workload, subject.name, "RSS growth MB", growth, "lower", errors)
        serving = watch.most - after_first
        bench.add(workload, subject.name, "RSS growth serving MB", serving, "lower", errors)
