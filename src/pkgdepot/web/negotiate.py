"""Accept-header negotiation for the simple API (PEP 691), with q-values and ``latest`` aliases,
and how each offered media type is sent.

Media ranges that cannot be parsed (no ``type/subtype``, a q-value that is not a number from 0
to 1) are skipped, as RFC 9110 allows; a header with no usable range counts as no header.
"""

from __future__ import annotations

import math
import re

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
# Server preference when the client likes several equally: plain HTML first, for browsers.
SIMPLE_OFFERS = (TEXT_HTML, SIMPLE_JSON, SIMPLE_HTML)
CONTENT_TYPES = {
    TEXT_HTML: "text/html; charset=utf-8",
    SIMPLE_HTML: SIMPLE_HTML,
    SIMPLE_JSON: SIMPLE_JSON,
}
# The same bytes serve text/html and v1+html, but each representation has its own ETag.
ETAG_SUFFIX = {TEXT_HTML: "h", SIMPLE_HTML: "v", SIMPLE_JSON: "j"}
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": SIMPLE_JSON,
    "application/vnd.pypi.simple.latest+html": SIMPLE_HTML,
}
_TCHARS = r"[!#$%&'*+.^_`|~0-9a-z-]+"
_MEDIA_RANGE = re.compile(rf"(?:\*/\*|{_TCHARS}/\*|{_TCHARS}/{_TCHARS})")

# Exact match beats ``type/*``, which beats ``*/*``.
EXACT, TYPE_WILDCARD, ANY = 3, 2, 1


def _quality(params: list[str]) -> float | None:
    """The range's q-value: 1 when absent, None when malformed."""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() != "q":
            continue
        try:
            quality = float(value.strip())
        except ValueError:
            return None
        if not math.isfinite(quality) or not 0 <= quality <= 1:
            return None
        return quality
    return 1.0


def parse(accept: str) -> list[tuple[str, float]]:
    """The well-formed media ranges of an Accept header with their q-values, aliases resolved."""
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        quality = _quality(params)
        if quality is None or not _MEDIA_RANGE.fullmatch(media):
            continue
        ranges.append((_ALIASES.get(media, media), quality))
    return ranges


def _specificity(media_range: str, offer: str) -> int:
    if media_range == offer:
        return EXACT
    if media_range == "*/*":
        return ANY
    range_type, _, range_sub = media_range.partition("/")
    if range_sub == "*" and offer.startswith(range_type + "/"):
        return TYPE_WILDCARD
    return 0


def page_format(media: str) -> str:
    """Which rendering of a page a negotiated media type gets: ``json`` or ``html``."""
    return "json" if media == SIMPLE_JSON else "html"


def choose(accept: str | None, offers: tuple[str, ...] = SIMPLE_OFFERS) -> str | None:
    """The offer the client likes best, or None when it accepts none of them (406).

    Without a usable Accept header the first offer is chosen. Each offer takes the q-value of
    the most specific range that matches it; the highest q-value wins, then the more specific
    match (``v1+json, */*`` means JSON), then the order of ``offers``.
    """
    ranges = parse(accept) if accept else []
    if not ranges:
        return offers[0]
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for rank, offer in enumerate(offers):
        matches = [(spec, q) for media, q in ranges if (spec := _specificity(media, offer))]
        if not matches:
            continue
        specificity, quality = max(matches)
        if quality <= 0:
            continue
        score = (quality, specificity, -rank)
        if best is None or score > best:
            best, chosen = score, offer
    return chosen
