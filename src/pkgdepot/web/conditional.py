"""Conditional requests (RFC 9110): does a client's ``If-None-Match`` name our ETag?"""

from __future__ import annotations


def etag_matches(if_none_match: str, etag: str) -> bool:
    """The weak comparison ``If-None-Match`` uses; ``*`` matches any ETag."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))
