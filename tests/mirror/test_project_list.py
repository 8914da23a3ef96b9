"""The streaming project-list parser: JSON and HTML, any chunking, flat memory."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator, Iterable

import pytest

from pkgdepot.mirror.parse import PageParseError
from pkgdepot.mirror.project_list import iter_project_names
from tests.support.fake_pages import generated_list_chunks

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
JSON_LIST = (
    b' {"meta": {"api-version": "1.1", "_last-serial": 12, "x": [1, {"a": "]}"}]},\n'
    b' "projects" : [ {"name": "Foo.Bar", "_last-serial": 3},'
    b'{"name": "caf\\u00e9", "extra": [true, null, 2.5e3]} ,\n{"name": "x\\"y"}],'
    b' "after": 123456}'
)
HTML_LIST = (
    b"<!DOCTYPE html><html><head><title>Simple</title></head><body>\n"
    b'<a href="/simple/foo-bar/">Foo.Bar</a><br/>\n'
    b"<a href='/simple/cafe/'>caf&eacute;</a>\n"
    b'<A HREF="x/"> x&quot;y </A>\n<a href="empty/"></a></body></html>'
)
EXPECTED = ["Foo.Bar", "café", 'x"y']


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def names_of(parts: Iterable[bytes], content_type: str = "") -> list[str]:
    async def collect() -> list[str]:
        return [name async for name in iter_project_names(_chunks(parts), content_type)]

    return asyncio.run(collect())


@pytest.mark.parametrize("body", [JSON_LIST, HTML_LIST], ids=["json", "html"])
def test_every_split_point_gives_the_same_names(body: bytes) -> None:
    for cut in range(len(body) + 1):
        assert names_of([body[:cut], body[cut:]]) == EXPECTED, cut


@pytest.mark.parametrize("body", [JSON_LIST, HTML_LIST], ids=["json", "html"])
def test_byte_by_byte(body: bytes) -> None:
    assert names_of([body[i : i + 1] for i in range(len(body))]) == EXPECTED


def test_json_detected_by_media_type_even_with_leading_whitespace() -> None:
    assert names_of([b"\n\n", b'{"projects": []}'], JSON_TYPE) == []


def test_empty_html_list_has_no_names() -> None:
    assert names_of([b"<html><body></body></html>"], "text/html") == []


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param([JSON_LIST[:-1]], id="truncated-at-end"),
        pytest.param([JSON_LIST[: len(JSON_LIST) // 2]], id="truncated-in-middle"),
        pytest.param([b'{"projects": [{"name": 5}]}'], id="name-not-a-string"),
        pytest.param([b'{"projects": ["a"]}'], id="entry-not-an-object"),
        pytest.param([b'{"projects": [{"name": "a"} {"name": "b"}]}'], id="missing-comma"),
        pytest.param([b'{"projects": [{"name": "a"}]} trailing'], id="trailing-data"),
        pytest.param([b"{", b"nonsense"], id="garbage"),
        pytest.param([b""], id="empty"),
    ],
)
def test_broken_json_is_an_error(parts: list[bytes]) -> None:
    with pytest.raises(PageParseError):
        names_of(parts, JSON_TYPE)


def test_an_endless_json_value_is_cut_off() -> None:
    endless = (b"x" * 65536 for _ in range(200))
    with pytest.raises(PageParseError, match="too large"):
        names_of([b'{"meta": "', *endless], JSON_TYPE)


@pytest.mark.parametrize("flavour", ["json", "html"])
def test_a_million_names_stream_in_flat_memory(flavour: str) -> None:
    count = 1_000_000
    seen = 0
    last = ""

    async def consume() -> None:
        nonlocal seen, last
        chunks = _chunks(generated_list_chunks(count, flavour))
        async for name in iter_project_names(chunks, ""):
            seen += 1
            last = name

    tracemalloc.start()
    try:
        asyncio.run(consume())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (seen, last) == (count, f"name-{count - 1}")
    # A list of a million names held whole would take well over 50 MB.
    assert peak < 4 * 1024 * 1024, f"peak traced memory {peak} bytes"
