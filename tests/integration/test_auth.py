"""Login tokens and credentials: X-Devpi-Auth and HTTP Basic, each with a token or password."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest

from tests.support.api_checks import assert_error, result_of, snapshot
from tests.support.client import Api, basic, devpi_auth
from tests.support.server import ServerProcess

Unique = Callable[[str], str]
HeaderMaker = Callable[[str, str], dict[str, str]]


def authstatus(api: Api, headers: dict[str, str]) -> list[object]:
    reply = api.http.get("/+api", headers=headers)
    status: list[object] = result_of(reply, "apiconfig")["authstatus"]
    return status


def test_login_returns_a_proxyauth_token(api: Api, unique: Unique) -> None:
    name = unique("login")
    api.create_user(name)
    reply = api.http.post("/+login", json={"user": name, "password": "secret"})
    result = result_of(reply, "proxyauth")
    assert reply.json()["message"] == "login successful"
    assert set(result) == {"password", "expiration"}
    assert result["expiration"] == 36000
    assert isinstance(result["password"], str)
    assert result["password"] != "secret"
    assert authstatus(api, devpi_auth(name, result["password"])) == ["ok", name, []]


@pytest.mark.parametrize("password", ["wrong", "", "secret ", "SECRET"])
def test_login_with_a_wrong_password_is_401(api: Api, unique: Unique, password: str) -> None:
    name = unique("wrongpw")
    api.create_user(name)
    reply = api.http.post("/+login", json={"user": name, "password": password})
    assert_error(reply, 401, f"user {name!r} could not be authenticated")


def test_login_of_an_unknown_user_is_401(api: Api, unique: Unique) -> None:
    name = unique("unknown")
    reply = api.http.post("/+login", json={"user": name, "password": "x"})
    assert_error(reply, 401, f"user {name!r} could not be authenticated")


def test_a_token_is_not_a_password_for_login(api: Api, unique: Unique) -> None:
    name = unique("tokenlogin")
    api.create_user(name)
    token = api.login(name, "secret")
    reply = api.http.post("/+login", json={"user": name, "password": token})
    assert_error(reply, 401, "could not be authenticated")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{}",
        b'{"user": "root"}',
        b'{"password": "x"}',
        b'{"user": 1, "password": "x"}',
        b'{"user": "root", "password": null}',
        b'{"user": ["root"], "password": "x"}',
    ],
)
def test_login_without_user_and_password_strings_is_400(api: Api, content: bytes) -> None:
    assert_error(api.http.post("/+login", content=content), 400, "'user' and 'password'")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{", "could not decode JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"root:secret"', "JSON object"),
    ],
)
def test_login_with_a_body_that_is_no_object_is_400(
    api: Api, content: bytes, fragment: str
) -> None:
    assert_error(api.http.post("/+login", content=content), 400, fragment)


def test_login_only_answers_post(api: Api) -> None:
    reply = api.http.get("/+login")
    assert reply.status_code == 405
    assert reply.json()["message"]


MAKERS = [pytest.param(devpi_auth, id="x-devpi-auth"), pytest.param(basic, id="basic")]


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("kind", ["token", "password"])
def test_credentials_are_accepted_on_reads_and_writes(
    api: Api, unique: Unique, make: HeaderMaker, kind: str
) -> None:
    name = unique("cred")
    api.create_user(name)
    secret = api.login(name, "secret") if kind == "token" else "secret"
    headers = make(name, secret)
    assert authstatus(api, headers) == ["ok", name, []]
    reply = api.http.patch(f"/{name}", json={"title": kind}, headers=headers)
    assert reply.status_code == 200, reply.text
    reply = api.http.put(f"/{name}/dev", json={}, headers=headers)
    assert result_of(reply, "indexconfig", status=201)["acl_upload"] == [name]
    assert result_of(api.http.get(f"/{name}"), "userconfig")["title"] == kind


BAD_HEADERS: list[tuple[str, dict[str, str]]] = [
    ("wrong password", basic("root", "nope")),
    ("wrong token", devpi_auth("root", "WyJyb290IiwgIngiXQ.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb")),
    ("unknown user", devpi_auth("nobody-at-all", "x")),
    ("not base64", {"X-Devpi-Auth": "%%%not-base64%%%"}),
    ("no colon", {"X-Devpi-Auth": base64.b64encode(b"rootonly").decode()}),
    ("empty user", {"X-Devpi-Auth": base64.b64encode(b":secret").decode()}),
    ("not utf-8", {"X-Devpi-Auth": base64.b64encode(b"\xff\xfe:x").decode()}),
    ("empty header", {"X-Devpi-Auth": ""}),
    ("basic not base64", {"Authorization": "Basic !!!"}),
    ("basic without value", {"Authorization": "Basic"}),
]


@pytest.mark.parametrize(("case", "headers"), BAD_HEADERS, ids=[c for c, _ in BAD_HEADERS])
def test_bad_credentials_on_a_read_are_anonymous(
    api: Api, case: str, headers: dict[str, str]
) -> None:
    assert authstatus(api, headers) == ["noauth", "", []]
    assert result_of(api.http.get("/root", headers=headers), "userconfig")["username"] == "root"
    assert api.http.get("/", headers=headers).status_code == 200


@pytest.mark.parametrize(("case", "headers"), BAD_HEADERS, ids=[c for c, _ in BAD_HEADERS])
def test_bad_credentials_on_a_write_are_401(
    api: Api, unique: Unique, case: str, headers: dict[str, str]
) -> None:
    name = unique("victim")
    api.create_user(name)
    api.create_index(f"{name}/dev")
    before_user = snapshot(api, f"/{name}")
    before_index = snapshot(api, f"/{name}/dev")
    writes = [
        api.http.put(f"/{unique('fresh')}", json={"password": "x"}, headers=headers),
        api.http.patch(f"/{name}", json={"title": "x"}, headers=headers),
        api.http.delete(f"/{name}", headers=headers),
        api.http.put(f"/{name}/other", json={}, headers=headers),
        api.http.patch(f"/{name}/dev", json={"title": "x"}, headers=headers),
        api.http.delete(f"/{name}/dev", headers=headers),
    ]
    for reply in writes:
        text = assert_error(reply, 401)
        assert "could not be authenticated" in text or "could not be decoded" in text
        assert reply.headers["www-authenticate"].startswith("Basic")
    assert snapshot(api, f"/{name}") == before_user
    assert snapshot(api, f"/{name}/dev") == before_index
    assert api.http.get(f"/{name}/other").status_code == 404


def test_other_authorization_schemes_are_ignored(api: Api) -> None:
    headers = {"Authorization": "Bearer abc"}
    assert authstatus(api, headers) == ["noauth", "", []]


def test_x_devpi_auth_wins_over_basic(api: Api, unique: Unique) -> None:
    first, second = unique("first"), unique("second")
    api.create_user(first)
    api.create_user(second)
    headers = {**basic(second, "secret"), **devpi_auth(first, "secret")}
    assert authstatus(api, headers) == ["ok", first, []]


def test_a_token_only_works_for_its_own_user(api: Api, unique: Unique) -> None:
    owner, thief = unique("owner"), unique("thief")
    api.create_user(owner)
    api.create_user(thief)
    token = api.login(owner, "secret")
    assert authstatus(api, devpi_auth(thief, token)) == ["noauth", "", []]
    reply = api.http.patch(f"/{thief}", json={"title": "x"}, headers=devpi_auth(thief, token))
    assert_error(reply, 401, "could not be authenticated")


def test_a_tampered_token_is_refused(api: Api, unique: Unique) -> None:
    name = unique("tamper")
    api.create_user(name)
    token = api.login(name, "secret")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert authstatus(api, devpi_auth(name, tampered)) == ["noauth", "", []]


def test_a_deleted_users_token_is_refused_even_when_the_name_returns(
    api: Api, unique: Unique
) -> None:
    name = unique("reborn")
    api.create_user(name)
    token = api.login(name, "secret")
    assert api.http.delete(f"/{name}", headers=devpi_auth(name, token)).status_code == 200
    assert authstatus(api, devpi_auth(name, token)) == ["noauth", "", []]
    api.create_user(name)  # same name, same password
    assert authstatus(api, devpi_auth(name, token)) == ["noauth", "", []]


def test_a_deleted_users_token_is_an_anonymous_request_as_with_devpi(
    api: Api, unique: Unique
) -> None:
    """devpi-server answers a request with the token of a user that was deleted as an anonymous
    one (observed on 6.20): what anonymous may do works, the rest is refused as for anonymous."""
    name, owner = unique("gone"), unique("stays")
    api.create_user(owner)
    api.create_index(f"{owner}/dev")
    api.create_user(name)
    token = api.login(name, "secret")
    assert api.http.delete(f"/{name}", headers=devpi_auth(name, token)).status_code == 200
    headers = devpi_auth(name, token)
    newcomer = unique("new")
    created = api.http.put(f"/{newcomer}", json={"password": "pw"}, headers=headers)
    assert created.status_code == 201, created.text  # anonymous user creation is on
    assert_error(
        api.http.patch(f"/{owner}/dev", json={"title": "x"}, headers=headers),
        403,
        f"no permission to modify index {owner}/dev",
    )
    refused = api.http.post(
        f"/{owner}/dev/",
        headers=headers,
        data={":action": "file_upload"},
        files={"content": ("a-1.0.tar.gz", b"x")},
    )
    assert refused.status_code == 401, refused.text
    assert refused.json()["message"] == "authentication required to upload"
    # a password of a user that does not exist is still wrong credentials, not anonymity
    assert_error(
        api.http.put(f"/{unique('other')}", json={"password": "pw"}, headers=basic(name, "secret")),
        401,
        f"user {name!r} could not be authenticated",
    )


def test_tokens_expire(start_server: Callable[..., ServerProcess], unique: Unique) -> None:
    server = start_server(extra_args=["--token-expiry", "1"])
    api = Api(server.url)
    try:
        api.create_user("alice")
        reply = api.http.post("/+login", json={"user": "alice", "password": "secret"})
        result = result_of(reply, "proxyauth")
        assert result["expiration"] == 1
        token = result["password"]
        assert authstatus(api, devpi_auth("alice", token)) == ["ok", "alice", []]
        time.sleep(2.5)  # past the one-second lifetime (token times are whole seconds)
        assert authstatus(api, devpi_auth("alice", token)) == ["noauth", "", []]
        reply = api.http.patch("/alice", json={"title": "x"}, headers=devpi_auth("alice", token))
        assert_error(reply, 401, "could not be authenticated")
        assert "title" not in result_of(api.http.get("/alice"), "userconfig")
        # the password itself does not expire
        assert authstatus(api, devpi_auth("alice", "secret")) == ["ok", "alice", []]
    finally:
        api.close()


def test_users_and_tokens_survive_a_restart(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server()
    api = Api(server.url)
    api.create_user("alice")
    token = api.login("alice", "secret")
    api.close()
    server.restart()
    api = Api(server.url)
    try:
        assert authstatus(api, devpi_auth("alice", token)) == ["ok", "alice", []]
        assert api.login("alice", "secret")
    finally:
        api.close()
