"""Requests an attacker would send: each refused with a precise 4xx, nothing stored, and the
answers about everybody else unharmed."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import dists
from tests.support.api_checks import assert_error, current_serial, snapshot
from tests.support.client import Api, basic
from tests.support.server import ServerProcess

Unique = Callable[[str], str]
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def everything(api: Api) -> tuple[int, Any]:
    """What every client sees of the users and indexes, and the serial every write moves."""
    return current_serial(api), snapshot(api, "/")


# JSON bodies


def test_deeply_nested_custom_data_of_a_new_user_is_refused(api: Api, unique: Unique) -> None:
    name = unique("deep")
    before = everything(api)
    reply = api.http.put(f"/{name}", json={"password": "pw", "custom_data": nested(300)})
    assert_error(reply, 400, "custom_data is nested more than 16 levels deep")
    assert everything(api) == before
    assert api.http.get("/").status_code == 200
    assert_error(api.http.get(f"/{name}"), 404, f"no user {name!r}")


def test_custom_data_at_the_depth_limit_is_stored_and_shown(api: Api, unique: Unique) -> None:
    name = unique("deepok")
    api.create_user(name, custom_data=nested(16))
    assert api.http.get(f"/{name}").json()["result"]["custom_data"] == nested(16)
    assert api.http.get("/").status_code == 200


def test_large_custom_data_is_refused(api: Api, unique: Unique) -> None:
    name = unique("wide")
    before = everything(api)
    reply = api.http.put(f"/{name}", json={"password": "pw", "custom_data": ["x" * 1000] * 70})
    assert_error(reply, 400, "custom_data is larger than 65536 bytes as JSON")
    assert everything(api) == before


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"custom_data": nested(260)}, "custom_data is nested more than 16 levels deep"),
        ({"title": "t" * 1001}, "title: expected `str` of length <= 1000"),
        ({"description": "d" * 70_000}, "description: expected `str` of length <= 65536"),
        ({"mirror_whitelist": ["a"] * 10_001}, "mirror_whitelist: expected `array` of length"),
        ({"bases": [nested(5)]}, "bases[0]: expected `str`, got `array`"),
        (["custom_data=x", 5], "PATCH list: expected `str`, got `int`"),
    ],
)
def test_bad_index_patches_are_refused(api: Api, unique: Unique, body: Any, fragment: str) -> None:
    user = unique("patcher")
    api.create_user(user)
    api.create_index(f"{user}/dev")
    auth = basic(user, "secret")
    before = everything(api)
    assert_error(api.http.patch(f"/{user}/dev", json=body, headers=auth), 400, fragment)
    assert everything(api) == before
    assert api.http.get(f"/{user}/dev").status_code == 200


def test_deep_nesting_in_a_new_mirror_index_is_refused(api: Api, unique: Unique) -> None:
    user = unique("mirrorer")
    api.create_user(user)
    body = {"type": "mirror", "mirror_url": "http://127.0.0.1:9/", "custom_data": nested(400)}
    before = everything(api)
    reply = api.http.put(f"/{user}/mirror", json=body, headers=basic(user, "secret"))
    assert_error(reply, 400, "custom_data is nested more than 16 levels deep")
    assert everything(api) == before


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"username": "root"}, "Unknown keys in user config: username"),
        ({"indexes": {"x": {"type": "stage"}}}, "Unknown keys in user config: indexes"),
        ({"created": 5}, "created: expected `str | null`, got `int`"),
        ({"email": "e", "foo": 1, "bar": 2}, "Unknown keys in user config: bar, foo"),
    ],
)
def test_patching_a_user_with_keys_its_config_does_not_have_is_refused(
    api: Api, unique: Unique, body: dict[str, Any], fragment: str
) -> None:
    name = unique("keys")
    api.create_user(name, email="kept@example.org")
    before = everything(api)
    reply = api.http.patch(f"/{name}", json=body, headers=basic(name, "secret"))
    assert_error(reply, 400, fragment)
    assert everything(api) == before


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"user": "root", "password": "p" * 1001}, "password: expected `str` of length <= 1000"),
        ({"user": "root", "password": "x", "extra": 1}, "unexpected keys: extra"),
    ],
)
def test_bad_logins_are_refused(api: Api, body: dict[str, Any], fragment: str) -> None:
    assert_error(api.http.post("/+login", json=body), 400, "login needs", fragment)


# headers


@pytest.mark.parametrize("header", ["X-Devpi-Auth", "Authorization"])
def test_credentials_that_are_not_ascii_are_unreadable_not_a_crash(
    api: Api, unique: Unique, header: str
) -> None:
    value = "é:é".encode("latin-1") if header == "X-Devpi-Auth" else b"Basic \xe9\xff"
    headers = {header.encode(): value}
    reply = api.http.get("/+api", headers=headers)  # a read: anonymous
    assert reply.status_code == 200, reply.text
    assert reply.json()["result"]["authstatus"][0] == "noauth"
    name = unique("nonascii")
    before = everything(api)
    reply = api.http.put(f"/{name}", json={"password": "pw"}, headers=headers)
    assert_error(reply, 401, "credentials could not be decoded")
    assert everything(api) == before


def test_credentials_whose_base64_is_not_utf8_are_unreadable(api: Api) -> None:
    value = base64.b64encode(b"\xff\xfe:secret")
    reply = api.http.patch("/root", json={"email": "x"}, headers={b"X-Devpi-Auth": value})
    assert_error(reply, 401, "credentials could not be decoded")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("http://[::1", "X-Outside-Url is not a URL"),
        ("http://[zz]/", "X-Outside-Url is not a URL"),
        ("ftp://example.org/", "X-Outside-Url must be an http or https URL"),
    ],
)
def test_an_unparsable_outside_url_is_400(api: Api, value: str, fragment: str) -> None:
    reply = api.http.get("/+api", headers={"X-Outside-Url": value})
    assert reply.status_code == 400, reply.text
    assert fragment in reply.json()["message"]


# headers a client may get wrong: a precise 4xx, or ignored where the standards say so


@pytest.fixture(scope="module")
def released(server: ServerProcess) -> Iterator[tuple[str, str]]:
    """An index with one wheel: the index path and the file's URL path."""
    api = Api(server.url)
    api.create_user("headers", "secret")
    api.create_index("headers/dev", auth=("headers", "secret"))
    filename, data = dists.make_wheel("header-pkg", "1.0")
    assert api.upload("headers/dev", filename, data, auth=("headers", "secret")).status_code == 200
    page = api.http.get("/headers/dev/+simple/header-pkg/", headers=SIMPLE_JSON)
    url = page.url.join(page.json()["files"][0]["url"])
    yield "headers/dev", url.path
    api.close()


