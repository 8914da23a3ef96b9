"""Indexes over the JSON API: create, read, the PATCH forms, delete, permissions, discovery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import dists
from tests.support.api_checks import (
    assert_error,
    current_serial,
    result_of,
    snapshot,
)
from tests.support.client import Api, basic

Unique = Callable[[str], str]


def defaults(owner: str, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "type": "stage",
        "bases": [],
        "volatile": True,
        "acl_upload": [owner],
        "acl_toxresult_upload": [":ANONYMOUS:"],
        "mirror_whitelist": [],
        "mirror_whitelist_inheritance": "intersection",
    }
    config.update(changes)
    return config


def owner_with_index(api: Api, unique: Unique, **config: Any) -> tuple[str, str]:
    owner = unique("owner")
    api.create_user(owner)
    api.create_index(f"{owner}/dev", **config)
    return owner, f"{owner}/dev"


def config_of(api: Api, path: str) -> dict[str, Any]:
    result: dict[str, Any] = result_of(api.http.get(f"/{path}?no_projects"), "indexconfig")
    return result


def patch(api: Api, path: str, body: object, owner: str, query: str = "") -> Any:
    return api.http.patch(f"/{path}{query}", json=body, headers=basic(owner, "secret"))


# create


def test_put_fills_in_the_defaults(api: Api, unique: Unique) -> None:
    owner = unique("owner")
    api.create_user(owner)
    reply = api.http.put(f"/{owner}/dev", json={}, headers=basic(owner, "secret"))
    assert result_of(reply, "indexconfig", status=201) == defaults(owner)
    assert reply.json()["message"] == f"index {owner}/dev created"
    assert config_of(api, f"{owner}/dev") == defaults(owner)


def test_put_with_an_empty_body_is_an_empty_config(api: Api, unique: Unique) -> None:
    owner = unique("owner")
    api.create_user(owner)
    reply = api.http.put(f"/{owner}/dev", headers=basic(owner, "secret"))
    assert result_of(reply, "indexconfig", status=201) == defaults(owner)


def test_put_coerces_every_key(api: Api, unique: Unique) -> None:
    owner, base = owner_with_index(api, unique)
    api.create_index(f"{owner}/other")
    body = {
        "type": "stage",
        "bases": f"/{base}, {owner}/other",
        "volatile": "no",
        "acl_upload": [owner, ":authenticated:"],
        "acl_toxresult_upload": [],
        "mirror_whitelist": "Foo_Bar,*",
        "mirror_whitelist_inheritance": "union",
        "title": "Prod",
        "description": "the real thing",
        "custom_data": {"any": ["json", 1, None]},
    }
    reply = api.http.put(f"/{owner}/prod", json=body, headers=basic(owner, "secret"))
    expected = defaults(
        owner,
        bases=[base, f"{owner}/other"],
        volatile=False,
        acl_upload=[owner, ":AUTHENTICATED:"],
        acl_toxresult_upload=[],
        mirror_whitelist=["foo-bar", "*"],
        mirror_whitelist_inheritance="union",
        title="Prod",
        description="the real thing",
        custom_data={"any": ["json", 1, None]},
    )
    assert result_of(reply, "indexconfig", status=201) == expected
    assert config_of(api, f"{owner}/prod") == expected


def test_put_of_an_existing_index_is_409(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique, title="first")
    before = snapshot(api, f"/{path}")
    reply = api.http.put(f"/{path}", json={"title": "second"}, headers=basic(owner, "secret"))
    assert_error(reply, 409, f"index '{path}' exists")
    assert snapshot(api, f"/{path}") == before


BAD_CONFIGS: list[tuple[object, str]] = [
    ({"foo": 1}, "indexconfig got unexpected keys: foo"),
    ({"projects": []}, "unexpected keys: projects"),
    ({"type": "weird"}, "unknown index type 'weird'"),
    ({"type": 5}, "unknown index type 5"),
    ({"bases": "ghost/nowhere"}, "base index 'ghost/nowhere' does not exist"),
    ({"bases": "justone"}, "not in the form user/index"),
    ({"bases": 5}, "bases: expected `str | array | null`, got `int`"),
    ({"volatile": "maybe"}, "volatile must be true or false, not 'maybe'"),
    ({"volatile": 2}, "volatile: expected `bool | str | null`, got `int`"),
    ({"acl_upload": [1]}, "acl_upload[0]: expected `str`, got `int`"),
    ({"acl_upload": "a b"}, "invalid principal"),
    ({"mirror_whitelist": ["no such name!"]}, "invalid project name"),
    ({"mirror_whitelist_inheritance": "both"}, "invalid enum value 'both'"),
    ({"title": ["x"]}, "title: expected `str | null`, got `array`"),
    ([], "index config must be a JSON object"),
    (["title=x"], "index config must be a JSON object"),
    ("stage", "index config must be a JSON object"),
    (0, "index config must be a JSON object"),
]


@pytest.mark.parametrize(("body", "fragment"), BAD_CONFIGS)
def test_put_with_a_bad_config_is_400(
    api: Api, unique: Unique, body: object, fragment: str
) -> None:
    owner = unique("owner")
    api.create_user(owner)
    user_before = snapshot(api, f"/{owner}")
    reply = api.http.put(f"/{owner}/dev", json=body, headers=basic(owner, "secret"))
    assert_error(reply, 400, fragment)
    assert_error(api.http.get(f"/{owner}/dev"), 404, f"The stage {owner}/dev could not be found.")
    assert snapshot(api, f"/{owner}") == user_before


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"{", "could not decode JSON"), (b"{'single': 1}", "could not decode JSON")],
)
def test_put_with_malformed_json_is_400(
    api: Api, unique: Unique, content: bytes, fragment: str
) -> None:
    owner = unique("owner")
    api.create_user(owner)
    reply = api.http.put(f"/{owner}/dev", content=content, headers=basic(owner, "secret"))
    assert_error(reply, 400, fragment)
    assert api.http.get(f"/{owner}/dev").status_code == 404


def test_put_with_a_huge_body_is_413(api: Api, unique: Unique) -> None:
    owner = unique("owner")
    api.create_user(owner)
    body = b'{"description": "' + b"x" * (1024 * 1024 + 1) + b'"}'
    reply = api.http.put(f"/{owner}/dev", content=body, headers=basic(owner, "secret"))
    assert_error(reply, 413, "larger than")
    assert api.http.get(f"/{owner}/dev").status_code == 404


@pytest.mark.parametrize(
    ("segment", "shown"),
    [("a%20b", "' '"), ("a+b", "'+'"), ("a%01", "\\x01"), ("a:b", "':'"), ("i" * 101, "longer")],
)
def test_invalid_index_names_are_400(api: Api, unique: Unique, segment: str, shown: str) -> None:
    owner = unique("owner")
    api.create_user(owner)
    before = snapshot(api, f"/{owner}")
    reply = api.http.put(f"/{owner}/{segment}", json={}, headers=basic(owner, "secret"))
    assert_error(reply, 400, "index name", shown)
    assert snapshot(api, f"/{owner}") == before


def test_put_for_an_unknown_user_is_404(api: Api, unique: Unique) -> None:
    ghost = unique("ghost")
    assert_error(api.http.put(f"/{ghost}/dev", json={}, headers=api.as_root()), 404, "no user")


# read


def test_get_lists_the_projects_unless_asked_not_to(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique)
    assert result_of(api.http.get(f"/{path}"), "indexconfig")["projects"] == []
    for name in ("Zeta_Pkg", "alpha.pkg"):
        filename, data = dists.make_wheel(name, "1.0")
        assert api.upload(path, filename, data, auth=(owner, "secret")).status_code == 200
    result = result_of(api.http.get(f"/{path}"), "indexconfig")
    assert result == defaults(owner, projects=["alpha-pkg", "zeta-pkg"])
    for query in ("?no_projects", "?no_projects=", "?no_projects=1", "/?no_projects"):
        assert result_of(api.http.get(f"/{path}{query}"), "indexconfig") == defaults(owner)


def test_get_of_an_unknown_index_is_404(api: Api, unique: Unique) -> None:
    owner = unique("owner")
    api.create_user(owner)
    assert_error(api.http.get(f"/{owner}/nope"), 404, f"The stage {owner}/nope could not be found.")
    assert_error(api.http.get(f"/{unique('ghost')}/dev"), 404, "could not be found")


# modify


def test_patch_with_a_dict_merges_the_given_keys(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique, title="T")
    reply = patch(api, path, {"volatile": False, "description": "D"}, owner)
    expected = defaults(owner, volatile=False, title="T", description="D")
    assert result_of(reply, "indexconfig") == expected
    assert config_of(api, path) == expected


def test_patch_accepts_the_indexconfig_envelope(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique)
    shown = result_of(api.http.get(f"/{path}"), "indexconfig")
    shown["title"] = "from GET"
    reply = patch(api, path, {"type": "indexconfig", "result": shown}, owner)
    assert result_of(reply, "indexconfig") == defaults(owner, title="from GET")


def test_patch_with_devpi_clients_list(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique, title="T")
    api.create_index(f"{owner}/a")
    api.create_index(f"{owner}/b")
    reply = patch(
        api,
        path,
        [
            f"bases={owner}/a,{owner}/b",
            "acl_upload+=bob",
            "acl_upload+=:authenticated:",
            "mirror_whitelist+=Some_Pkg",
            "volatile=False",
            "title-=",
            "description=Hello, world",
        ],
        owner,
    )
    expected = defaults(
        owner,
        bases=[f"{owner}/a", f"{owner}/b"],
        acl_upload=[owner, "bob", ":AUTHENTICATED:"],
        mirror_whitelist=["some-pkg"],
        volatile=False,
        description="Hello, world",
    )
    assert result_of(reply, "indexconfig") == expected
    reply = patch(api, path, ["acl_upload-=bob", f"bases-={owner}/a"], owner)
    expected.update(acl_upload=[owner, ":AUTHENTICATED:"], bases=[f"{owner}/b"])
    assert result_of(reply, "indexconfig") == expected
    assert config_of(api, path) == expected


BAD_PATCHES: list[tuple[object, str]] = [
    (["acl_upload-=carol"], "The 'acl_upload' setting doesn't have value 'carol'"),
    (["acl_upload-="], "Default values can't be removed."),
    (["bases-="], "Default values can't be removed."),
    ({"volatile": None}, "Default values can't be removed."),
    (["type=mirror"], "the 'type' of an index can't be changed"),
    ({"type": "mirror"}, "the 'type' of an index can't be changed"),
    ({"foo": 1}, "indexconfig got unexpected keys: foo"),
    (["foo=1"], "indexconfig got unexpected keys: foo"),
    (["title+=x"], "the 'title' setting is not a list"),
    (["no operator"], "cannot parse 'no operator'"),
    ([7], "PATCH list: expected `str`, got `int`"),
    (["volatile=maybe"], "volatile must be true or false, not 'maybe'"),
    ({"volatile": "maybe"}, "volatile must be true or false, not 'maybe'"),
    (["bases+=ghost/nowhere"], "base index 'ghost/nowhere' does not exist"),
    ({"bases": ["ghost/nowhere"]}, "base index 'ghost/nowhere' does not exist"),
    (["acl_upload+="], "needs exactly one value"),
    ("title=x", "PATCH body must be a JSON object or a list"),
    (3, "PATCH body must be a JSON object or a list"),
    (["title=ok", "acl_upload-=carol"], "doesn't have value 'carol'"),
]


@pytest.mark.parametrize(("body", "fragment"), BAD_PATCHES)
def test_bad_patches_are_400_and_change_nothing(
    api: Api, unique: Unique, body: object, fragment: str
) -> None:
    owner, path = owner_with_index(api, unique, title="T")
    before = snapshot(api, f"/{path}")
    serial = current_serial(api)
    assert_error(patch(api, path, body, owner), 400, fragment)
    assert snapshot(api, f"/{path}") == before
    assert current_serial(api) == serial


def test_patch_with_malformed_json_is_400(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique)
    before = snapshot(api, f"/{path}")
    reply = api.http.patch(f"/{path}", content=b"[", headers=basic(owner, "secret"))
    assert_error(reply, 400, "could not decode JSON")
    assert snapshot(api, f"/{path}") == before


def test_error_on_noop(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique, title="T")
    before = snapshot(api, f"/{path}")
    for body in ({"title": "T"}, ["title=T"], {}, ["acl_upload+=" + owner]):
        reply = patch(api, path, body, owner, query="?error_on_noop")
        assert_error(reply, 400, "The requested modifications resulted in no changes")
    assert snapshot(api, f"/{path}") == before
    # without the flag a no-op is fine; with it a real change is fine
    assert patch(api, path, {"title": "T"}, owner).status_code == 200
    reply = patch(api, path, {"title": "U"}, owner, query="?error_on_noop")
    assert result_of(reply, "indexconfig")["title"] == "U"


def test_patch_of_an_unknown_index_is_404(api: Api, unique: Unique) -> None:
    owner = unique("owner")
    api.create_user(owner)
    assert_error(patch(api, f"{owner}/nope", {"title": "x"}, owner), 404, "could not be found")


def test_a_deleted_base_does_not_block_other_changes(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique)
    api.create_index(f"{owner}/base")
    assert patch(api, path, [f"bases={owner}/base"], owner).status_code == 200
    assert api.http.delete(f"/{owner}/base", headers=basic(owner, "secret")).status_code == 200
    reply = patch(api, path, ["title=still works"], owner)
    assert result_of(reply, "indexconfig")["bases"] == [f"{owner}/base"]
    # it can be dropped, but once dropped, naming it anew is refused
    assert patch(api, path, [f"bases-={owner}/base"], owner).status_code == 200
    assert_error(patch(api, path, [f"bases+={owner}/base"], owner), 400, "does not exist")
    assert config_of(api, path)["bases"] == []


def test_cycles_in_bases_are_allowed(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique)
    api.create_index(f"{owner}/b", bases=[path])
    reply = patch(api, path, [f"bases+={owner}/b"], owner)
    assert result_of(reply, "indexconfig")["bases"] == [f"{owner}/b"]
    page = api.http.get(f"/{path}/+simple/", headers={"Accept": "text/html"})
    assert page.status_code == 200


# delete


def test_delete_of_a_volatile_index(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique)
    filename, data = dists.make_wheel("gone-pkg", "1.0")
    assert api.upload(path, filename, data, auth=(owner, "secret")).status_code == 200
    reply = api.http.delete(f"/{path}", headers=basic(owner, "secret"))
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": f"index {path} deleted"}
    assert_error(api.http.get(f"/{path}"), 404, "could not be found")
    assert "dev" not in result_of(api.http.get(f"/{owner}"), "userconfig")["indexes"]
    # the name can be used again, and starts empty
    api.create_index(path)
    assert result_of(api.http.get(f"/{path}"), "indexconfig")["projects"] == []


def test_delete_of_a_non_volatile_index_is_403(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique, volatile=False)
    before = snapshot(api, f"/{path}")
    for who in (basic(owner, "secret"), api.as_root()):
        assert_error(api.http.delete(f"/{path}", headers=who), 403, "non-volatile, cannot delete")
    assert snapshot(api, f"/{path}") == before
    # once made volatile it can go
    assert patch(api, path, ["volatile=True"], owner).status_code == 200
    assert api.http.delete(f"/{path}", headers=basic(owner, "secret")).status_code == 200


def test_delete_of_a_missing_index_is_404(api: Api, unique: Unique) -> None:
    owner = unique("owner")
    api.create_user(owner)
    reply = api.http.delete(f"/{owner}/nope", headers=basic(owner, "secret"))
    assert_error(reply, 404, f"The stage {owner}/nope could not be found.")


# permissions (devpi-api.md 3.4): index_create, index_modify, index_delete are root and owner


def caller(api: Api, who: str, owner: str, other: str) -> dict[str, str]:
    return {
        "anonymous": {},
        "other": basic(other, "secret"),
        "uploader": basic(other, "secret"),
        "owner": basic(owner, "secret"),
        "root": api.as_root(),
    }[who]


CALLERS = [
    ("anonymous", False),
    ("other", False),
    ("uploader", False),  # in acl_upload, but that is no right to manage the index
    ("owner", True),
    ("root", True),
]


@pytest.mark.parametrize(("who", "allowed"), CALLERS)
def test_who_may_create_an_index(api: Api, unique: Unique, who: str, allowed: bool) -> None:
    owner, other = unique("owner"), unique("other")
    api.create_user(owner)
    api.create_user(other)
    before = snapshot(api, f"/{owner}")
    reply = api.http.put(f"/{owner}/new", json={}, headers=caller(api, who, owner, other))
    if allowed:
        assert result_of(reply, "indexconfig", status=201) == defaults(owner)
    else:
        assert_error(reply, 403, f"no permission to create an index for user {owner!r}")
        assert snapshot(api, f"/{owner}") == before


@pytest.mark.parametrize(("who", "allowed"), CALLERS)
def test_who_may_modify_an_index(api: Api, unique: Unique, who: str, allowed: bool) -> None:
    owner, other = unique("owner"), unique("other")
    api.create_user(owner)
    api.create_user(other)
    path = f"{owner}/dev"
    api.create_index(path, acl_upload=[owner, other])
    before = snapshot(api, f"/{path}")
    headers = caller(api, who, owner, other)
    for body in ({"title": "x"}, ["acl_upload+=mallory"]):
        reply = api.http.patch(f"/{path}", json=body, headers=headers)
        if allowed:
            assert reply.status_code == 200, reply.text
        else:
            assert_error(reply, 403, f"no permission to modify index {path}")
            assert snapshot(api, f"/{path}") == before


@pytest.mark.parametrize(("who", "allowed"), CALLERS)
def test_who_may_delete_an_index(api: Api, unique: Unique, who: str, allowed: bool) -> None:
    owner, other = unique("owner"), unique("other")
    api.create_user(owner)
    api.create_user(other)
    path = f"{owner}/dev"
    api.create_index(path, acl_upload=[owner, other])
    before = snapshot(api, f"/{path}")
    reply = api.http.delete(f"/{path}", headers=caller(api, who, owner, other))
    if allowed:
        assert reply.status_code == 200, reply.text
        assert api.http.get(f"/{path}").status_code == 404
    else:
        assert_error(reply, 403, f"no permission to delete index {path}")
        assert snapshot(api, f"/{path}") == before
