"""Composition root: the only place that names concrete backends and wires everything up."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from pkgdepot import __version__
from pkgdepot.config import Settings, load_settings
from pkgdepot.domain import indexconfig
from pkgdepot.domain.permissions import ROOT, Identity, Policy
from pkgdepot.errors import ConfigError, InvalidInput, PkgdepotError
from pkgdepot.mirror.clients import UpstreamClients
from pkgdepot.mirror.default_upstream import default_upstream_url
from pkgdepot.mirror.files import MirrorFiles
from pkgdepot.mirror.lists import MirrorLists
from pkgdepot.mirror.pages import MirrorPages
from pkgdepot.mirror.upstream import tls_context
from pkgdepot.serverdir import ServerDir, write_private
from pkgdepot.service.accounts import Accounts
from pkgdepot.service.container import Services
from pkgdepot.service.docs import Docs
from pkgdepot.service.indexes import ROOT_MIRROR, Catalog, Indexes
from pkgdepot.service.projects import Projects
from pkgdepot.service.push import Pushes
from pkgdepot.service.toxresults import ToxResults
from pkgdepot.service.uploads import Uploads
from pkgdepot.storage.blobs_fs import FsBlobStore
from pkgdepot.storage.meta import MetaStore
from pkgdepot.storage.serial import SharedSerial
from pkgdepot.storage.sqlite import create_sqlite_engine
from pkgdepot.web import accesslog, errors
from pkgdepot.web.fastlane import FastLane, Replies
from pkgdepot.web.middleware import DevpiHeaders, devpi_headers
from pkgdepot.web.mirroring import MirrorChains
from pkgdepot.web.observe import Observe
from pkgdepot.web.outside import OutsideUrl
from pkgdepot.web.routes import build_routes
from pkgdepot.web.server import one_malloc_arena
from pkgdepot.web.simple import SimpleViews

SETTINGS_VARIABLE = "PKGDEPOT_SETTINGS_JSON"  # hands the settings to worker processes


def open_store(directory: ServerDir) -> MetaStore:
    return MetaStore(
        reader=create_sqlite_engine(directory.database, writer=False),
        writer=create_sqlite_engine(directory.database, writer=True),
        serial=SharedSerial(directory.serial),
    )


def open_services(settings: Settings) -> Services:
    directory = ServerDir(settings.serverdir)
    store = open_store(directory)
    blobs = FsBlobStore(directory.blobs)
    policy = Policy(frozenset(settings.restrict_modify))
    catalog = Catalog(store)
    upstreams = UpstreamClients(timeout=settings.request_timeout, retries=settings.upstream_retries)
    offline = settings.offline_mode
    directory.mirrors.mkdir(exist_ok=True)
    directory.docs.mkdir(exist_ok=True)
    mirror_pages = MirrorPages(store, upstreams, offline=offline)
    mirror_files = MirrorFiles(
        store, blobs, upstreams, directory.mirrors / "fetching", offline=offline
    )
    return Services(
        settings=settings,
        store=store,
        blobs=blobs,
        catalog=catalog,
        accounts=Accounts(store, directory.read_secret(), settings.token_expiry, policy),
        indexes=Indexes(store, catalog, policy),
        projects=Projects(store, catalog, policy, offline=offline),
        uploads=Uploads(store, blobs, policy),
        docs=Docs(store, blobs, catalog, policy, directory.docs),
        toxresults=ToxResults(store, blobs, policy),
        pushes=Pushes(
            store, blobs, catalog, policy, settings.push_timeout, mirror_pages, mirror_files
        ),
        upstreams=upstreams,
        mirror_pages=mirror_pages,
        mirror_files=mirror_files,
        mirror_lists=MirrorLists(
            upstreams, directory.mirrors / "lists", offline=offline, wait=settings.request_timeout
        ),
        node_uuid=directory.node_uuid(),
        started_at=time.time(),
    )


@dataclasses.dataclass(frozen=True)
class Initialized:
    """What ``initialize`` did: nothing (``created`` false), or set the directory up."""

    created: bool
    generated_password: str | None = None  # root's password, if pkgdepot chose it


def initialize(settings: Settings) -> Initialized:
    """Make the server directory ready.

    Safe to run again, and after an interrupted run: an initialised directory only gets its
    pending migrations; the directory is marked initialised only once root exists.
    """
    directory = ServerDir(settings.serverdir)
    directory.prepare()
    store = open_store(directory)
    try:
        store.upgrade_schema()
        if directory.is_initialized():
            return Initialized(created=False)
        generated = None
        if store.get_user(ROOT) is None:
            password = settings.root_password
            if password is None:
                password = generated = secrets.token_urlsafe(18)
                write_private(directory.root_password, (password + "\n").encode())
            else:
                directory.root_password.unlink(missing_ok=True)  # left by an interrupted run
            accounts = Accounts(
                store, directory.read_secret(), settings.token_expiry, Policy(frozenset())
            )
            accounts.create(Identity(ROOT), ROOT, {"password": password})
        if ROOT_MIRROR not in Catalog(store).snapshot():
            create_root_mirror(store, settings.mirror_url or default_upstream_url())
        directory.mark_initialized()
        return Initialized(created=True, generated_password=generated)
    finally:
        store.close()


def _checked_url(mirror_url: str) -> str:
    try:
        return indexconfig.check_mirror_url(mirror_url)
    except InvalidInput as error:
        raise ConfigError(f"mirror_url: {error}") from None


def create_root_mirror(store: MetaStore, mirror_url: str) -> None:
    """``root/pypi``: the mirror of the upstream index every installer knows."""
    user, name = ROOT_MIRROR.split("/")
    given = {"type": "mirror", "mirror_url": _checked_url(mirror_url), "volatile": False}
    config = indexconfig.new_index_config(user, given)
    with store.transaction(ROOT) as tx:
        tx.put_index(user, name, "mirror", {k: v for k, v in config.items() if k != "type"})


def _point_root_mirror_at(store: MetaStore, mirror_url: str) -> None:
    """``--mirror-url`` given to ``serve`` re-points an existing root/pypi."""
    index = Catalog(store).snapshot().get(ROOT_MIRROR)
    url = _checked_url(mirror_url)
    if index is None or not index.is_mirror or index.mirror_url == url:
        return
    with store.transaction(ROOT) as tx:
        tx.put_index(index.user, index.name, index.type, {**index.config, "mirror_url": url})


def prepare_to_serve(settings: Settings) -> None:
    """Start-up work done once, before any worker runs."""
    directory = ServerDir(settings.serverdir)
    store = open_store(directory)
    try:
        store.sync_serial()
        if settings.mirror_url:
            _point_root_mirror_at(store, settings.mirror_url)
    finally:
        store.close()
    FsBlobStore(directory.blobs).clean_temporary()


def create_app(settings: Settings) -> Starlette:
    services = open_services(settings)
    services.store.catch_up_serial()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # made before serving, rather than while the first mirror request waits for them
        await asyncio.to_thread(tls_context)
        for index in services.store.all_indexes().values():
            if index.is_mirror:
                services.upstreams.for_index(index)
        yield
        await services.upstreams.aclose()
        accesslog.LINES.flush()

    accesslog.use_json(settings.log_format == "json")
    devpi = devpi_headers(services.node_uuid, __version__)
    fast_replies = Replies(services.store.serial, server_headers=devpi)
    app = Starlette(
        lifespan=lifespan,
        routes=build_routes(SimpleViews()),
        middleware=[
            Middleware(DevpiHeaders, serial=services.store.serial, static=devpi),
            Middleware(
                OutsideUrl,
                outside_url=settings.outside_url,
                trusted_proxy=settings.trusted_proxy,
            ),
            Middleware(FastLane, replies=fast_replies),  # warm simple pages
            Middleware(Observe),  # innermost: reads the route the router matched
        ],
        exception_handlers={
            PkgdepotError: errors.pkgdepot_error,
            HTTPException: errors.http_error,
            Exception: errors.server_error,
        },
    )
    app.router.redirect_slashes = False
    app.state.services = services
    app.state.mirror_chains = MirrorChains()
    app.state.fast_replies = fast_replies  # also answered from by the protocol: web/direct.py
    return app


def create_app_from_environment() -> Starlette:
    """Factory for worker processes: the parent passes its settings in the environment."""
    one_malloc_arena()
    raw = os.environ.get(SETTINGS_VARIABLE)
    values = json.loads(raw) if raw else {}
    return create_app(load_settings(values, environ={}))
