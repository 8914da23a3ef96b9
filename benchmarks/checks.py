"""Correctness of what a server sends: the files a simple page lists and their sha256 against
the upstream's, and the sha256 of a downloaded file."""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from benchmarks.load import JSON_ACCEPT

_ANCHOR = re.compile(rb"<a\s[^>]*?href=\"([^\"]*)\"[^>]*>([^<]*)</a>", re.IGNORECASE)
TIMEOUT = httpx.Timeout(120.0, connect=10.0)


class CheckFailed(Exception):
    """A server answered wrongly; the message says how."""


def is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip() == JSON_ACCEPT


def page_links(body: bytes, content_type: str) -> dict[str, tuple[str, str]]:
    """Filename -> (href, sha256) of every file a simple page (HTML or PEP 691 JSON) lists.
    A file without a sha256 gets an empty one (and fails the comparison)."""
    links: dict[str, tuple[str, str]] = {}
    if is_json(content_type):
        for entry in json.loads(body)["files"]:
            links[entry["filename"]] = (entry["url"], entry.get("hashes", {}).get("sha256", ""))
        return links
    for match in _ANCHOR.finditer(body):
        href = html.unescape(match.group(1).decode())
        path, _, fragment = href.partition("#")
        name = html.unescape(match.group(2).decode()).strip()
        name = name or unquote(urlsplit(path).path.rsplit("/", 1)[-1])
        algorithm, _, digest = fragment.partition("=")
        links[name] = (href, digest if algorithm == "sha256" else "")
    return links


def compare_links(
    got: dict[str, tuple[str, str]], expected: dict[str, str], where: str
) -> dict[str, tuple[str, str]]:
    """Every expected file listed with its sha256, and nothing else; raises otherwise."""
    hashes = {name: digest for name, (_, digest) in got.items()}
    if hashes == expected:
        return got
    missing = sorted(set(expected) - set(hashes))
    extra = sorted(set(hashes) - set(expected))
    wrong = sorted(n for n in set(hashes) & set(expected) if hashes[n] != expected[n])
    raise CheckFailed(
        f"{where}: {len(missing)} files missing {missing[:3]}, {len(extra)} unexpected "
        f"{extra[:3]}, {len(wrong)} with a wrong sha256 {wrong[:3]}"
    )


def get(
    client: httpx.Client, url: str, accept: str | None = None, tries: int = 1
) -> httpx.Response:
    """GET with the given Accept; a 200 is required (a few tries for a cold mirror)."""
    headers = {"Accept": accept} if accept else {}
    response = client.get(url, headers=headers)
    for _ in range(tries - 1):
        if response.status_code == 200:
            break
        time.sleep(0.5)
        response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise CheckFailed(f"GET {url}: {response.status_code} {response.text[:200]!r}")
    return response


def file_sha256(client: httpx.Client, url: str) -> tuple[int, str, int]:
    """Status, sha256 and size of what ``url`` answers (redirects not followed)."""
    digest = hashlib.sha256()
    size = 0
    with client.stream("GET", url) as response:
        for chunk in response.iter_bytes(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        return response.status_code, digest.hexdigest(), size


def wait_for_file(
    client: httpx.Client, url: str, sha256: str, size: int, timeout: float = 120.0
) -> None:
    """Until ``url`` answers 200 with exactly the file: a mirror may first redirect or fetch it
    from its upstream. Raises if that takes longer than ``timeout``."""
    deadline = time.monotonic() + timeout
    status, got, length = file_sha256(client, url)
    while (status, got, length) != (200, sha256, size):
        if time.monotonic() > deadline:
            raise CheckFailed(f"GET {url}: {status}, {length} bytes, sha256 {got}; want {sha256}")
        time.sleep(0.5)
        status, got, length = file_sha256(client, url)


def absolute(page_url: str, href: str) -> str:
    return urljoin(page_url, href.partition("#")[0])
