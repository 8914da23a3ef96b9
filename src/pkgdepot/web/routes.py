"""The URL table: every path spelled once, with one handler per HTTP method.

A path whose method is not served answers 405 with every method the path allows in ``Allow``;
``HEAD`` is served wherever ``GET`` is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pkgdepot.web import api, docs, files, jsonapi, mirroring, projects, push, toxresults, upload
from pkgdepot.web.metrics import metrics_page
from pkgdepot.web.openapi import openapi_page
from pkgdepot.web.simple import SimpleViews

Handler = Callable[[Request], Awaitable[Response]]


class NameConvertor(Convertor[str]):
    """A user, index, project or version segment: not empty, not starting with ``+``."""

    regex = r"[^+/][^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("name", NameConvertor())

U = "/{user:name}"
UI = "/{user:name}/{index:name}"


async def add_slash(request: Request) -> Response:
    return RedirectResponse(str(request.url.replace(path=request.url.path + "/")), 301)


def route(path: str, handlers: Mapping[str, Handler]) -> Route:
    """One path served by a handler per method."""
    table = dict(handlers)
    if "GET" in table:
        table.setdefault("HEAD", table["GET"])

    async def dispatch(request: Request) -> Response:
        return await table[request.method](request)

    return Route(path, dispatch, methods=list(table))


def with_and_without_slash(path: str, handlers: Mapping[str, Handler]) -> list[Route]:
    return [route(path, handlers), route(path + "/", handlers)]


def build_routes(simple: SimpleViews) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        route("/", {"GET": api.root}),
        route("/+api", {"GET": api.api_config}),
        route("/+status", {"GET": api.status}),
        route("/+metrics", {"GET": metrics_page}),
        route("/+openapi.json", {"GET": openapi_page}),
        route("/+login", {"POST": api.login}),
        route(U + "/+api", {"GET": api.api_config}),
        route(UI + "/+api", {"GET": api.api_config}),
    ]
    for simple_dir in ("+simple", "simple"):
        base = f"{UI}/{simple_dir}"
        routes += [
            route(base, {"GET": add_slash}),
            route(base + "/", {"GET": simple.project_list}),
            *with_and_without_slash(base + "/{project}", {"GET": simple.project_page}),
            route(base + "/{project}/refresh", {"POST": mirroring.refresh}),
        ]
    routes += [
        route(
            UI + "/+f/{rest:path}",
            {
                "GET": files.get_file,
                "DELETE": files.delete_file,
                "POST": toxresults.post_toxresult,
            },
        ),
        route(UI + "/+e/{rest:path}", {"GET": files.get_external_file}),
        route(UI + "/pypi/{project}/json", {"GET": jsonapi.project_json}),
        route(UI + "/pypi/{project}/{version}/json", {"GET": jsonapi.version_json}),
    ]
    routes += [
        route(UI + "/{project:name}/{version:name}/+doc", {"GET": docs.doc_page}),
        route(UI + "/{project:name}/{version:name}/+doc/{path:path}", {"GET": docs.doc_page}),
    ]
    version_handlers = {
        "GET": projects.version_get,
        "DELETE": projects.version_delete,
        "PATCH": projects.version_patch,
    }
    routes += with_and_without_slash(UI + "/{project:name}/{version:name}", version_handlers)
    project_handlers = {"GET": projects.project_get, "DELETE": projects.project_delete}
    routes += with_and_without_slash(UI + "/{project:name}", project_handlers)
    index_handlers = {
        "GET": api.index_get,
        "PUT": api.index_put,
        "PATCH": api.index_patch,
        "DELETE": api.index_delete,
        "PUSH": push.push,
    }
    routes += [
        route(UI, {**index_handlers, "POST": push.push}),
        route(UI + "/", {**index_handlers, "POST": upload.upload}),
    ]
    user_handlers = {
        "GET": api.user_get,
        "PUT": api.user_put,
        "PATCH": api.user_patch,
        "DELETE": api.user_delete,
    }
    routes += with_and_without_slash(U, user_handlers)
    return routes
