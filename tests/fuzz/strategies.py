"""Hypothesis strategies for requests: paths of every route family, headers, JSON and
multipart bodies, each a mix of values the server knows and values nobody should send.

Values that would make the server connect somewhere (``mirror_url``, a push's ``posturl``)
only ever name a closed local port: no generated request reaches the network.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote

import orjson
from hypothesis import strategies as st

from tests.fuzz.state import MIRRORED, PROJECT, VERSION, credentials
from tests.support.server import NOWHERE

ROUTES = [
    "/",
    "/+api",
    "/+status",
    "/+metrics",
    "/+login",
    "/+openapi.json",
    "/{user}",
    "/{user}/+api",
    "/{user}/{index}",
    "/{user}/{index}/",
    "/{user}/{index}/+api",
    "/{user}/{index}/+simple/",
    "/{user}/{index}/simple/{project}/",
    "/{user}/{index}/+simple/{project}",
    "/{user}/{index}/+simple/{project}/refresh",
    "/{user}/{index}/+f/{rest}",
    "/{user}/{index}/+e/{rest}",
    "/{user}/{index}/pypi/{project}/json",
    "/{user}/{index}/pypi/{project}/{version}/json",
    "/{user}/{index}/{project}",
    "/{user}/{index}/{project}/{version}",
    "/{user}/{index}/{project}/{version}/+doc/{rest}",
]
KNOWN = {
    "user": ["alice", "mallory", "root"],
    "index": ["dev", "pypi"],
    "project": [PROJECT, MIRRORED, "Victim", "victim_"],
    "version": [VERSION, "1.0.0", "1!0", "latest"],
    "rest": ["index.html", "", "../../etc/passwd", "%2e%2e/x"],
}
METHODS = ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "PUSH", "OPTIONS"]
LOCAL_URLS = [NOWHERE, "http://127.0.0.1:9/", "http://[::1]:9/x/"]
ALL_KEYS = [
    "password", "pwhash", "email", "title", "description", "custom_data", "user", "type",
    "bases", "volatile", "acl_upload", "acl_toxresult_upload", "mirror_whitelist",
    "mirror_whitelist_inheritance", "mirror_url", "mirror_cache_expiry",
    "mirror_no_project_list", "mirror_use_external_urls", "mirror_ignore_serial_header",
    "name", "version", "targetindex", "posturl", "username", "no_docs", "only_docs",
    "register_project", "yanked", "projects", "indexes", "username", "result",
]  # fmt: skip
URL_KEYS = {"mirror_url", "posturl"}
HEADER_VALUES = {
    "Accept": [
        "application/json", "text/html", "application/vnd.pypi.simple.v1+json;q=0.9, */*",
        "application/vnd.pypi.simple.latest+html", "*/*;q=abc", "text/html;level=1;q=0",
        ";;;", "application/json, text/html;q=2",
    ],
    "If-None-Match": ['"abc"', 'W/"x", "y"', "*", '"', ""],
    "Range": ["bytes=0-0", "bytes=-1", "bytes=5-1", "bytes=0-,1-2", "bytes=abc", "items=0-1",
              "bytes=99999999999999999999-"],
    "Content-Type": [
        "application/json", "application/json; charset=utf-16", "text/plain; charset=bogus",
        "multipart/form-data", "multipart/form-data; boundary=",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x; charset=\xe9",
    ],
    "X-Outside-Url": ["http://[::1", "https://example.test/pkgs", "ftp://x", "http://h:99999/"],
    "X-Forwarded-Proto": ["https", "gopher", ""],
    "X-Forwarded-Host": ["example.test", "[::1", "a b"],
    "X-Forwarded-For": ["10.0.0.1", "unknown, ::1", "999.1.1.1"],
    "Authorization": ["Basic", "Basic ###", "Bearer x", "Basic " + "QQ==" * 3],
    "X-Devpi-Auth": ["", "=", "YTpi", "\xff\xfe"],
    "Host": ["example.test", "[::1]:1", "a:b:c"],
    "Accept-Encoding": ["gzip", "br;q=x"],
}  # fmt: skip


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Any text that can be encoded (no lone surrogates)."""
    return st.text(st.characters(exclude_categories=["Cs"]), max_size=max_size)


# Header bytes as a client may send them: anything but CR, LF and NUL
# (h11, under httpx, also refuses leading and trailing white space).
header_bytes = st.binary(max_size=60).map(
    lambda raw: bytes(b if b >= 0x20 or b == 0x09 else 0x41 for b in raw).strip(b" \t")
)


