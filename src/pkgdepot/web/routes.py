"""The URL table: every path pkgdepot answers, spelled once. First match wins."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pkgdepot.errors import InvalidInput
from pkgdepot.web import api, files, jsonapi, projects, upload
from pkgdepot.web.simple import SimpleViews


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


async def push_not_available(request: Request) -> Response:
    raise InvalidInput("push is not available on this server yet; upload with ':action'")


def both(path: str) -> list[str]:
    return [path, path + "/"]


def build_routes(simple: SimpleViews) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/", api.root, methods=["GET"]),
        Route("/+api", api.api_config, methods=["GET"]),
        Route("/+status", api.status, methods=["GET"]),
        Route("/+login", api.login, methods=["POST"]),
        Route(U + "/+api", api.api_config, methods=["GET"]),
        Route(UI + "/+api", api.api_config, methods=["GET"]),
    ]
    for simple_dir in ("+simple", "simple"):
        base = f"{UI}/{simple_dir}"
        routes += [
            Route(base + "/", simple.project_list, methods=["GET"]),
            Route(base, add_slash, methods=["GET"]),
            Route(base + "/{project}/", simple.project_page, methods=["GET"]),
            Route(base + "/{project}", simple.project_page, methods=["GET"]),
        ]
    routes += [
        Route(UI + "/+f/{rest:path}", files.get_file, methods=["GET"]),
        Route(UI + "/+f/{rest:path}", files.delete_file, methods=["DELETE"]),
        Route(UI + "/pypi/{project}/json", jsonapi.project_json, methods=["GET"]),
        Route(UI + "/pypi/{project}/{version}/json", jsonapi.version_json, methods=["GET"]),
    ]
    for path in both(UI + "/{project:name}/{version:name}"):
        routes += [
            Route(path, projects.version_get, methods=["GET"]),
            Route(path, projects.version_delete, methods=["DELETE"]),
            Route(path, projects.version_patch, methods=["PATCH"]),
        ]
    for path in both(UI + "/{project:name}"):
        routes += [
            Route(path, projects.project_get, methods=["GET"]),
            Route(path, projects.project_delete, methods=["DELETE"]),
        ]
    routes.append(Route(UI + "/", upload.upload, methods=["POST"]))
    for path in both(UI):
        routes += [
            Route(path, api.index_get, methods=["GET"]),
            Route(path, api.index_put, methods=["PUT"]),
            Route(path, api.index_patch, methods=["PATCH"]),
            Route(path, api.index_delete, methods=["DELETE"]),
            Route(path, push_not_available, methods=["POST", "PUSH"]),
        ]
    for path in both(U):
        routes += [
            Route(path, api.user_get, methods=["GET"]),
            Route(path, api.user_put, methods=["PUT"]),
            Route(path, api.user_patch, methods=["PATCH"]),
            Route(path, api.user_delete, methods=["DELETE"]),
        ]
    return routes
