"""Mirrored project pages: freshness, revalidation, single-flight and stale-if-error.

What the upstream last answered for a project is stored (``mirror_pages``: found or not, ETag,
upstream serial, fetch time) next to the project's links (ordinary ``files`` rows), so a
restarted server serves warm pages without asking the upstream again.

- A found page is fresh for the mirror's ``mirror_cache_expiry`` seconds; after that it is
  revalidated with ``If-None-Match`` and the stored serial. A not-found answer is kept for a
  sixth of that (5 of the default 30 minutes), so a project published upstream shows up soon.
- One upstream request per (mirror, project) at a time in a worker process, however many
  requests ask. A request that has a stored answer to fall back on waits at most the upstream
  timeout, then gets it (a page is then stale) while the fetch finishes in the background.
- When the upstream fails, the stored page is served stale, one warning is logged, and the
  project is not asked for again for a while (the mirror's expiry, at most ``BACKOFF``), so a
  dead upstream does not cost every request a timeout. With nothing stored, the failure is
  the caller's (502).
- A per-worker memo of the stored answer, valid while the global serial does not move, keeps
  the hot path free of queries and thread hops. Another worker's change to the links, or a
  delete, moves the serial and so is seen.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time

from pkgdepot.domain.models import Index, MirrorPageState
from pkgdepot.errors import NotFound, UpstreamUnavailable
from pkgdepot.mirror import metrics
from pkgdepot.mirror.clients import UpstreamClients
from pkgdepot.mirror.links import to_release_file
from pkgdepot.mirror.upstream import NotModified, ProjectPage, UpstreamNotFound
from pkgdepot.storage.meta import MetaStore

log = logging.getLogger("pkgdepot.mirror")

BACKOFF = 30.0  # at most this many seconds without a new upstream attempt after a fault
NOT_FOUND_SHARE = 6  # a not-found answer lives for 1/6 of the mirror's cache expiry
MAX_MEMOS = 100_000  # per worker; the memo is only a shortcut, so it is simply emptied when full

Key = tuple[int, str]  # (mirror index id, project)
Answer = ProjectPage | NotModified | UpstreamNotFound


@dataclasses.dataclass(frozen=True, slots=True)
class _Memo:
    serial: int  # the global serial when ``state`` was read from (or written to) the database
    state: MirrorPageState | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Backoff:
    until: float
    reason: str


def lifetime(index: Index, state: MirrorPageState) -> float:
    """How long a stored answer is served without asking the upstream again."""
    if state.found:
        return float(index.cache_expiry)
    return index.cache_expiry / NOT_FOUND_SHARE


def describe_age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


class MirrorPages:
    def __init__(self, store: MetaStore, upstreams: UpstreamClients, *, offline: bool) -> None:
        self._store = store
        self._upstreams = upstreams
        self.offline = offline
        self._memos: dict[Key, _Memo] = {}
        self._backoffs: dict[Key, _Backoff] = {}
        self._flights: dict[Key, asyncio.Task[None]] = {}

    async def sync(self, index: Index, project: str, *, force: bool = False) -> bool:
        """Bring the stored page of ``project`` on the mirror ``index`` up to date.

        True when the stored page is served stale because its upstream failed. Raises
        ``UpstreamUnavailable`` when the upstream failed and nothing is stored, and
        ``NotFound`` in offline mode for a project never fetched. ``force`` asks the upstream
        now, whatever the expiry and the backoff say.
        """
        key = (index.id, project)
        state = await self._stored(key)
        if self.offline:
            if state is None:
                raise NotFound(
                    f"The project {project} is not cached on {index.path}, and the server is "
                    "in offline mode: it asks no upstream."
                )
            return False
        now = time.time()
        if not force and state is not None and now < state.fetched_at + lifetime(index, state):
            return False
        backoff = self._backoffs.get(key)
        if not force and backoff is not None and now < backoff.until:
            return _after_failure(state, backoff.reason)
        task = self._flights.get(key)
        if task is None:
            task = asyncio.create_task(self._update(index, project, state, force=force))
            self._flights[key] = task
            task.add_done_callback(lambda done: self._landed(key, done))
        # asyncio.wait never cancels the task: a request that gives up or is cancelled leaves
        # the fetch running for the others. With a stored answer to fall back on, a request
        # waits one upstream timeout at most.
        wait = None if state is None else self._upstreams.timeout
        done, _ = await asyncio.wait({task}, timeout=wait)
        if not done:
            assert state is not None
            return state.found  # the stored page, stale; or the stored not-found
        try:
            task.result()
        except UpstreamUnavailable as error:
            return _after_failure(state, error.message)
        return False

    def fresh_until(self, index: Index, project: str) -> float:
        """Until when (``time.time()``) the stored page of ``project`` on the mirror ``index``
        needs no upstream request, as far as this worker knows now; 0.0 when it does not know."""
        key = (index.id, project)
        memo = self._memos.get(key)
        if memo is None or memo.state is None or memo.serial != self._store.serial.get():
            return 0.0
        if self.offline:
            return math.inf
        if key in self._backoffs:
            return 0.0
        return memo.state.fetched_at + lifetime(index, memo.state)

    def backing_off(self) -> dict[int, tuple[int, float]]:
        """Per mirror index id: how many projects this worker is not asking about, until when."""
        now = time.time()
        result: dict[int, tuple[int, float]] = {}
        for (index_id, _), backoff in list(self._backoffs.items()):
            if backoff.until > now:
                count, until = result.get(index_id, (0, now))
                result[index_id] = (count + 1, max(until, backoff.until))
        return result

    async def _stored(self, key: Key) -> MirrorPageState | None:
        serial = self._store.serial.get()
        memo = self._memos.get(key)
        if memo is not None and memo.serial == serial:
            return memo.state
        state = await asyncio.to_thread(self._store.mirror_page, *key)
        self._remember(key, serial, state)
        return state

    def _remember(self, key: Key, serial: int, state: MirrorPageState | None) -> None:
        if len(self._memos) >= MAX_MEMOS:
            self._memos.clear()
        self._memos[key] = _Memo(serial, state)

    def _landed(self, key: Key, task: asyncio.Task[None]) -> None:
        self._flights.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have stopped waiting

    async def _update(
        self, index: Index, project: str, state: MirrorPageState | None, *, force: bool
    ) -> None:
        key = (index.id, project)
        known = state if state is not None and state.found else None
        client = self._upstreams.for_index(index)
        try:
            answer = await client.fetch_project_page(
                project,
                etag=known.etag if known is not None and not force else None,
                known_serial=(
                    known.upstream_serial
                    if known is not None and index.trusts_serial_header
                    else -1
                ),
            )
            if isinstance(answer, NotModified) and known is None:
                url = client.project_url(project)
                raise UpstreamUnavailable(f"upstream {url} answered 304 to a plain GET")
        except UpstreamUnavailable as error:
            metrics.record(index.path, metrics.PAGE, error)
            if len(self._backoffs) >= MAX_MEMOS:
                self._backoffs.clear()
            pause = min(BACKOFF, index.cache_expiry)
            self._backoffs[key] = _Backoff(time.time() + pause, error.message)
            log.warning("%s", _fault_line(index, project, state, error.message))
            raise
        metrics.record(index.path, metrics.PAGE, None)
        self._backoffs.pop(key, None)
        new = await asyncio.to_thread(self._store_answer, index, project, answer, known)
        self._remember(key, self._store.serial.get(), new)

    def _store_answer(
        self, index: Index, project: str, answer: Answer, known: MirrorPageState | None
    ) -> MirrorPageState:
        """Write what the upstream said. Links take a serial only when they changed."""
        now = time.time()
        if isinstance(answer, NotModified):
            assert known is not None
            serial = answer.serial if answer.serial >= 0 else known.upstream_serial
            state = MirrorPageState(True, answer.etag or known.etag, serial, now)
        elif isinstance(answer, UpstreamNotFound):
            with self._store.transaction(None) as tx:
                if tx.has_project(index.id, project):
                    tx.delete_project(index.id, index.path, project)
            state = MirrorPageState(False, None, -1, now)
        else:
            rows = (to_release_file(index.path, project, link) for link in answer.links)
            files = [row for row in rows if row is not None]
            with self._store.transaction(None) as tx:
                tx.replace_mirror_links(index, project, files)
            state = MirrorPageState(True, answer.etag, answer.serial, now)
        self._store.record_mirror_page(index.id, project, state)
        return state


def _after_failure(state: MirrorPageState | None, reason: str) -> bool:
    """What a request gets when the upstream failed: stale (True), a known not-found, or 502."""
    if state is None:
        raise UpstreamUnavailable(reason)
    return state.found


def _fault_line(index: Index, project: str, state: MirrorPageState | None, reason: str) -> str:
    if state is None:
        served = "nothing cached to serve instead"
    else:
        age = describe_age(time.time() - state.fetched_at)
        what = "the page" if state.found else "the not-found answer"
        served = f"serving {what} cached {age} ago"
    return f"{index.path}: upstream unavailable for {project!r}, {served}: {reason}"
