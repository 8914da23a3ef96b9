"""The simple API documents: PEP 503/629/592/658/714 HTML and PEP 691/700 JSON.

Files are rendered to fragments by ``domain/simple_links.py`` and joined into pages by
``web/render.py``; these tests check the pages the two make together.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import orjson

from pkgdepot.domain import simple_links
from pkgdepot.domain.models import ReleaseFile
from pkgdepot.web import render

SHA = "a" * 64
META_SHA = "b" * 64


def link(filename: str, **changes: Any) -> ReleaseFile:
    values: dict[str, Any] = {
        "index": "alice/dev",
        "project": "p",
        "kind": "releasefile",
        "filename": filename,
        "relpath": f"alice/dev/+f/aaa/aaaaaaaaaaaaa/{filename}",
        "version": "1.0",
        "sha256": SHA,
        "size": 1234,
        "upload_time": "2026-01-02T03:04:05Z",
        "requires_python": None,
        "yanked": None,
        "core_metadata_sha256": None,
    }
    values.update(changes)
    return ReleaseFile(**values)


def page_html(project: str, files: list[ReleaseFile], note: str | None = None) -> bytes:
    return render.project_html(project, [simple_links.html_link(f) for f in files], note)


def page_json(project: str, files: list[ReleaseFile], versions: list[str]) -> bytes:
    return render.project_json(project, [simple_links.json_link(f) for f in files], versions)


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.meta: dict[str | None, str | None] = {}
        self.paragraphs: list[str] = []
        self.title = ""
        self._in: str | None = None
        self._attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = dict(attrs)
            self.meta[values.get("name")] = values.get("content")
        self._in, self._attrs = tag, dict(attrs)

    def handle_data(self, data: str) -> None:
        if self._in == "a":
            self.anchors.append((self._attrs, data))
        elif self._in == "p":
            self.paragraphs.append(data)
        elif self._in == "title":
            self.title = data

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def parsed(body: bytes) -> Anchors:
    parser = Anchors()
    parser.feed(body.decode())
    return parser


def test_project_html_links_carry_every_attribute_escaped() -> None:
    wheel = link(
        "hello_pkg-1.0-py3-none-any.whl",
        requires_python=">=3.8,<4",
        yanked='broken "build" <b>',
        core_metadata_sha256=META_SHA,
    )
    sdist = link("hello_pkg-1.0.tar.gz", requires_python=">=3.8")
    body = page_html("hello-pkg", [wheel, sdist])
    text = body.decode()
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in text
    assert 'data-yanked="broken &quot;build&quot; &lt;b&gt;"' in text
    page = parsed(body)
    assert page.meta["pypi:repository-version"] == "1.1"
    assert page.title == "Links for hello-pkg"
    (wheel_attrs, wheel_text), (sdist_attrs, sdist_text) = page.anchors
    assert wheel_text == "hello_pkg-1.0-py3-none-any.whl"
    assert wheel_attrs == {
        "href": f"../../../../alice/dev/+f/aaa/aaaaaaaaaaaaa/{wheel_text}#sha256={SHA}",
        "data-requires-python": ">=3.8,<4",
        "data-yanked": 'broken "build" <b>',
        "data-core-metadata": f"sha256={META_SHA}",
        "data-dist-info-metadata": f"sha256={META_SHA}",
    }
    assert sdist_text == "hello_pkg-1.0.tar.gz"
    assert sdist_attrs == {
        "href": f"../../../../alice/dev/+f/aaa/aaaaaaaaaaaaa/{sdist_text}#sha256={SHA}",
        "data-requires-python": ">=3.8",
    }


def test_yanked_without_a_reason_is_an_empty_attribute() -> None:
    page = parsed(page_html("p", [link("p-1.0.tar.gz", yanked="")]))
    assert page.anchors[0][0]["data-yanked"] == ""
    assert "data-yanked" not in parsed(page_html("p", [link("p-1.0.tar.gz")])).anchors[0][0]


def test_links_resolve_to_the_file_from_both_url_forms() -> None:
    url = simple_links.file_url("alice/dev/+f/aaa/aaaaaaaaaaaaa/p-1.0.tar.gz")
    expected = "http://h:3141/alice/dev/+f/aaa/aaaaaaaaaaaaa/p-1.0.tar.gz"
    for page in ("/bob/prod/+simple/p/", "/bob/prod/simple/p/"):
        assert urljoin(f"http://h:3141{page}", url) == expected


def test_unusual_characters_are_quoted_in_urls_and_escaped_in_text() -> None:
    odd = link("p-1.0+local&x <y>.tar.gz", relpath="alice/dev/+f/aaa/b/p-1.0+local&x <y>.tar.gz")
    body = page_html("p", [odd])
    assert b"<y>" not in body
    attrs, text = parsed(body).anchors[0]
    assert text == "p-1.0+local&x <y>.tar.gz"
    assert (
        attrs["href"]
        == f"../../../../alice/dev/+f/aaa/b/p-1.0+local%26x%20%3Cy%3E.tar.gz#sha256={SHA}"
    )
    document = orjson.loads(page_json("p", [odd], ["1.0"]))
    assert (
        document["files"][0]["url"]
        == "../../../../alice/dev/+f/aaa/b/p-1.0+local%26x%20%3Cy%3E.tar.gz"
    )


def test_the_whitelist_note_is_an_escaped_paragraph() -> None:
    body = page_html("p", [], note="no releases from <root/pypi>")
    assert parsed(body).paragraphs == ["no releases from <root/pypi>"]
    assert b"&lt;root/pypi&gt;" in body


def test_project_json_is_api_1_1_with_pep_700_fields() -> None:
    wheel = link(
        "p-1.0-py3-none-any.whl",
        requires_python=">=3.8",
        yanked="bad",
        core_metadata_sha256=META_SHA,
    )
    sdist = link("p-1.0.tar.gz", size=99, yanked="")
    plain = link("p-2.0.tar.gz", version="2.0")
    document = orjson.loads(page_json("p", [wheel, sdist, plain], ["1.0", "2.0", "3.0"]))
    assert document["meta"] == {"api-version": "1.1"}
    assert document["name"] == "p"
    assert document["versions"] == ["1.0", "2.0", "3.0"]
    assert document["files"] == [
        {
            "filename": "p-1.0-py3-none-any.whl",
            "url": "../../../../alice/dev/+f/aaa/aaaaaaaaaaaaa/p-1.0-py3-none-any.whl",
            "hashes": {"sha256": SHA},
            "size": 1234,
            "upload-time": "2026-01-02T03:04:05Z",
            "requires-python": ">=3.8",
            "yanked": "bad",
            "core-metadata": {"sha256": META_SHA},
        },
        {
            "filename": "p-1.0.tar.gz",
            "url": "../../../../alice/dev/+f/aaa/aaaaaaaaaaaaa/p-1.0.tar.gz",
            "hashes": {"sha256": SHA},
            "size": 99,
            "upload-time": "2026-01-02T03:04:05Z",
            "yanked": True,
        },
        {
            "filename": "p-2.0.tar.gz",
            "url": "../../../../alice/dev/+f/aaa/aaaaaaaaaaaaa/p-2.0.tar.gz",
            "hashes": {"sha256": SHA},
            "size": 1234,
            "upload-time": "2026-01-02T03:04:05Z",
        },
    ]


def test_project_list_in_html_and_json() -> None:
    page = parsed(render.index_html("Simple index of alice/dev", ["a-b", "c"]))
    assert page.meta["pypi:repository-version"] == "1.1"
    assert page.anchors == [({"href": "a-b/"}, "a-b"), ({"href": "c/"}, "c")]
    assert orjson.loads(render.index_json(["a-b", "c"])) == {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": "a-b"}, {"name": "c"}],
    }
