"""The outside URL: ``http(s)://host[:port][/prefix]``, where clients reach the server."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import unquote, urlsplit

# host[:port]: a DNS name or IPv4 address, or an IPv6 address in brackets.
NETLOC = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)
DEFAULT_PORTS = {"http": 80, "https": 443}


class BadOutsideUrl(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Outside:
    scheme: str
    netloc: str | None  # host[:port] as clients write it; None: the request's Host stands
    prefix: str = ""  # the path prefix, percent-decoded, no trailing slash ("" for none)

    @property
    def host(self) -> str:
        """The host name (an IPv6 address without brackets); "" without a netloc."""
        return split_netloc(self.netloc, self.scheme)[0] if self.netloc else ""


def parse_outside_url(value: str) -> Outside:
    """The parts of an outside URL; ``BadOutsideUrl`` says what is wrong with it."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # an unclosed "[" of an IPv6 address
        raise BadOutsideUrl(f"is not a URL: {value!r:.200}") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise BadOutsideUrl(f"must be an http or https URL, not {value!r:.200}")
    if not NETLOC.fullmatch(parts.netloc):
        raise BadOutsideUrl(f"must name a host and optionally a port, not {value!r:.200}")
    if parts.query or parts.fragment:
        raise BadOutsideUrl(f"must have no query or fragment, not {value!r:.200}")
    return Outside(parts.scheme, parts.netloc.lower(), unquote(parts.path).rstrip("/"))


def split_netloc(netloc: str, scheme: str) -> tuple[str, int]:
    """``(host, port)`` of a ``host[:port]`` that matches ``NETLOC``."""
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port = rest[1:]
    else:
        host, _, port = netloc.partition(":")
    return host, int(port) if port else DEFAULT_PORTS[scheme]