@pytest.mark.parametrize(
    ("value", "status", "fragment"),
    [
        (b"bytes=abc", 416, "invalid byte range 'abc'"),
        (b"bytes=5-1", 416, "its end is before its start"),
        (b"bytes=0-\xe9", 416, "invalid byte range '0-\xe9'"),
        (b"bytes=99999999999999999999-", 416, "no requested byte range is within the file"),
        (b"items=0-1", 200, None),  # a unit the server does not know: ignored (RFC 9110)
    ],
)
def test_bad_ranges(
    api: Api, released: tuple[str, str], value: bytes, status: int, fragment: str | None
) -> None:
    reply = api.http.get(released[1], headers={b"Range": value, b"Accept": b"*/*"})
    assert reply.status_code == status, reply.text
    if fragment is not None:
        assert fragment in reply.json()["message"]


@pytest.mark.parametrize("value", [b'"', b"W/", b'\xe9"x"', b",,,", b"*" * 5000])
def test_unusable_if_none_match_is_a_plain_get(
    api: Api, released: tuple[str, str], value: bytes
) -> None:
    page = f"/{released[0]}/+simple/header-pkg/"
    reply = api.http.get(page, headers={b"If-None-Match": value, b"Accept": b"text/html"})
    assert reply.status_code == 200, reply.text
    assert b"header_pkg-1.0" in reply.content


@pytest.mark.parametrize("value", [b";;;", b"*/*;q=abc", b"text/html;q=2", b"\xe9", b"," * 3000])
def test_unusable_accept_headers_get_html(
    api: Api, released: tuple[str, str], value: bytes
) -> None:
    reply = api.http.get(f"/{released[0]}/+simple/header-pkg/", headers={b"Accept": value})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        (b"application/json; charset=bogus", b'{"email": "e@example.org"}', 200),
        (b"text/plain; charset=\xe9", b'{"email": "e@example.org"}', 200),
        (b"application/json; charset=utf-16", '{"email": "x"}'.encode("utf-16"), 400),
    ],
)
def test_json_is_read_as_utf8_whatever_charset_is_declared(
    api: Api, unique: Unique, content_type: bytes, body: bytes, status: int
) -> None:
    name = unique("charset")
    api.create_user(name)
    before = everything(api)
    reply = api.http.patch(
        f"/{name}", content=body, headers={b"Content-Type": content_type, **_basic(name)}
    )
    assert reply.status_code == status, reply.text
    if status == 400:
        assert_error(reply, 400, "could not decode JSON")
        assert everything(api) == before


@pytest.mark.parametrize(
    ("content_type", "fragment"),
    [
        (b"multipart/form-data; charset=\xe9", "multipart/form-data with a boundary"),
        (b"multipart/form-data; boundary=\xe9", "invalid multipart body"),
        (b"multipart/form-data; boundary=x; charset=utf-16", "content file field not found"),
    ],
)
def test_odd_multipart_content_types_are_400(
    api: Api, released: tuple[str, str], content_type: bytes, fragment: str
) -> None:
    body = b'--x\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n--x--\r\n'
    before = everything(api)
    reply = api.http.post(
        f"/{released[0]}/",
        content=body,
        headers={b"Content-Type": content_type, **_basic("headers")},
    )
    assert_error(reply, 400, fragment)
    assert everything(api) == before


def _basic(user: str) -> dict[bytes, bytes]:
    return {k.encode(): v.encode() for k, v in basic(user, "secret").items()}
