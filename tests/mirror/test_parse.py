"""The project page parsers: PEP 691 JSON and PEP 503 HTML into typed links."""

from __future__ import annotations

import orjson
import pytest

from pkgdepot.mirror.parse import (
    PageParseError,
    UpstreamLink,
    is_archive_of,
    parse_html_page,
    parse_json_page,
    parse_page,
)

PAGE = "https://index.test/simple/foo-bar/"
SHA = "ab" * 32
OTHER_SHA = "cd" * 32
WHEEL = "foo_bar-1.0-py3-none-any.whl"


def html(*anchors: str) -> bytes:
    return ("<html><body>" + "".join(anchors) + "</body></html>").encode()


def json_page(*files: dict[str, object]) -> bytes:
    return orjson.dumps({"meta": {"api-version": "1.1"}, "name": "foo-bar", "files": list(files)})


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [
        pytest.param(
            f'<a href="../../files/{WHEEL}#sha256={SHA}">x</a>',
            UpstreamLink(WHEEL, f"https://index.test/files/{WHEEL}", {"sha256": SHA}),
            id="relative-url-with-hash",
        ),
        pytest.param(
            f'<a href="{WHEEL}">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}"),
            id="same-directory-no-hash",
        ),
        pytest.param(
            f"<A HREF='https://files.test/p/{WHEEL}#SHA256={SHA.upper()}'>x</A>",
            UpstreamLink(WHEEL, f"https://files.test/p/{WHEEL}", {"sha256": SHA}),
            id="upper-case-tag-single-quotes",
        ),
        pytest.param(
            '<a href="/f/foo_bar-1.0%2Blocal-py3-none-any.whl">x</a>',
            UpstreamLink(
                "foo_bar-1.0+local-py3-none-any.whl",
                "https://index.test/f/foo_bar-1.0%2Blocal-py3-none-any.whl",
            ),
            id="percent-encoded-plus",
        ),
        pytest.param(
            '<a href="/f/foo-bar-1%212.0.tar.gz">x</a>',
            UpstreamLink("foo-bar-1!2.0.tar.gz", "https://index.test/f/foo-bar-1%212.0.tar.gz"),
            id="percent-encoded-epoch",
        ),
        pytest.param(
            f'<a href="{WHEEL}" data-requires-python="&gt;=3.8,&lt;4">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", requires_python=">=3.8,<4"),
            id="escaped-requires-python",
        ),
        pytest.param(
            f'<a href="{WHEEL}" data-yanked>x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", yanked=True),
            id="yanked-bare-attribute",
        ),
        pytest.param(
            f'<a href="{WHEEL}" data-yanked="">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", yanked=True),
            id="yanked-empty",
        ),
        pytest.param(
            f'<a href="{WHEEL}" data-yanked="broken &amp; &quot;bad&quot;">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", yanked=True, yanked_reason='broken & "bad"'),
            id="yanked-escaped-reason",
        ),
        pytest.param(
            f'<a href="{WHEEL}" data-core-metadata="true">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", core_metadata=True),
            id="core-metadata-true",
        ),
        pytest.param(
            f'<a href="{WHEEL}" data-core-metadata="sha256={SHA}">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", core_metadata={"sha256": SHA}),
            id="core-metadata-hash",
        ),
        pytest.param(
            f'<a href="{WHEEL}" data-dist-info-metadata="sha256={SHA}">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", core_metadata={"sha256": SHA}),
            id="legacy-dist-info-metadata",
        ),
        pytest.param(
            f'<a href="{WHEEL}" data-core-metadata="sha256=nothex">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", core_metadata=False),
            id="core-metadata-garbage",
        ),
        pytest.param(
            f'<a href="{WHEEL}#md5=0123456789abcdef0123456789abcdef">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", {"md5": "0123456789abcdef0123456789abcdef"}),
            id="other-hash",
        ),
        pytest.param(
            f'<a href="{WHEEL}#sha256=tooshort">x</a>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}"),
            id="malformed-hash-dropped",
        ),
        pytest.param(
            f'<p><a\nhref = "{WHEEL}"\n>unclosed <b>tags<br></p>',
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}"),
            id="odd-html",
        ),
    ],
)
def test_html_anchor(anchor: str, expected: UpstreamLink) -> None:
    assert parse_html_page(html(anchor), PAGE, "Foo.Bar") == [expected]


@pytest.mark.parametrize(
    "anchor",
    [
        pytest.param('<a href="other_pkg-1.0-py3-none-any.whl">x</a>', id="other-project"),
        pytest.param('<a href="foo_bar-1.0.exe">x</a>', id="not-an-archive"),
        pytest.param('<a href="foo_bar-notaversion.tar.gz">x</a>', id="bad-version"),
        pytest.param('<a href="../">parent</a>', id="navigation"),
        pytest.param("<a>no href</a>", id="no-href"),
        pytest.param('<a href="foo_bar-1.0-py3-none-any.whl.metadata">x</a>', id="metadata"),
    ],
)
def test_html_drops_foreign_links(anchor: str) -> None:
    assert parse_html_page(html(anchor), PAGE, "foo-bar") == []


