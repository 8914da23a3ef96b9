"""Accept-header negotiation for the simple API (PEP 691), with q-values and ``latest`` aliases."""

from __future__ import annotations

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
# Server preference when the client likes several equally: plain HTML first, for browsers.
SIMPLE_OFFERS = (TEXT_HTML, SIMPLE_JSON, SIMPLE_HTML)
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": SIMPLE_JSON,
    "application/vnd.pypi.simple.latest+html": SIMPLE_HTML,
}


def _parse(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        ranges.append((_ALIASES.get(media, media), quality))
    return ranges


def _specificity(media_range: str, offer: str) -> int:
    """3 exact, 2 ``type/*``, 1 ``*/*``, 0 no match."""
    if media_range == offer:
        return 3
    if media_range == "*/*":
        return 1
    range_type, _, range_sub = media_range.partition("/")
    if range_sub == "*" and offer.startswith(range_type + "/"):
        return 2
    return 0


def choose(accept: str | None, offers: tuple[str, ...] = SIMPLE_OFFERS) -> str | None:
    """The offer the client likes best; the first offer when there is no Accept header;
    None when the client accepts none of them (406)."""
    if not accept or not accept.strip():
        return offers[0]
    ranges = _parse(accept)
    best: tuple[float, int, int] | None = None
    chosen: str | None = None
    for rank, offer in enumerate(offers):
        matches = [(spec, q) for media, q in ranges if (spec := _specificity(media, offer))]
        if not matches:
            continue
        specificity, quality = max(matches)  # the most specific range decides the quality
        if quality <= 0:
            continue
        score = (quality, specificity, -rank)
        if best is None or score > best:
            best, chosen = score, offer
    return chosen
