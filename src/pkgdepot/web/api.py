"""The JSON management API: users, indexes, login, ``+api`` discovery and ``+status``."""

from __future__ import annotations

import os
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pkgdepot import __version__
from pkgdepot.errors import InvalidInput
from pkgdepot.service.accounts import user_view
from pkgdepot.service.indexes import index_view
from pkgdepot.web import metrics
from pkgdepot.web import status as status_parts
from pkgdepot.web.context import base_url, identity, json_body, services
from pkgdepot.web.projects import installer_redirect
from pkgdepot.web.responses import envelope, message

FEATURES = ["server-keyvalue-parsing", "push-no-docs", "push-only-docs", "push-register-project"]


def _user_config(request: Request, name: str) -> dict[str, Any]:
    s = services(request)
    user = s.accounts.get(name)
    indexes = {i.name: index_view(i) for i in s.catalog.of_user(name).values()}
    return user_view(user, indexes)


async def root(request: Request) -> Response:
    s = services(request)
    users = await run_in_threadpool(s.store.list_users)
    result = {}
    for user in users:
        indexes = {i.name: index_view(i) for i in s.catalog.of_user(user.name).values()}
        result[user.name] = user_view(user, indexes)
    return envelope("list:userconfig", result)


async def api_config(request: Request) -> Response:
    s = services(request)
    root_url = base_url(request)
    who = await identity(request, write=False)
    result: dict[str, Any] = {
        "login": f"{root_url}/+login",
        "authstatus": ["ok", who.user, []] if who.user else ["noauth", "", []],
        "features": FEATURES,
    }
    user = request.path_params.get("user")
    name = request.path_params.get("index")
    if user is not None and name is not None:
        index = s.catalog.get(user, name)
        result["index"] = f"{root_url}/{index.path}"
        result["simpleindex"] = f"{root_url}/{index.path}/+simple/"
        if not index.is_mirror:
            result["pypisubmit"] = f"{root_url}/{index.path}/"
    elif user is not None:
        await run_in_threadpool(s.accounts.get, user)
    return envelope("apiconfig", result)


def _listening(request: Request) -> dict[str, Any]:
    """Where the server listens: the port it got, also when it was asked for port 0."""
    settings = services(request).settings
    server = request.scope.get("server")
    if settings.unix_socket is not None or not server or server[1] is None:
        host, port = settings.host, settings.port
    else:
        host, port = server
    socket = None if settings.unix_socket is None else str(settings.unix_socket)
    return {"host": host, "port": port, "unix-socket": socket}


async def status(request: Request) -> Response:
    s = services(request)
    settings = s.settings
    samples = await run_in_threadpool(metrics.samples)
    result = {
        "serverdir": str(settings.serverdir),
        "uuid": s.node_uuid,
        "versioninfo": {"pkgdepot": __version__},
        "server-code": "pkgdepot",
        "serial": s.store.serial.get(),
        "role": "MASTER",  # devpi's name for a server that is no replica
        "uptime": round(time.time() - s.started_at, 3),
        "started-at": s.started_at,
        "workers": settings.workers,
        "pid": os.getpid(),  # the worker that answered
        **_listening(request),
        "outside-url": settings.outside_url,
        "offline-mode": settings.offline_mode,
        "storage": await status_parts.storage(s),
        "cache": status_parts.cache(samples),
        "upstreams": status_parts.upstreams(s, samples),
    }
    return envelope("status", result)


async def login(request: Request) -> Response:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput("login body must be a JSON object with 'user' and 'password'")
    s = services(request)
    result = await run_in_threadpool(s.accounts.login, body)
    return envelope("proxyauth", result, "login successful")


# users


async def user_get(request: Request) -> Response:
    name = request.path_params["user"]
    return envelope("userconfig", await run_in_threadpool(_user_config, request, name))


async def user_put(request: Request) -> Response:
    name = request.path_params["user"]
    who = await identity(request, write=True)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput("user config must be a JSON object")
    await run_in_threadpool(services(request).accounts.create, who, name, body)
    config = await run_in_threadpool(_user_config, request, name)
    return envelope("userconfig", config, f"user {name!r} created", status=201)


async def user_patch(request: Request) -> Response:
    name = request.path_params["user"]
    who = await identity(request, write=True)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise InvalidInput("user config must be a JSON object")
    s = services(request)
    token = await run_in_threadpool(s.accounts.modify, who, name, body)
    if token is not None:
        result = {"password": token, "expiration": s.accounts.token_expiry}
        return envelope("userpassword", result, "user updated, new proxy auth")
    return message("user updated")


async def user_delete(request: Request) -> Response:
    name = request.path_params["user"]
    who = await identity(request, write=True)
    await run_in_threadpool(services(request).accounts.delete, who, name)
    return message(f"user {name!r} deleted")


# indexes


async def index_get(request: Request) -> Response:
    redirect = installer_redirect(request, None)
    if redirect is not None:
        return redirect
    s = services(request)
    index = s.catalog.get(request.path_params["user"], request.path_params["index"])
    view = index_view(index)
    if "no_projects" not in request.query_params:  # devpi: present means true, any value
        view["projects"] = await run_in_threadpool(s.store.project_names, index.id)
    return envelope("indexconfig", view)


async def index_put(request: Request) -> Response:
    user, name = request.path_params["user"], request.path_params["index"]
    who = await identity(request, write=True)
    body = await json_body(request)
    index = await run_in_threadpool(services(request).indexes.create, who, user, name, body)
    return envelope("indexconfig", index_view(index), f"index {index.path} created", status=201)


async def index_patch(request: Request) -> Response:
    user, name = request.path_params["user"], request.path_params["index"]
    who = await identity(request, write=True)
    body = await json_body(request)
    s = services(request)
    noop_is_error = "error_on_noop" in request.query_params
    index = await run_in_threadpool(s.indexes.modify, who, user, name, body, noop_is_error)
    return envelope("indexconfig", index_view(index))


async def index_delete(request: Request) -> Response:
    user, name = request.path_params["user"], request.path_params["index"]
    who = await identity(request, write=True)
    await run_in_threadpool(services(request).indexes.delete, who, user, name)
    return message(f"index {user}/{name} deleted")
