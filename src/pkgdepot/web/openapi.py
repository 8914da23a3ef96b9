"""The OpenAPI 3.1 description of the REST API, served at ``/+openapi.json``.

Request bodies are the schemas ``domain/bodies.py`` checks them against, so the description
cannot drift from what the server accepts. ``docs/openapi.json`` is this document as
``python -m pkgdepot.web.openapi`` prints it; a test keeps the two equal.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from pkgdepot import __version__
from pkgdepot.domain import bodies

JSON = "application/json"
SIMPLE_TYPES = ("text/html", "application/vnd.pypi.simple.v1+json")
NAME = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^+/][^/]*$"}
BODIES: list[type[msgspec.Struct]] = [
    bodies.UserCreate,
    bodies.UserModify,
    bodies.Login,
    bodies.StageConfig,
    bodies.MirrorConfig,
    bodies.Yank,
    bodies.Push,
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {JSON: {"schema": schema}}}


def _ok(description: str, status: str = "200", schema: str = "Envelope") -> dict[str, Any]:
    return {
        status: {"description": description, **_json(_ref(schema))},
        "default": {"description": "an error, explained in `message`", **_json(_ref("Message"))},
    }


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, **_json(schema)}


def _params(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "schema": NAME} for n in names]


def _operation(summary: str, responses: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"summary": summary, "responses": responses, **more}


def _paths() -> dict[str, Any]:
    index_config = {"oneOf": [_ref("StageConfig"), _ref("MirrorConfig")]}
    index_patch = {"oneOf": [*index_config["oneOf"], _ref("Operations")]}
    simple = {
        "200": {
            "description": "the page, in the negotiated format",
            "content": {media: {"schema": {}} for media in SIMPLE_TYPES},
        },
        "default": {"description": "an error", **_json(_ref("Message"))},
    }
    ui = "/{user}/{index}"
    return {
        "/": {"get": _operation("every user with their indexes", _ok("users"))},
        "/+api": {"get": _operation("the server's URLs and who is logged in", _ok("config"))},
        "/+status": {"get": _operation("the server's state", _ok("status"))},
        "/+openapi.json": {
            "get": _operation("this description", _ok("OpenAPI 3.1", schema="Object"))
        },
        "/+login": {
            "post": _operation(
                "a login token for a user and password",
                _ok("the token"),
                requestBody=_body(_ref("Login")),
            )
        },
        "/{user}": {
            "parameters": _params("user"),
            "get": _operation("a user's settings and indexes", _ok("the user")),
            "put": _operation(
                "create a user", _ok("created", "201"), requestBody=_body(_ref("UserCreate"))
            ),
            "patch": _operation(
                "change a user's settings or password",
                _ok("changed", schema="Message"),
                requestBody=_body(_ref("UserModify")),
            ),
            "delete": _operation("delete a user", _ok("deleted", schema="Message")),
        },
        ui: {
            "parameters": _params("user", "index"),
            "get": _operation("an index's settings and projects", _ok("the index")),
            "put": _operation(
                "create an index", _ok("created", "201"), requestBody=_body(index_config, False)
            ),
            "patch": _operation(
                "change an index's settings", _ok("changed"), requestBody=_body(index_patch)
            ),
            "delete": _operation("delete an index", _ok("deleted", schema="Message")),
            "post": _operation(
                "push a release to another index or repository",
                _ok("the action log"),
                requestBody=_body(_ref("Push")),
            ),
        },
        f"{ui}/+simple/": {
            "parameters": _params("user", "index"),
            "get": _operation("the index's project list (PEP 503, PEP 691)", simple),
        },
        f"{ui}/+simple/{{project}}/": {
            "parameters": _params("user", "index", "project"),
            "get": _operation("a project's files (PEP 503, PEP 691)", simple),
        },
        f"{ui}/pypi/{{project}}/json": {
            "parameters": _params("user", "index", "project"),
            "get": _operation(
                "a project's latest release (the JSON API)", _ok("the project", schema="Object")
            ),
        },
        f"{ui}/{{project}}": {
            "parameters": _params("user", "index", "project"),
            "get": _operation("a project's releases", _ok("the releases")),
            "delete": _operation("delete a project", _ok("deleted", schema="Message")),
        },
        f"{ui}/{{project}}/{{version}}": {
            "parameters": _params("user", "index", "project", "version"),
            "get": _operation("a release's metadata and files", _ok("the release")),
            "patch": _operation(
                "yank or un-yank a release (PEP 592)",
                _ok("done", schema="Message"),
                requestBody=_body(_ref("Yank")),
            ),
            "delete": _operation("delete a release", _ok("deleted", schema="Message")),
        },
    }


def _schemas() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        BODIES, ref_template="#/components/schemas/{name}"
    )
    operations = msgspec.json.schema(bodies.Operations)
    return {
        **components,
        "Operations": {
            "description": "devpi-client's form: key=value, key+=value, key-=value",
            **operations,
        },
        "Envelope": {
            "type": "object",
            "required": ["type", "result"],
            "properties": {"type": {"type": "string"}, "result": {}, "message": {"type": "string"}},
        },
        "Message": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}},
        },
        "Object": {"type": "object"},
    }


@functools.cache
def document() -> bytes:
    return orjson.dumps(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "pkgdepot",
                "version": __version__,
                "description": "devpi-server's HTTP API, as pkgdepot serves it.",
            },
            "paths": _paths(),
            "components": {
                "schemas": _schemas(),
                "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            },
            "security": [{}, {"basic": []}],
        },
        option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE,
    )


async def openapi_page(request: Request) -> Response:
    return Response(document(), media_type=JSON)


if __name__ == "__main__":
    sys.stdout.buffer.write(document())
