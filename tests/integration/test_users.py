"""Users over the JSON API: create, read, list, modify, delete, and who may do each."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.api_checks import (
    assert_error,
    current_serial,
    result_of,
    snapshot,
)
from tests.support.client import Api, basic, devpi_auth
from tests.support.server import ROOT_PASSWORD

Unique = Callable[[str], str]
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def user_of(api: Api, name: str) -> dict[str, Any]:
    result: dict[str, Any] = result_of(api.http.get(f"/{name}"), "userconfig")
    return result


# create


def test_put_creates_a_user_and_shows_its_config(api: Api, unique: Unique) -> None:
    name = unique("creator")
    body = {
        "password": "pw",
        "email": "a@example.org",
        "title": "Alice",
        "description": "the first",
        "custom_data": {"team": ["x", 1]},
    }
    reply = api.http.put(f"/{name}", json=body)
    result = result_of(reply, "userconfig", status=201)
    assert reply.json()["message"] == f"user {name!r} created"
    assert result["username"] == name
    assert result["email"] == "a@example.org"
    assert result["title"] == "Alice"
    assert result["description"] == "the first"
    assert result["custom_data"] == {"team": ["x", 1]}
    assert result["indexes"] == {}
    assert STAMP.match(result["created"])
    assert result["modified"] == result["created"]
    assert "password" not in result
    assert "pwhash" not in result
    assert "argon2" not in reply.text
    assert user_of(api, name) == result


def test_put_of_an_existing_user_is_409_and_changes_nothing(api: Api, unique: Unique) -> None:
    name = unique("exists")
    api.create_user(name, email="old@example.org")
    before = snapshot(api, f"/{name}")
    reply = api.http.put(f"/{name}", json={"password": "other", "email": "new@example.org"})
    assert_error(reply, 409, f"user {name!r} already exists")
    assert snapshot(api, f"/{name}") == before
    assert api.http.post("/+login", json={"user": name, "password": "secret"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "password needs to be set"),
        ({"email": "a@example.org"}, "password needs to be set"),
        ({"password": None}, "password needs to be set"),
        ({"password": ""}, "password must be a non-empty string"),
        ({"password": 5}, "password: expected `str | null`, got `int`"),
        ({"password": ["x"]}, "password: expected `str | null`, got `array`"),
        ({"password": "x", "foo": 1}, "Unknown keys in user config: foo"),
        ({"password": "x", "username": "y"}, "Unknown keys in user config: username"),
        ({"password": "x", "email": 5}, "email: expected `str | null`, got `int`"),
        ({"password": "x", "title": {"a": 1}}, "title: expected `str | null`, got `object`"),
        ({"pwhash": "plain"}, "pwhash must be an argon2 hash"),
    ],
)
def test_put_with_a_bad_body_is_400(
    api: Api, unique: Unique, body: dict[str, Any], fragment: str
) -> None:
    name = unique("badbody")
    assert_error(api.http.put(f"/{name}", json=body), 400, fragment)
    assert_error(api.http.get(f"/{name}"), 404, f"no user {name!r}")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{", "could not decode JSON"),
        (b'{"password": "x",}', "could not decode JSON"),
        (b"\xff\xfe", "could not decode JSON"),
        (b"[]", "user config must be a JSON object"),
        (b'["password=x"]', "user config must be a JSON object"),
        (b'"password"', "user config must be a JSON object"),
        (b"null", "user config must be a JSON object"),
        (b"42", "user config must be a JSON object"),
    ],
)
def test_put_with_a_body_that_is_no_object_is_400(
    api: Api, unique: Unique, content: bytes, fragment: str
) -> None:
    name = unique("notobject")
    reply = api.http.put(f"/{name}", content=content)
    assert_error(reply, 400, fragment)
    assert api.http.get(f"/{name}").status_code == 404


def test_put_with_a_huge_body_is_413(api: Api, unique: Unique) -> None:
    name = unique("huge")
    body = b'{"password": "x", "description": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert_error(api.http.put(f"/{name}", content=body), 413, "larger than")
    # without a Content-Length the limit still holds while streaming
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    assert_error(api.http.put(f"/{name}", content=chunks), 413, "larger than")
    assert api.http.get(f"/{name}").status_code == 404


@pytest.mark.parametrize(
    ("segment", "shown"),
    [
        ("a%20b", "' '"),
        ("a+b", "'+'"),
        ("a%2Bb", "'+'"),
        ("a%01b", "\\x01"),
        ("a%7F", "\\x7f"),
        ("a%09b", "\\t"),
        ("a%0Ab", "\\n"),
        ("a:b", "':'"),
        ("a%3Fb", "'?'"),
        ("a%23b", "'#'"),
        ("a*b", "'*'"),
        ("-dash", "'-'"),
        ("x" * 101, "longer than 100"),
    ],
)
def test_invalid_user_names_are_400(api: Api, segment: str, shown: str) -> None:
    users_before = snapshot(api, "/")
    reply = api.http.put(f"/{segment}", json={"password": "x"})
    assert_error(reply, 400, "user name", shown)
    assert snapshot(api, "/") == users_before


def test_slash_in_a_user_name_creates_nothing(api: Api, unique: Unique) -> None:
    # "%2F" decodes to "/", so this is the index route of a user that does not exist
    first = unique("slash")
    users_before = snapshot(api, "/")
    assert_error(api.http.put(f"/{first}%2Fb", json={"password": "x"}), 404, "no user")
    assert snapshot(api, "/") == users_before


@pytest.mark.parametrize("suffix", ["a.b-c_d@e", "ünïcödé", "名前", "x" * 90])
def test_unusual_but_valid_user_names(api: Api, unique: Unique, suffix: str) -> None:
    name = unique("v") + suffix
    reply = api.http.put(f"/{name}", json={"password": "pw"})
    assert result_of(reply, "userconfig", status=201)["username"] == name
    assert user_of(api, name)["username"] == name
    assert name in result_of(api.http.get("/"), "list:userconfig")


# read


def test_get_of_an_unknown_user_is_404(api: Api, unique: Unique) -> None:
    name = unique("ghost")
    assert_error(api.http.get(f"/{name}"), 404, f"no user {name!r}")


def test_root_lists_every_user_with_its_indexes(api: Api, unique: Unique) -> None:
    name = unique("lister")
    api.create_user(name, title="T")
    api.create_index(f"{name}/dev", title="Dev")
    users = result_of(api.http.get("/"), "list:userconfig")
    assert "root" in users
    entry = users[name]
    assert entry["username"] == name
    assert entry["title"] == "T"
    assert entry["indexes"]["dev"]["type"] == "stage"
    assert entry["indexes"]["dev"]["title"] == "Dev"
    assert entry["indexes"]["dev"]["acl_upload"] == [name]
    assert "pwhash" not in api.http.get("/").text
    assert user_of(api, name)["indexes"] == entry["indexes"]


# modify


def test_patch_sets_and_removes_the_free_keys(api: Api, unique: Unique) -> None:
    name = unique("patcher")
    api.create_user(name, email="a@example.org", title="old")
    created = user_of(api, name)["created"]
    change = {
        "email": "b@example.org",
        "title": "new",
        "description": "D",
        "custom_data": {"k": 1},
    }
    reply = api.http.patch(f"/{name}", json=change, headers=basic(name, "secret"))
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": "user updated"}
    after = user_of(api, name)
    assert {k: after[k] for k in change} == change
    assert after["created"] == created
    reply = api.http.patch(
        f"/{name}", json={"title": "", "custom_data": None}, headers=basic(name, "secret")
    )
    assert reply.status_code == 200, reply.text
    after = user_of(api, name)
    assert "title" not in after
    assert "custom_data" not in after
    assert after["email"] == "b@example.org"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"foo": "x"}, 400, "Unknown keys in user config: foo"),
        ({"pwhash": "$argon2id$v=19$x"}, 400, "Unknown keys in user config: pwhash"),
        ({"email": 5}, 400, "email: expected `str | null`, got `int`"),
        ({"password": ""}, 400, "password must be a non-empty string"),
        ({"password": 12}, 400, "password: expected `str | null`, got `int`"),
        ({"title": "ok", "password": False}, 400, "password: expected `str | null`, got `bool`"),
        (["email=x"], 400, "user config must be a JSON object"),
        ("email", 400, "user config must be a JSON object"),
    ],
)
def test_bad_patches_are_400_and_change_nothing(
    api: Api, unique: Unique, body: object, status: int, fragment: str
) -> None:
    name = unique("badpatch")
    api.create_user(name, email="a@example.org")
    before = snapshot(api, f"/{name}")
    reply = api.http.patch(f"/{name}", json=body, headers=basic(name, "secret"))
    assert_error(reply, status, fragment)
    assert snapshot(api, f"/{name}") == before
    assert api.http.post("/+login", json={"user": name, "password": "secret"}).status_code == 200


def test_patch_of_an_unknown_user_is_404(api: Api, unique: Unique) -> None:
    name = unique("nobody")
    reply = api.http.patch(f"/{name}", json={"email": "x"}, headers=api.as_root())
    assert_error(reply, 404, f"no user {name!r}")


def test_password_change_returns_a_new_token_and_retires_the_old_ones(
    api: Api, unique: Unique
) -> None:
    name = unique("rotator")
    api.create_user(name, password="old-pw")
    old_token = api.login(name, "old-pw")
    reply = api.http.patch(
        f"/{name}", json={"password": "new-pw"}, headers=devpi_auth(name, old_token)
    )
    result = result_of(reply, "userpassword")
    assert reply.json()["message"] == "user updated, new proxy auth"
    assert result["expiration"] == 36000
    new_token = result["password"]
    assert new_token != old_token

    def status_with(secret: str) -> list[object]:
        reply = api.http.get("/+api", headers=devpi_auth(name, secret))
        status: list[object] = reply.json()["result"]["authstatus"]
        return status

    assert status_with(new_token) == ["ok", name, []]
    assert status_with("new-pw") == ["ok", name, []]
    assert status_with(old_token) == ["noauth", "", []]
    assert status_with("old-pw") == ["noauth", "", []]
    # the old token and password are refused on writes, and nothing changes
    before = snapshot(api, f"/{name}")
    for old in (old_token, "old-pw"):
        reply = api.http.patch(f"/{name}", json={"title": "x"}, headers=devpi_auth(name, old))
        assert_error(reply, 401, "could not be authenticated")
    assert snapshot(api, f"/{name}") == before
    assert_error(
        api.http.post("/+login", json={"user": name, "password": "old-pw"}),
        401,
        "could not be authenticated",
    )
    assert api.login(name, "new-pw")


def test_root_may_reset_a_password(api: Api, unique: Unique) -> None:
    name = unique("forgetful")
    api.create_user(name, password="lost")
    token = api.login(name, "lost")
    reply = api.http.patch(f"/{name}", json={"password": "reset"}, headers=api.as_root())
    assert result_of(reply, "userpassword")["password"]
    assert api.login(name, "reset")
    assert api.http.post("/+login", json={"user": name, "password": "lost"}).status_code == 401
    status = api.http.get("/+api", headers=devpi_auth(name, token)).json()["result"]
    assert status["authstatus"] == ["noauth", "", []]


# delete


def test_delete_removes_the_user_and_its_indexes(api: Api, unique: Unique) -> None:
    name = unique("leaver")
    other = unique("stayer")
    api.create_user(name)
    api.create_user(other)
    api.create_index(f"{name}/dev")
    api.create_index(f"{name}/prod")
    api.create_index(f"{other}/dev", bases=[f"{name}/dev"])
    reply = api.http.delete(f"/{name}", headers=basic(name, "secret"))
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": f"user {name!r} deleted"}
    assert_error(api.http.get(f"/{name}"), 404, "no user")
    assert_error(api.http.get(f"/{name}/dev"), 404, f"The stage {name}/dev could not be found.")
    assert api.http.get(f"/{name}/prod").status_code == 404
    assert name not in result_of(api.http.get("/"), "list:userconfig")
    # an index that named a deleted base still works, and keeps the name
    assert result_of(api.http.get(f"/{other}/dev"), "indexconfig")["bases"] == [f"{name}/dev"]
    reply = api.http.patch(f"/{other}/dev", json=["title=still"], headers=basic(other, "secret"))
    assert result_of(reply, "indexconfig")["title"] == "still"
    # the name is free again, with none of the old indexes
    api.create_user(name)
    assert user_of(api, name)["indexes"] == {}


def test_root_cannot_be_deleted(api: Api) -> None:
    before = snapshot(api, "/root")
    assert_error(
        api.http.delete("/root", headers=api.as_root()), 403, "root user cannot be deleted"
    )
    assert_error(api.http.delete("/root"), 403, "root user cannot be deleted")
    assert snapshot(api, "/root") == before
    assert api.login("root", ROOT_PASSWORD)


def test_a_user_with_a_non_volatile_index_cannot_be_deleted(api: Api, unique: Unique) -> None:
    name = unique("keeper")
    api.create_user(name)
    api.create_index(f"{name}/dev")
    api.create_index(f"{name}/prod", volatile=False)
    before = snapshot(api, f"/{name}")
    for who in (basic(name, "secret"), api.as_root()):
        reply = api.http.delete(f"/{name}", headers=who)
        assert_error(reply, 403, "non-volatile", f"{name}/prod")
    assert snapshot(api, f"/{name}") == before
    assert api.http.get(f"/{name}/dev").status_code == 200


def test_delete_of_an_unknown_user_is_404(api: Api, unique: Unique) -> None:
    name = unique("absent")
    assert_error(api.http.delete(f"/{name}", headers=api.as_root()), 404, f"no user {name!r}")


# who may do what


def headers_for(api: Api, who: str, target: str, other: str) -> dict[str, str]:
    return {
        "anonymous": {},
        "other": basic(other, "secret"),
        "self": basic(target, "secret"),
        "root": api.as_root(),
    }[who]


@pytest.mark.parametrize(
    ("who", "allowed"), [("anonymous", False), ("other", False), ("self", True), ("root", True)]
)
def test_who_may_patch_a_user(api: Api, unique: Unique, who: str, allowed: bool) -> None:
    target, other = unique("target"), unique("other")
    api.create_user(target, email="t@example.org")
    api.create_user(other)
    before = snapshot(api, f"/{target}")
    headers = headers_for(api, who, target, other)
    for body in ({"email": "changed@example.org"}, {"password": "changed"}):
        reply = api.http.patch(f"/{target}", json=body, headers=headers)
        if allowed:
            assert reply.status_code == 200, reply.text
        else:
            assert_error(reply, 403, f"no permission to modify user {target!r}")
            assert snapshot(api, f"/{target}") == before
    assert (user_of(api, target)["email"] == "changed@example.org") is allowed


@pytest.mark.parametrize(
    ("who", "allowed"), [("anonymous", False), ("other", False), ("self", True), ("root", True)]
)
def test_who_may_delete_a_user(api: Api, unique: Unique, who: str, allowed: bool) -> None:
    target, other = unique("target"), unique("other")
    api.create_user(target)
    api.create_user(other)
    api.create_index(f"{target}/dev")
    before = snapshot(api, f"/{target}")
    reply = api.http.delete(f"/{target}", headers=headers_for(api, who, target, other))
    if allowed:
        assert reply.status_code == 200, reply.text
        assert api.http.get(f"/{target}").status_code == 404
    else:
        assert_error(reply, 403, f"no permission to delete user {target!r}")
        assert snapshot(api, f"/{target}") == before
        assert api.http.get(f"/{target}/dev").status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "other", "root"])
def test_anyone_may_create_a_user_by_default(api: Api, unique: Unique, who: str) -> None:
    target, other = unique("new"), unique("other")
    api.create_user(other)
    reply = api.http.put(
        f"/{target}", json={"password": "x"}, headers=headers_for(api, who, target, other)
    )
    assert result_of(reply, "userconfig", status=201)["username"] == target


def test_writes_move_the_serial_and_failures_do_not(api: Api, unique: Unique) -> None:
    name = unique("serial")
    start = current_serial(api)
    created = api.http.put(f"/{name}", json={"password": "x"})
    assert int(created.headers["x-devpi-serial"]) == start + 1
    patched = api.http.patch(f"/{name}", json={"title": "t"}, headers=basic(name, "x"))
    assert int(patched.headers["x-devpi-serial"]) == start + 2
    failures = [
        api.http.put(f"/{name}", json={"password": "x"}),
        api.http.patch(f"/{name}", json={"foo": 1}, headers=basic(name, "x")),
        api.http.patch(f"/{name}", json={"title": "u"}),
        api.http.delete(f"/{name}"),
        api.http.delete(f"/{name}", headers=basic(name, "wrong")),
    ]
    for reply in failures:
        assert 400 <= reply.status_code < 500, reply.text
        assert int(reply.headers["x-devpi-serial"]) == start + 2
    assert current_serial(api) == start + 2
    deleted = api.http.delete(f"/{name}", headers=basic(name, "x"))
    assert int(deleted.headers["x-devpi-serial"]) == start + 3
