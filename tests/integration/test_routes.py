"""Every route answers unknown paths and methods with a JSON ``{"message"}`` error."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.routing import Match, Route

from pkgdepot.web.routes import build_routes
from pkgdepot.web.simple import SimpleViews
from tests.support.client import Api

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SAMPLES = {
    "user": "routeuser",
    "index": "dev",
    "project": "some-project",
    "version": "1.0",
    "rest": "abc/def0123456789/some_project-1.0.tar.gz",
    "path": "index.html",
}
ROUTES = [route for route in build_routes(SimpleViews()) if isinstance(route, Route)]


def sample_path(route: Route) -> str:
    return re.sub(r"{(\w+)(:\w+)?}", lambda m: SAMPLES[m[1]], route.path)


def allowed_on(path: str) -> set[str]:
    """The methods some route serves on ``path`` (several routes may match one path)."""
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    methods: set[str] = set()
    for route in ROUTES:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= route.methods or set()
    return methods


def error(reply: httpx.Response, status: int, *fragments: str) -> str:
    assert reply.status_code == status, (reply.request.method, reply.url, reply.text)
    if reply.request.method == "HEAD":
        return ""
    assert reply.headers["content-type"] == "application/json", reply.headers
    text = reply.json()["message"]
    assert isinstance(text, str)
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    assert reply.headers["x-devpi-api-version"] == "2"
    return text


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.path)
def test_methods_a_route_does_not_serve_get_405(api: Api, route: Route) -> None:
    path = sample_path(route)
    refused = [m for m in METHODS if m not in allowed_on(path)]
    assert refused, path
    for method in refused:
        reply = api.http.request(method, path)
        error(reply, 405, f"method {method} is not allowed on {path}")
        allow = {m.strip() for m in reply.headers["allow"].split(",")}
        assert allow, reply.headers
        assert allow <= allowed_on(path)
        assert method not in allow


@pytest.mark.parametrize(
    "path",
    [
        "/+nothing",
        "/+simple/",
        "/a/b/c/d/e/f",
        "/routeuser/dev/+simple/some-project/extra/",
        "/routeuser/dev/+unknown/x",
        "/routeuser/dev/some-project/1.0/extra",
    ],
)
def test_unknown_paths_get_404(api: Api, path: str) -> None:
    for method in ("GET", "POST", "DELETE"):
        error(api.http.request(method, path), 404, f"no resource at {path}")
