"""What ``/+status`` adds to devpi's keys: storage, the page cache, and each mirror's upstream.

Counts come from the metrics, added up over every worker process. A few values are the
answering worker's own (its ``pid`` is in the reply): the last upstream failure's message and
the projects whose upstream it is not asking for a while (``mirror/pages.py``).

Blobs are counted by walking ``+blobs`` in a thread, at most once a minute for all workers:
the count is kept in ``+metrics/blobs.json``, and a stale count is served while a new one is
made.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from prometheus_client.samples import Sample

from pkgdepot.mirror import metrics as mirror_metrics
from pkgdepot.serverdir import DATABASE, ServerDir
from pkgdepot.service.container import Services
from pkgdepot.web import metrics
from pkgdepot.web.simple import HIT, RENDERED, REVALIDATED

BLOB_COUNT_INTERVAL = 60.0  # seconds


# ---- storage ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BlobCount:
    count: int
    bytes: int
    counted_at: float


def _count_blobs(root: Path) -> BlobCount:
    count = size = 0
    pending = [root]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "tmp":  # blobs being written
                    pending.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):  # discarded meanwhile
                    size += entry.stat(follow_symlinks=False).st_size
                    count += 1
    return BlobCount(count, size, time.time())


def _read_count(path: Path) -> BlobCount | None:
    try:
        return BlobCount(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _count_and_keep(root: Path, path: Path) -> BlobCount:
    counted = _count_blobs(root)
    temporary = path.with_name(f"{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(dataclasses.asdict(counted)))
    os.replace(temporary, path)
    return counted


class BlobCounter:
    """One per worker: the latest blob count, refreshed in the background once stale."""

    def __init__(self) -> None:
        self._counting: asyncio.Task[BlobCount] | None = None

    async def count(self, root: Path, kept: Path) -> BlobCount:
        found = await asyncio.to_thread(_read_count, kept)
        if found is not None and time.time() - found.counted_at < BLOB_COUNT_INTERVAL:
            return found
        if self._counting is None or self._counting.done():
            self._counting = asyncio.create_task(asyncio.to_thread(_count_and_keep, root, kept))
        if found is not None:
            return found
        return await asyncio.shield(self._counting)


blob_counter = BlobCounter()


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def storage(s: Services) -> dict[str, Any]:
    directory = ServerDir(s.settings.serverdir)
    database = sum(
        _file_size(directory.root / (DATABASE + suffix)) for suffix in ("", "-wal", "-shm")
    )
    kept = metrics.directory_of(directory.root) / "blobs.json"
    blobs = await blob_counter.count(directory.blobs, kept)
    return {
        "serverdir": str(directory.root),
        "database-bytes": database,
        "blobs": {"count": blobs.count, "bytes": blobs.bytes, "counted-at": blobs.counted_at},
    }


# ---- from the metrics -------------------------------------------------------------------


def _totals(samples: list[Sample], name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """Values of the samples called ``name``, added up by the given labels."""
    result: dict[tuple[str, ...], float] = defaultdict(float)
    for sample in samples:
        if sample.name == name:
            result[tuple(sample.labels.get(label, "") for label in labels)] += sample.value
    return result


def cache(samples: list[Sample]) -> dict[str, Any]:
    lookups = _totals(samples, "pkgdepot_page_cache_requests_total", "result")
    entries = _totals(samples, "pkgdepot_cache_entries", "cache")
    size = _totals(samples, "pkgdepot_cache_bytes", "cache")
    name = ("simple-pages",)
    return {
        "simple-pages": {
            "entries": int(entries.get(name, 0)),
            "bytes": int(size.get(name, 0)),
            **{result: int(lookups.get((result,), 0)) for result in (HIT, REVALIDATED, RENDERED)},
        }
    }


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def upstreams(s: Services, samples: list[Sample]) -> dict[str, Any]:
    fetches = _totals(samples, "pkgdepot_upstream_fetches_total", "mirror", "outcome")
    last_ok = _totals(samples, "pkgdepot_upstream_last_ok_timestamp_seconds", "mirror")
    last_error = _totals(samples, "pkgdepot_upstream_last_error_timestamp_seconds", "mirror")
    backing_off = s.mirror_pages.backing_off()
    result: dict[str, Any] = {}
    for index in s.catalog.snapshot().values():
        if not index.is_mirror:
            continue
        path = index.path
        failure = mirror_metrics.last_failure(path)
        projects, until = backing_off.get(index.id, (0, None))
        ok = fetches.get((path, mirror_metrics.OK), 0)
        errors = fetches.get((path, mirror_metrics.ERROR), 0)
        result[path] = {
            "mirror-url": _without_credentials(index.mirror_url),
            "fetches": int(ok + errors),
            "errors": int(errors),
            "last-ok-at": last_ok.get((path,)) or None,
            "last-error-at": last_error.get((path,)) or None,
            "last-error": None if failure is None else dataclasses.asdict(failure),
            "backing-off": {"projects": projects, "until": until},
        }
    return result
