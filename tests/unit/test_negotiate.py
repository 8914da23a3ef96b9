"""Accept negotiation for the simple API: what each Accept header gets (None: 406)."""

from __future__ import annotations

import pytest

from pkgdepot.web.negotiate import SIMPLE_HTML, SIMPLE_JSON, TEXT_HTML, choose, parse

PIP = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
UV = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        # no preference: HTML, for browsers and old clients
        (None, TEXT_HTML),
        ("", TEXT_HTML),
        ("   ", TEXT_HTML),
        ("*/*", TEXT_HTML),
        # real clients
        (PIP, SIMPLE_JSON),
        (UV, SIMPLE_JSON),
        (BROWSER, TEXT_HTML),
        ("application/json", None),  # devpi-client's Accept names no simple format
        # exact types and the latest aliases
        ("text/html", TEXT_HTML),
        (SIMPLE_JSON, SIMPLE_JSON),
        (SIMPLE_HTML, SIMPLE_HTML),
        ("application/vnd.pypi.simple.latest+json", SIMPLE_JSON),
        ("application/vnd.pypi.simple.latest+html", SIMPLE_HTML),
        ("APPLICATION/VND.PYPI.SIMPLE.V1+JSON", SIMPLE_JSON),
        ("text/html; charset=utf-8", TEXT_HTML),
        # q-values decide
        (f"text/html;q=0.5, {SIMPLE_JSON};q=0.6", SIMPLE_JSON),
        (f"text/html;q=0.7, {SIMPLE_JSON};q=0.6", TEXT_HTML),
        (f"{SIMPLE_JSON} ; q=0.9 , text/html ; q=0.8", SIMPLE_JSON),
        (f"{SIMPLE_HTML};q=0.3, text/html;q=0.2", SIMPLE_HTML),
        (f"{SIMPLE_JSON};q=1.000, text/html;q=0.999", SIMPLE_JSON),
        # q=0 refuses a type, even when a wildcard would accept it
        ("text/html;q=0", None),
        ("*/*;q=0", None),
        ("text/html;q=0, */*", SIMPLE_JSON),
        (f"{SIMPLE_JSON};q=0, */*", TEXT_HTML),
        (f"{SIMPLE_JSON};q=0, text/html;q=0, {SIMPLE_HTML};q=0", None),
        # wildcards: a named type beats a wildcard of the same q-value
        ("application/*", SIMPLE_JSON),
        ("text/*", TEXT_HTML),
        (f"*/*, {SIMPLE_JSON}", SIMPLE_JSON),
        (f"{SIMPLE_JSON}, */*;q=0.1", SIMPLE_JSON),
        ("text/*;q=0.5, application/*;q=0.4", TEXT_HTML),
        # nothing offered
        ("text/plain", None),
        ("image/png, application/xml;q=0.5", None),
        ("application/vnd.pypi.simple.v2+json", None),
        # garbage: unusable ranges are skipped; nothing usable counts as no header
        ("garbage", TEXT_HTML),
        (";;;,,,", TEXT_HTML),
        ("v1+json", TEXT_HTML),
        ("text/html;q=-1", TEXT_HTML),
        (f"text/html;q=abc, {SIMPLE_JSON};q=0.5", SIMPLE_JSON),
        (f"text/html;q=2, {SIMPLE_JSON};q=0.5", SIMPLE_JSON),
        (f"text/html;q=nan, {SIMPLE_JSON};q=0.1", SIMPLE_JSON),
        (f"text/html;q=inf, {SIMPLE_JSON};q=0.1", SIMPLE_JSON),
        ("application/json, garbage", None),
        ("text/ html", TEXT_HTML),
    ],
)
def test_choose(accept: str | None, expected: str | None) -> None:
    assert choose(accept) == expected


def test_choose_honours_the_order_of_offers_on_a_tie() -> None:
    assert choose("*/*", (SIMPLE_JSON, TEXT_HTML)) == SIMPLE_JSON
    assert choose("application/*", (SIMPLE_HTML, SIMPLE_JSON)) == SIMPLE_HTML


def test_parse_resolves_aliases_and_reads_q_values() -> None:
    assert parse("application/vnd.pypi.simple.latest+json;q=0.5, text/html, bad, a/b;q=x") == [
        (SIMPLE_JSON, 0.5),
        (TEXT_HTML, 1.0),
    ]
