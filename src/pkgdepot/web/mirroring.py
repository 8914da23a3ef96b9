"""Before a project's page is served, the mirrors of the index's chain are brought up to date.

Which mirrors that is depends on the whitelist rule (a private index of the chain that has the
project hides the mirrors' releases of it, and then no upstream is asked). That decision costs
a query, so each worker remembers it while the global serial does not move: a warm page costs
no query and no thread hop here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pkgdepot.domain.models import Index
from pkgdepot.domain.names import normalize_project
from pkgdepot.errors import NotFound, UpstreamUnavailable
from pkgdepot.service.container import Services
from pkgdepot.web.context import services

MAX_CHAINS = 100_000  # per worker; only a shortcut, so it is simply emptied when full
STALE = "no-cache"  # Cache-Control of a page served from the cache because the upstream failed


@dataclasses.dataclass(frozen=True, slots=True)
class _Chain:
    serial: int  # the global serial when this was decided
    mirrors: tuple[Index, ...]  # the mirrors whose releases of the project a view merges
    private: bool  # a private index of the chain has the project


class MirrorChains:
    def __init__(self) -> None:
        self._chains: dict[tuple[int, str], _Chain] = {}

    async def sync(
        self,
        s: Services,
        index: Index,
        project: str,
        *,
        ignore_bases: bool = False,
        force: bool = False,
    ) -> bool:
        """Bring every mirror a view of ``project`` on ``index`` merges up to date.

        True when a page is served stale: an upstream failed and the stored page stands in.
        An upstream failure or offline mode counts only where no private index has the
        project: a private project is still served, from what its mirrors have stored.
        """
        if ignore_bases and not index.is_mirror:
            return False
        chain = await self._chain(s, index, project)
        stale = False
        for mirror in chain.mirrors:
            try:
                stale |= await s.mirror_pages.sync(mirror, project, force=force)
            except UpstreamUnavailable:
                if not chain.private:
                    raise
                stale = True
            except NotFound:  # offline mode, never fetched
                if not chain.private:
                    raise
        return stale

    def fresh_until(self, s: Services, index: Index, project: str) -> float:
        """Until when (``time.time()``) a page of ``project`` on ``index`` needs no upstream
        request: the earliest of its mirrors' (infinity without any); 0.0 when not known."""
        if index.is_mirror:
            return s.mirror_pages.fresh_until(index, project)
        chain = self._chains.get((index.id, project))
        if chain is None or chain.serial != s.store.serial.get():
            return 0.0
        return min(
            (s.mirror_pages.fresh_until(mirror, project) for mirror in chain.mirrors),
            default=math.inf,
        )

    async def _chain(self, s: Services, index: Index, project: str) -> _Chain:
        serial = s.store.serial.get()
        if index.is_mirror:
            return _Chain(serial, (index,), private=False)
        key = (index.id, project)
        chain = self._chains.get(key)
        if chain is not None and chain.serial == serial:
            return chain
        if not any(i.is_mirror for i in s.catalog.order(index)):
            chain = _Chain(serial, (), private=False)
        else:
            mirrors, private = await run_in_threadpool(s.projects.mirrors_to_sync, index, project)
            chain = _Chain(serial, tuple(mirrors), private)
        if len(self._chains) >= MAX_CHAINS:
            self._chains.clear()
        self._chains[key] = chain
        return chain


def chains(request: Request) -> MirrorChains:
    found: MirrorChains = request.app.state.mirror_chains
    return found


async def bring_up_to_date(
    request: Request, index: Index, project: str, *, ignore_bases: bool = False
) -> bool:
    """Before serving a page of ``project``; True when it is served stale."""
    s = services(request)
    return await chains(request).sync(s, index, project, ignore_bases=ignore_bases)


def marked(response: Response, stale: bool) -> Response:
    """A stale page must not be kept by caches in front of the server."""
    if stale:
        response.headers["Cache-Control"] = STALE
    return response


async def refresh(request: Request) -> Response:
    """``POST .../+simple/NAME/refresh``: ask every mirror of the chain again, now.

    Then send the client to the page; an upstream failure shows there (stale page or 502).
    """
    p = request.path_params
    s = services(request)
    index = s.catalog.get(p["user"], p["index"])
    project = normalize_project(p["project"])
    with contextlib.suppress(UpstreamUnavailable, NotFound):
        await chains(request).sync(s, index, project, force=True)
    simple_dir = request.url.path.rsplit("/", 2)[0]
    return RedirectResponse(str(request.url.replace(path=f"{simple_dir}/{project}/")), 302)
