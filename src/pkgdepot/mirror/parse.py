"""Parsers for upstream project pages (PEP 691 JSON, PEP 503 HTML) into typed links.

Pure functions: no I/O. The streaming project-list parser lives in ``project_list.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import orjson
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion

JSON_MEDIA_TYPE = "application/vnd.pypi.simple.v1+json"

_HEX = re.compile(r"[0-9a-f]+")
# Old sdist suffixes that packaging's parser does not know; checked as if they were ".tar.gz".
_LEGACY_SDIST_SUFFIXES = (".tar.bz2", ".tar.xz", ".tgz", ".tar")


class PageParseError(ValueError):
    """The upstream page is not a project page we can read."""


@dataclass(frozen=True, slots=True)
class UpstreamLink:
    """One release file as the upstream page announced it."""

    filename: str
    url: str
    hashes: Mapping[str, str] = field(default_factory=dict)
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    # False: not advertised; True: advertised without hash; a mapping: advertised with hashes.
    core_metadata: bool | Mapping[str, str] = False
    size: int | None = None
    upload_time: str | None = None

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")


# Hash name -> hex digest length (0 for the variable-length shake ones, which never match).
_HEX_LENGTHS = {name: 2 * hashlib.new(name).digest_size for name in hashlib.algorithms_guaranteed}


def valid_hashes(candidates: Mapping[str, object]) -> dict[str, str]:
    """The entries that are a known hash name with a hex digest of the right length."""
    found: dict[str, str] = {}
    for name, value in candidates.items():
        name = name.lower()
        length = _HEX_LENGTHS.get(name)
        if not length or not isinstance(value, str):
            continue
        value = value.lower()
        if len(value) == length and _HEX.fullmatch(value):
            found[name] = value
    return found


def archive_name_and_version(filename: str) -> tuple[str, str] | None:
    """The normalised project name and the version a wheel or sdist filename carries."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, str(version)
        for suffix in _LEGACY_SDIST_SUFFIXES:
            if filename.endswith(suffix):
                filename = filename[: -len(suffix)] + ".tar.gz"
                break
        name, version = parse_sdist_filename(filename)
        return canonicalize_name(name), str(version)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def is_archive_of(filename: str, project: str) -> bool:
    """Whether ``filename`` is a wheel or sdist of ``project`` (any spelling of its name)."""
    parsed = archive_name_and_version(filename)
    return parsed is not None and parsed[0] == canonicalize_name(project)


def _filename_from_url(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _hashes_from_fragment(url: str) -> tuple[str, dict[str, str]]:
    bare, fragment = urldefrag(url)
    name, _, value = fragment.partition("=")
    return bare, valid_hashes({name: value}) if value else {}


def _core_metadata_attr(value: str | None) -> bool | dict[str, str]:
    if value is None or value.lower() in ("", "true"):
        return True
    name, _, digest = value.partition("=")
    return valid_hashes({name: digest}) or False


def _core_metadata_json(value: object) -> bool | dict[str, str]:
    if isinstance(value, dict):
        return valid_hashes(value) or True
    return value is True


def _dedupe(links: Iterable[UpstreamLink], project: str) -> list[UpstreamLink]:
    """Drop foreign files; of several links with one filename keep the first with a hash."""
    chosen: dict[str, UpstreamLink] = {}
    for link in links:
        if not is_archive_of(link.filename, project):
            continue
        known = chosen.get(link.filename)
        if known is None or (not known.hashes and link.hashes):
            chosen[link.filename] = link
    return list(chosen.values())


class _AnchorCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self.anchors.append(dict(attrs))


def parse_html_page(body: bytes, page_url: str, project: str) -> list[UpstreamLink]:
    """Links of a PEP 503 page; relative hrefs are resolved against ``page_url`` (or <base>)."""
    collector = _AnchorCollector()
    collector.feed(body.decode("utf-8", errors="replace"))
    collector.close()
    base = urljoin(page_url, collector.base) if collector.base else page_url
    links = []
    for attrs in collector.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, hashes = _hashes_from_fragment(urljoin(base, href.strip()))
        yanked = "data-yanked" in attrs
        metadata_attr = "data-core-metadata"
        if metadata_attr not in attrs:
            metadata_attr = "data-dist-info-metadata"
        links.append(
            UpstreamLink(
                filename=_filename_from_url(url),
                url=url,
                hashes=hashes,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=yanked,
                yanked_reason=(attrs.get("data-yanked") or None) if yanked else None,
                core_metadata=(
                    _core_metadata_attr(attrs[metadata_attr]) if metadata_attr in attrs else False
                ),
            )
        )
    return _dedupe(links, project)


def _json_link(entry: object, page_url: str) -> UpstreamLink | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        return None
    url, fragment_hashes = _hashes_from_fragment(urljoin(page_url, entry["url"]))
    filename = entry.get("filename")
    filename = unquote(filename) if isinstance(filename, str) else _filename_from_url(url)
    raw_hashes = entry.get("hashes")
    hashes = valid_hashes(raw_hashes) if isinstance(raw_hashes, dict) else fragment_hashes
    yanked = entry.get("yanked", False)
    metadata = entry.get("core-metadata", entry.get("dist-info-metadata", False))
    requires_python = entry.get("requires-python")
    size = entry.get("size")
    upload_time = entry.get("upload-time")
    return UpstreamLink(
        filename=filename,
        url=url,
        hashes=hashes,
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=bool(yanked),
        yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
        core_metadata=_core_metadata_json(metadata),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        upload_time=upload_time if isinstance(upload_time, str) else None,
    )


def parse_json_page(body: bytes, page_url: str, project: str) -> list[UpstreamLink]:
    """Links of a PEP 691 JSON page; raises ``PageParseError`` if it is not one."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise PageParseError(f"invalid JSON: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        raise PageParseError("JSON page without a 'files' list")
    links = [_json_link(entry, page_url) for entry in document["files"]]
    return _dedupe((link for link in links if link is not None), project)


def parse_page(body: bytes, content_type: str, page_url: str, project: str) -> list[UpstreamLink]:
    """Parse by media type: PEP 691 JSON if the upstream says so, HTML otherwise."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == JSON_MEDIA_TYPE or media_type == "application/json":
        return parse_json_page(body, page_url, project)
    return parse_html_page(body, page_url, project)
