"""The outside URL: the scheme, host and path prefix clients use to reach the server.

Behind a proxy at ``https://example.test/pkgs/`` the app sees ``http://127.0.0.1:3141/...``;
every absolute URL it writes (``/+api``, JSON ``href``s, redirects) must use the outside one.
``OutsideUrl`` fixes the ASGI scope once per request (``scheme``, the ``host`` header,
``server``, and ``root_path`` + ``path`` as the ASGI spec defines them), so Starlette still
routes on the path below the prefix while ``request.url`` and ``request.base_url`` carry it.

Where the outside URL comes from, first found wins:

1. the ``X-Outside-Url`` request header (devpi's; its nginx configuration sends it),
2. the ``outside_url`` setting,
3. ``X-Forwarded-Proto`` / ``X-Forwarded-Host``, from a trusted proxy only,
4. the request itself (``Host`` header and the connection's scheme).

Who is believed: ``X-Forwarded-*`` only from a peer in ``trusted_proxy`` (addresses or
networks) or on the unix socket (whose file permissions decide who may connect, as gunicorn
has it). ``X-Outside-Url`` from those peers too, and from anyone while ``trusted_proxy`` is
empty, as devpi does, so the configurations written for devpi keep working: the header only
shapes the URLs in the reply to the request that carried it, and no page pkgdepot caches holds
an absolute URL (simple pages link relatively), so one client cannot hand its URL to another.
An operator who names the trusted proxies closes the header to everybody else.

The request's path may arrive with the prefix (a proxy passing it on unchanged, as the
generated nginx site does) or without it (a proxy that strips it); both are served.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from functools import lru_cache
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from pkgdepot.domain.outside_url import (
    DEFAULT_PORTS,
    NETLOC,
    BadOutsideUrl,
    Outside,
    parse_outside_url,
    split_netloc,
)
from pkgdepot.web.responses import message

Headers = list[tuple[bytes, bytes]]

_header_outside = lru_cache(maxsize=256)(parse_outside_url)  # proxies send a few values


class TrustedPeers:
    """The ``trusted_proxy`` setting: addresses and networks whose forwarded headers count."""

    def __init__(self, entries: tuple[str, ...]) -> None:
        self.networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
        self.trusts_address = lru_cache(maxsize=1024)(self._trusts_address)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, client: tuple[str, int] | None) -> bool:
        if client is None:  # the unix socket: its file permissions decide who connects
            return True
        return self.trusts_address(client[0]) is True

    def _trusts_address(self, address: str) -> bool | None:
        """Whether ``address`` is trusted; None when it is not an IP address at all."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        return any(ip in network for network in self.networks)


@dataclasses.dataclass
class _Given:
    """The request headers this module reads, from one pass over them."""

    outside_url: bytes | None = None
    proto: bytes | None = None
    host: bytes | None = None
    forwarded_for: list[bytes] = dataclasses.field(default_factory=list)


def _read(headers: Headers) -> _Given:
    given = _Given()
    for name, value in headers:
        if name == b"x-outside-url":
            given.outside_url = value
        elif name.startswith(b"x-forwarded-"):
            if name == b"x-forwarded-proto":
                given.proto = value
            elif name == b"x-forwarded-host":
                given.host = value
            elif name == b"x-forwarded-for":
                given.forwarded_for.append(value)
    return given


def _last(value: bytes) -> str:
    """The value the nearest proxy gave: the last of a comma-separated list."""
    return value.decode("latin-1").rsplit(",", 1)[-1].strip()


class OutsideUrl:
    """Pure ASGI middleware; bad values of the headers it believes are answered with 400."""

    def __init__(
        self, app: ASGIApp, outside_url: str | None, trusted_proxy: tuple[str, ...]
    ) -> None:
        self.app = app
        self.setting = None if outside_url is None else parse_outside_url(outside_url)
        self.peers = TrustedPeers(trusted_proxy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                self._fix(scope)
            except BadOutsideUrl as error:
                await message(str(error), 400, reason=True)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _fix(self, scope: Scope) -> None:
        given = _read(scope["headers"])
        trusted = self.peers.trusts(scope.get("client"))
        outside = None
        if given.outside_url is not None and (trusted or not self.peers):
            try:
                outside = _header_outside(_last(given.outside_url))
            except BadOutsideUrl as error:
                raise BadOutsideUrl(f"X-Outside-Url {error}") from None
        if outside is None:
            outside = self.setting
        if trusted:
            if outside is None and (given.proto is not None or given.host is not None):
                outside = _forwarded(scope, given)
            if given.forwarded_for:
                self._set_client(scope, given.forwarded_for)
        if outside is not None:
            _apply(scope, outside)

    def _set_client(self, scope: Scope, values: list[bytes]) -> None:
        """The client: the nearest address in X-Forwarded-For that is not a trusted proxy."""
        hops = [hop.strip() for value in values for hop in value.decode("latin-1").split(",")]
        for hop in reversed(hops):
            trusted = self.peers.trusts_address(hop)
            if trusted is None:
                return  # not an address ("unknown", a name): nothing further can be checked
            scope["client"] = (hop, 0)
            if not trusted:
                return


def _forwarded(scope: Scope, given: _Given) -> Outside:
    scheme: str = scope.get("scheme", "http")
    if given.proto is not None:
        scheme = _last(given.proto).lower()
        if scheme not in DEFAULT_PORTS:
            raise BadOutsideUrl(f"X-Forwarded-Proto must be http or https, not {scheme!r:.100}")
    netloc = None
    if given.host is not None:
        netloc = _last(given.host).lower()
        if not NETLOC.fullmatch(netloc):
            raise BadOutsideUrl(f"X-Forwarded-Host must be host[:port], not {netloc!r:.100}")
    return Outside(scheme, netloc)


def _apply(scope: Scope, outside: Outside) -> None:
    scope["scheme"] = outside.scheme
    if outside.netloc is not None:
        scope["server"] = split_netloc(outside.netloc, outside.scheme)
        host = (b"host", outside.netloc.encode("latin-1"))
        scope["headers"] = [h for h in scope["headers"] if h[0] != b"host"] + [host]
    prefix = outside.prefix
    if not prefix:
        return
    path: str = scope["path"]
    scope["root_path"] = prefix
    if path == prefix:
        scope["path"] = prefix + "/"
    elif not path.startswith(prefix + "/"):  # the proxy stripped the prefix: put it back
        scope["path"] = prefix + path
        raw: bytes | None = scope.get("raw_path")
        if raw is not None:
            scope["raw_path"] = quote(prefix).encode() + raw