@dataclasses.dataclass(frozen=True)
class Fuzzed:
    method: str
    path: str
    headers: list[tuple[bytes, bytes]]
    body: bytes | None


def _segment(kind: str) -> st.SearchStrategy[str]:
    made = texts(24).map(lambda text: quote(text, safe=""))
    return st.one_of(st.sampled_from(KNOWN[kind]), made)


@st.composite
def paths(draw: st.DrawFn, routes: list[str] = ROUTES) -> str:
    template = draw(st.sampled_from(routes))
    filled = template.format(**{kind: draw(_segment(kind)) for kind in KNOWN})
    if draw(st.booleans()):
        query = draw(texts(30))
        filled += "?" + quote(query, safe="=&")
    return filled


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | texts(40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts(8), inner),
    max_leaves=12,
)


@st.composite
def config_objects(draw: st.DrawFn) -> dict[str, Any]:
    """Objects with the keys the API's bodies have, and any values (URLs only local ones)."""
    keys = draw(st.lists(st.sampled_from(ALL_KEYS) | texts(10), max_size=6))
    body: dict[str, Any] = {}
    for key in keys:
        if key in URL_KEYS:
            body[key] = draw(st.sampled_from(LOCAL_URLS))
        else:
            body[key] = draw(json_values | st.sampled_from(["true", "a,b", "root/pypi", ""]))
    return body


operations = st.lists(
    st.tuples(st.sampled_from(ALL_KEYS), st.sampled_from(["=", "+=", "-="]), texts(20))
    .filter(lambda op: op[0] not in URL_KEYS)
    .map("".join),
    max_size=5,
)


def _json_bytes(value: Any) -> bytes:
    return orjson.dumps(value)


json_bodies = st.one_of(
    config_objects().map(_json_bytes),
    operations.map(_json_bytes),
    json_values.map(_json_bytes),
    st.binary(max_size=80),
)


NO_BODY_OR_JSON = st.none() | json_bodies


@st.composite
def multipart_bodies(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A multipart body (often broken) and the Content-Type header it is sent with."""
    boundary = draw(st.sampled_from([b"b0undary", b"x", b"-" * 70]))
    parts = []
    fields = st.sampled_from([":action", "name", "version", "content", "sha256_digest", "x", ""])
    for _ in range(draw(st.integers(0, 5))):
        name = draw(fields | texts(8)).encode()
        disposition = b'form-data; name="' + name + b'"'
        if draw(st.booleans()):
            filename = draw(
                st.sampled_from([f"{PROJECT}-{VERSION}.tar.gz", "x.whl", "../a", ""]) | texts(20)
            )
            disposition += b'; filename="' + filename.encode() + b'"'
        head = b"Content-Disposition: " + draw(st.just(disposition) | header_bytes)
        value = draw(
            st.sampled_from([b"file_upload", b"doc_upload", PROJECT.encode(), b"1.0"])
            | st.binary(max_size=100)
        )
        parts.append(b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + value + b"\r\n")
    body = b"".join(parts) + draw(st.sampled_from([b"--" + boundary + b"--\r\n", b"", b"--"]))
    declared = draw(st.sampled_from([boundary, b"other", b'"' + boundary + b'"']))
    return body, b"multipart/form-data; boundary=" + declared


@st.composite
def header_lists(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    headers = [
        (name.encode(), value.encode("latin-1"))
        for name, value in draw(st.sampled_from(credentials())).items()
    ]
    for name in draw(st.lists(st.sampled_from(sorted(HEADER_VALUES)), max_size=4, unique=True)):
        known = st.sampled_from(HEADER_VALUES[name]).map(lambda v: v.encode("latin-1"))
        headers.append((name.encode(), draw(known | header_bytes)))
    return headers


@st.composite
def requests(
    draw: st.DrawFn,
    methods: list[str] = METHODS,
    routes: list[str] = ROUTES,
    bodies: st.SearchStrategy[bytes | None] = NO_BODY_OR_JSON,
) -> Fuzzed:
    headers = draw(header_lists())
    return Fuzzed(draw(st.sampled_from(methods)), draw(paths(routes)), headers, draw(bodies))


@st.composite
def uploads(draw: st.DrawFn) -> Fuzzed:
    """Multipart posts to an index, the way twine and devpi-client upload."""
    headers = [
        (k, v) for k, v in draw(header_lists()) if k.lower() not in (b"content-type", b"range")
    ]
    body, content_type = draw(multipart_bodies())
    path = draw(paths(["/{user}/{index}/", "/{user}/{index}"]))
    return Fuzzed("POST", path, [*headers, (b"content-type", content_type)], body)
