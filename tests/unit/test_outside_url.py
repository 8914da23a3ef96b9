"""The outside URL middleware (web/outside.py) in process: which source wins, who is believed,
and that routing, ``request.url`` and ``request.base_url`` agree with the prefix."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Scope

from pkgdepot.config import load_settings
from pkgdepot.domain.outside_url import BadOutsideUrl, parse_outside_url
from pkgdepot.errors import ConfigError
from pkgdepot.web.outside import OutsideUrl

PROXY = ("10.1.2.3", 40000)
STRANGER = ("192.0.2.7", 40000)


async def _seen(request: Request) -> Response:
    return JSONResponse(
        {
            "url": str(request.url),
            "base_url": str(request.base_url),
            "path_params": request.path_params,
            "client": request.client.host if request.client else None,
            "root_path": request.scope["root_path"],
        }
    )


class Client:
    """Requests to a small app behind ``OutsideUrl``, in process, from a chosen peer address."""

    def __init__(self, app: Starlette, peer: tuple[str, int]) -> None:
        self.transport = httpx.ASGITransport(app=app, client=peer)

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        async def get() -> httpx.Response:
            base = "http://127.0.0.1:3141"
            async with httpx.AsyncClient(transport=self.transport, base_url=base) as client:
                return await client.get(path, headers=headers)

        return asyncio.run(get())


def _client(
    outside_url: str | None = None,
    trusted: tuple[str, ...] = (),
    peer: tuple[str, int] = STRANGER,
) -> Client:
    app = Starlette(
        routes=[Route("/", _seen), Route("/{user}/{index}/+api", _seen)],
        middleware=[Middleware(OutsideUrl, outside_url=outside_url, trusted_proxy=trusted)],
    )
    return Client(app, peer)


def _get(client: Client, path: str, **headers: str) -> dict[str, Any]:
    reply = client.get(path, headers=headers)
    assert reply.status_code == 200, reply.text
    seen: dict[str, Any] = reply.json()
    return seen


def test_without_anything_the_request_itself_gives_the_url() -> None:
    seen = _get(_client(), "/alice/dev/+api")
    assert seen["url"] == "http://127.0.0.1:3141/alice/dev/+api"
    assert seen["base_url"] == "http://127.0.0.1:3141/"
    assert seen["path_params"] == {"user": "alice", "index": "dev"}


@pytest.mark.parametrize("path", ["/pkgs/alice/dev/+api", "/alice/dev/+api"])
def test_the_setting_gives_scheme_host_and_prefix_with_or_without_the_prefix_in_the_path(
    path: str,
) -> None:
    seen = _get(_client("https://example.test/pkgs"), path)
    assert seen["url"] == "https://example.test/pkgs/alice/dev/+api"
    assert seen["base_url"] == "https://example.test/pkgs/"
    assert seen["root_path"] == "/pkgs"
    assert seen["path_params"] == {"user": "alice", "index": "dev"}


def test_the_prefix_alone_is_the_root() -> None:
    client = _client("http://example.test:8080/pkgs/")
    for path in ("/pkgs", "/pkgs/", "/"):
        assert _get(client, path)["url"] == "http://example.test:8080/pkgs/"


def test_the_header_wins_over_the_setting_and_is_believed_from_anyone_without_trusted_proxies() -> (
    None
):
    client = _client("https://example.test/pkgs")
    seen = _get(client, "/other/alice/dev/+api", **{"X-Outside-Url": "http://h.test:81/other"})
    assert seen["url"] == "http://h.test:81/other/alice/dev/+api"
    assert seen["path_params"] == {"user": "alice", "index": "dev"}


def test_with_trusted_proxies_the_header_counts_only_from_them() -> None:
    header = {"X-Outside-Url": "https://proxy.test/p"}
    from_stranger = _get(_client(trusted=("10.0.0.0/8",)), "/alice/dev/+api", **header)
    assert from_stranger["url"] == "http://127.0.0.1:3141/alice/dev/+api"
    from_proxy = _get(_client(trusted=("10.0.0.0/8",), peer=PROXY), "/alice/dev/+api", **header)
    assert from_proxy["url"] == "https://proxy.test/p/alice/dev/+api"


def test_forwarded_headers_count_only_from_a_trusted_proxy() -> None:
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "pkgs.example.test",
        "X-Forwarded-For": "198.51.100.9",
    }
    untrusted = _get(_client(trusted=("10.1.2.3",)), "/alice/dev/+api", **headers)
    assert untrusted["url"] == "http://127.0.0.1:3141/alice/dev/+api"
    assert untrusted["client"] == STRANGER[0]
    trusted = _get(_client(trusted=("10.1.2.3",), peer=PROXY), "/alice/dev/+api", **headers)
    assert trusted["url"] == "https://pkgs.example.test/alice/dev/+api"
    assert trusted["client"] == "198.51.100.9"


def test_nothing_is_believed_without_trusted_proxies() -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.test"}
    seen = _get(_client(peer=("127.0.0.1", 5000)), "/", **headers)
    assert seen["url"] == "http://127.0.0.1:3141/"


def test_the_setting_wins_over_forwarded_headers() -> None:
    client = _client("https://example.test/pkgs", trusted=("10.1.2.3",), peer=PROXY)
    seen = _get(client, "/", **{"X-Forwarded-Host": "other.test", "X-Forwarded-Proto": "http"})
    assert seen["url"] == "https://example.test/pkgs/"


def test_forwarded_proto_alone_keeps_the_host() -> None:
    client = _client(trusted=("10.1.2.3",), peer=PROXY)
    assert _get(client, "/", **{"X-Forwarded-Proto": "https"})["url"] == "https://127.0.0.1:3141/"


def test_the_nearest_proxy_values_count_and_the_client_is_the_nearest_untrusted_hop() -> None:
    client = _client(trusted=("10.0.0.0/8",), peer=PROXY)
    seen = _get(
        client,
        "/",
        **{
            "X-Forwarded-Host": "spoofed.test, real.test",
            "X-Forwarded-For": "203.0.113.1, 198.51.100.9, 10.0.0.5",
        },
    )
    assert seen["url"] == "http://real.test/"
    assert seen["client"] == "198.51.100.9"
    # A hop that is no address stops the walk at the last trusted one.
    seen = _get(client, "/", **{"X-Forwarded-For": "unknown, 10.0.0.5"})
    assert seen["client"] == "10.0.0.5"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-Outside-Url": "ftp://example.test/"}, "X-Outside-Url must be an http or https URL"),
        ({"X-Outside-Url": "https:///pkgs"}, "X-Outside-Url must name a host"),
        ({"X-Outside-Url": "https://a b/"}, "X-Outside-Url must name a host"),
        ({"X-Outside-Url": "https://h.test/p?x=1"}, "X-Outside-Url must have no query"),
        ({"X-Forwarded-Proto": "gopher"}, "X-Forwarded-Proto must be http or https"),
        ({"X-Forwarded-Host": "bad host/"}, "X-Forwarded-Host must be host[:port]"),
    ],
)
def test_bad_values_that_would_be_believed_are_a_400(headers: dict[str, str], message: str) -> None:
    client = _client(trusted=("10.1.2.3",), peer=PROXY)
    reply = client.get("/", headers=headers)
    assert reply.status_code == 400
    assert reply.json()["message"].startswith(message)


def test_bad_forwarded_values_from_a_stranger_are_ignored() -> None:
    reply = _client(trusted=("10.1.2.3",)).get("/", headers={"X-Forwarded-Proto": "gopher"})
    assert reply.status_code == 200


def _call(middleware: OutsideUrl, scope: Scope) -> Scope:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(scope)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        raise AssertionError(f"unexpected reply {message}")

    middleware.app = app
    asyncio.run(middleware(scope, receive, send))
    return seen[0]


def test_a_peer_on_the_unix_socket_is_a_trusted_proxy() -> None:
    middleware = OutsideUrl(app=None, outside_url=None, trusted_proxy=("10.0.0.0/8",))  # type: ignore[arg-type]
    scope = {
        "type": "http",
        "scheme": "http",
        "path": "/alice/",
        "raw_path": b"/alice/",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"x-outside-url", b"https://u.test/x")],
        "client": None,
        "server": ("/run/pkgdepot.sock", None),
    }
    fixed = _call(middleware, scope)
    assert fixed["scheme"] == "https"
    assert fixed["server"] == ("u.test", 443)
    assert (b"host", b"u.test") in fixed["headers"]
    assert (b"host", b"localhost") not in fixed["headers"]
    assert (fixed["root_path"], fixed["path"], fixed["raw_path"]) == (
        "/x",
        "/x/alice/",
        b"/x/alice/",
    )


def test_websocket_and_lifespan_scopes_pass_untouched() -> None:
    middleware = OutsideUrl(app=None, outside_url="https://e.test/p", trusted_proxy=())  # type: ignore[arg-type]
    scope = {"type": "lifespan"}
    assert _call(middleware, scope) == {"type": "lifespan"}


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("https://Example.Test/pkgs/", ("https", "example.test", "/pkgs", "example.test")),
        ("http://127.0.0.1:8080", ("http", "127.0.0.1:8080", "", "127.0.0.1")),
        ("http://[::1]:81/a%20b", ("http", "[::1]:81", "/a b", "::1")),
    ],
)
def test_outside_urls_parse(url: str, parts: tuple[str, str, str, str]) -> None:
    outside = parse_outside_url(url)
    assert (outside.scheme, outside.netloc, outside.prefix, outside.host) == parts


@pytest.mark.parametrize(
    "url", ["example.test/pkgs", "https://", "https://user@h.test/", "http://h.test/#x"]
)
def test_bad_outside_urls(url: str) -> None:
    with pytest.raises(BadOutsideUrl):
        parse_outside_url(url)
    with pytest.raises(ConfigError, match="outside_url must"):
        load_settings({"outside_url": url}, environ={})


@pytest.mark.parametrize("entry", ["10.0.0.300", "proxy.example.test", "10.0.0.0/33"])
def test_trusted_proxy_entries_are_addresses_or_networks(entry: str) -> None:
    with pytest.raises(ConfigError, match="trusted_proxy must list IP addresses or networks"):
        load_settings({"trusted_proxy": ["127.0.0.1", entry]}, environ={})