def test_html_base_href_is_honoured() -> None:
    body = b'<html><head><base href="https://mirror.test/x/"></head>' + html(
        f'<a href="{WHEEL}">x</a>'
    )
    assert parse_html_page(body, PAGE, "foo-bar")[0].url == f"https://mirror.test/x/{WHEEL}"


def test_html_duplicates_keep_the_hashed_link() -> None:
    body = html(
        f'<a href="/a/{WHEEL}">x</a>',
        f'<a href="/b/{WHEEL}#sha256={SHA}">x</a>',
        f'<a href="/c/{WHEEL}#sha256={OTHER_SHA}">x</a>',
    )
    assert parse_html_page(body, PAGE, "foo-bar") == [
        UpstreamLink(WHEEL, f"https://index.test/b/{WHEEL}", {"sha256": SHA})
    ]


def test_legacy_sdist_suffixes_are_archives() -> None:
    assert is_archive_of("foo-bar-1.0.tar.bz2", "foo_bar")
    assert is_archive_of("Foo.Bar-1.0.zip", "foo-bar")
    assert not is_archive_of("foo-bar-baz-1.0.tar.gz", "foo-bar")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(
            {"filename": WHEEL, "url": f"../../files/{WHEEL}", "hashes": {"sha256": SHA}},
            UpstreamLink(WHEEL, f"https://index.test/files/{WHEEL}", {"sha256": SHA}),
            id="relative-url",
        ),
        pytest.param(
            {
                "filename": WHEEL,
                "url": f"https://files.test/{WHEEL}",
                "hashes": {"sha256": SHA, "blake2b": "zz", "made-up": "00"},
                "requires-python": ">=3.9",
                "yanked": "security hole",
                "core-metadata": {"sha256": SHA},
                "size": 1234,
                "upload-time": "2024-01-02T03:04:05Z",
            },
            UpstreamLink(
                WHEEL,
                f"https://files.test/{WHEEL}",
                {"sha256": SHA},
                requires_python=">=3.9",
                yanked=True,
                yanked_reason="security hole",
                core_metadata={"sha256": SHA},
                size=1234,
                upload_time="2024-01-02T03:04:05Z",
            ),
            id="all-fields",
        ),
        pytest.param(
            {"filename": WHEEL, "url": WHEEL, "hashes": {}, "yanked": True},
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", yanked=True),
            id="yanked-true",
        ),
        pytest.param(
            {"filename": WHEEL, "url": WHEEL, "hashes": {}, "yanked": False, "size": True},
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}"),
            id="not-yanked-bool-size-ignored",
        ),
        pytest.param(
            {"filename": WHEEL, "url": WHEEL, "hashes": {}, "dist-info-metadata": True},
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", core_metadata=True),
            id="legacy-dist-info-metadata",
        ),
        pytest.param(
            {"filename": WHEEL, "url": WHEEL, "hashes": {}, "core-metadata": {}},
            UpstreamLink(WHEEL, f"{PAGE}{WHEEL}", core_metadata=True),
            id="core-metadata-empty-dict",
        ),
        pytest.param(
            {"url": f"/f/foo_bar-2.0%2Bcpu-py3-none-any.whl#sha256={SHA}"},
            UpstreamLink(
                "foo_bar-2.0+cpu-py3-none-any.whl",
                "https://index.test/f/foo_bar-2.0%2Bcpu-py3-none-any.whl",
                {"sha256": SHA},
            ),
            id="filename-from-encoded-url",
        ),
    ],
)
def test_json_file(entry: dict[str, object], expected: UpstreamLink) -> None:
    assert parse_json_page(json_page(entry), PAGE, "foo-bar") == [expected]


def test_json_drops_foreign_and_malformed_entries() -> None:
    body = json_page(
        {"filename": "other-1.0.tar.gz", "url": "other-1.0.tar.gz"},
        {"filename": WHEEL},
        {"url": 5},
    )
    assert parse_json_page(body + b"", PAGE, "foo-bar") == []


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>", b"[1, 2]", b'{"files": {}}', b'{"meta": {}, "files": [', b"\xff\xfe"],
)
def test_json_that_is_not_a_page_is_an_error(body: bytes) -> None:
    with pytest.raises(PageParseError):
        parse_json_page(body, PAGE, "foo-bar")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/vnd.pypi.simple.v1+json", json_page({"filename": WHEEL, "url": WHEEL})),
        ("Application/Vnd.Pypi.Simple.V1+JSON; charset=utf-8", json_page({"url": WHEEL})),
        ("application/vnd.pypi.simple.v1+html", html(f'<a href="{WHEEL}">x</a>')),
        ("text/html; charset=utf-8", html(f'<a href="{WHEEL}">x</a>')),
        ("", html(f'<a href="{WHEEL}">x</a>')),
    ],
)
def test_parse_page_chooses_parser_by_media_type(content_type: str, body: bytes) -> None:
    assert parse_page(body, content_type, PAGE, "foo-bar") == [
        UpstreamLink(WHEEL, f"{PAGE}{WHEEL}")
    ]
