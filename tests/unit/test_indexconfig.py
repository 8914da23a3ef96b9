"""Index configuration: defaults and coercion on create, and both forms of PATCH."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pkgdepot.domain.indexconfig import apply_operations, apply_patch, new_index_config
from pkgdepot.errors import InvalidInput

DEFAULTS: dict[str, Any] = {
    "type": "stage",
    "bases": [],
    "volatile": True,
    "acl_upload": ["alice"],
    "acl_toxresult_upload": [":ANONYMOUS:"],
    "mirror_whitelist": [],
    "mirror_whitelist_inheritance": "intersection",
}


def with_defaults(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(DEFAULTS)
    config.update(changes)
    return config


# new_index_config


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, with_defaults()),
        ({"type": "stage"}, with_defaults()),
        ({"bases": "a/b, /c/d/"}, with_defaults(bases=["a/b", "c/d"])),
        ({"bases": ["a/b", "a/b"]}, with_defaults(bases=["a/b"])),
        ({"volatile": False}, with_defaults(volatile=False)),
        ({"volatile": "No"}, with_defaults(volatile=False)),
        ({"volatile": "TRUE"}, with_defaults(volatile=True)),
        ({"volatile": "0"}, with_defaults(volatile=False)),
        (
            {"acl_upload": ":authenticated:,bob"},
            with_defaults(acl_upload=[":AUTHENTICATED:", "bob"]),
        ),
        ({"acl_upload": []}, with_defaults(acl_upload=[])),
        ({"acl_toxresult_upload": ["bob"]}, with_defaults(acl_toxresult_upload=["bob"])),
        ({"mirror_whitelist": "Foo_Bar,*"}, with_defaults(mirror_whitelist=["foo-bar", "*"])),
        (
            {"mirror_whitelist_inheritance": "union"},
            with_defaults(mirror_whitelist_inheritance="union"),
        ),
        (
            {"title": "T", "description": "", "custom_data": {"x": [1, None]}},
            with_defaults(title="T", description="", custom_data={"x": [1, None]}),
        ),
        ({"bases": None, "title": None}, with_defaults()),
    ],
)
def test_new_index_config_fills_defaults_and_coerces(
    given: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert new_index_config("alice", given) == expected


def test_new_index_config_does_not_share_default_lists() -> None:
    first = new_index_config("alice", {})
    first["bases"].append("x/y")
    first["acl_toxresult_upload"].append("bob")
    assert new_index_config("alice", {}) == with_defaults()


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ({"type": "weird"}, "unknown index type 'weird'"),
        ({"type": ["stage"]}, "unknown index type"),
        ({"foo": 1}, "unexpected keys: foo"),
        ({"foo": 1, "bar": 2}, "unexpected keys: bar, foo"),
        ({"projects": []}, "unexpected keys: projects"),
        ({"volatile": "maybe"}, "volatile must be true or false, not 'maybe'"),
        ({"volatile": 1}, "volatile: expected `bool | str | null`, got `int`"),
        ({"bases": 5}, "bases: expected `str | array | null`, got `int`"),
        ({"bases": [1]}, "bases[0]: expected `str`, got `int`"),
        ({"bases": {"a": "b"}}, "bases: expected `str | array | null`, got `object`"),
        ({"bases": "nouser"}, "not in the form user/index"),
        ({"bases": "a/b/c"}, "not in the form user/index"),
        ({"bases": "a b/c"}, "user name"),
        ({"acl_upload": "bob=carol"}, "acl_upload got an invalid principal"),
        ({"acl_upload": ":"}, "acl_upload got an invalid principal"),
        ({"acl_upload": [None]}, "acl_upload[0]: expected `str`, got `null`"),
        ({"mirror_whitelist": "bad name"}, "invalid project name"),
        ({"mirror_whitelist_inheritance": "both"}, "invalid enum value 'both'"),
        ({"title": 5}, "title: expected `str | null`, got `int`"),
        ({"description": ["x"]}, "description: expected `str | null`, got `array`"),
        ({"volatile": "x" * 10_000}, "volatile: expected `str` of length <= 10"),
    ],
)
def test_new_index_config_rejects_bad_values(given: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        new_index_config("alice", given)
    assert fragment in raised.value.message
    assert len(raised.value.message) < 300


# apply_operations: devpi-client's list of strings


@pytest.mark.parametrize(
    ("items", "changes"),
    [
        ([], {}),
        (["bases=a/b,c/d"], {"bases": ["a/b", "c/d"]}),
        (["bases="], {"bases": []}),
        (["volatile=False"], {"volatile": False}),
        (["volatile=yes"], {"volatile": True}),
        (["acl_upload+=bob"], {"acl_upload": ["alice", "bob"]}),
        (["acl_upload+=alice"], {}),
        (["acl_upload+=:authenticated:"], {"acl_upload": ["alice", ":AUTHENTICATED:"]}),
        (["acl_upload-=alice"], {"acl_upload": []}),
        (["acl_upload+=bob", "acl_upload-=alice"], {"acl_upload": ["bob"]}),
        (["acl_toxresult_upload-=:anonymous:"], {"acl_toxresult_upload": []}),
        (["mirror_whitelist+=Foo.Bar"], {"mirror_whitelist": ["foo-bar"]}),
        (["mirror_whitelist=*"], {"mirror_whitelist": ["*"]}),
        (["mirror_whitelist_inheritance=union"], {"mirror_whitelist_inheritance": "union"}),
        (["bases+=/x/y/"], {"bases": ["x/y"]}),
        (["title=a=b"], {"title": "a=b"}),
        (["title=x-=y"], {"title": "x-=y"}),
        (["title=a+b"], {"title": "a+b"}),
        (["title="], {"title": ""}),
        (["description=Hello, world"], {"description": "Hello, world"}),
        (["custom_data=anything"], {"custom_data": "anything"}),
        (["type=stage"], {}),
    ],
)
def test_apply_operations(items: list[str], changes: dict[str, Any]) -> None:
    assert apply_operations(DEFAULTS, items) == with_defaults(**changes)


def test_minus_equals_with_no_value_removes_a_free_key() -> None:
    old = with_defaults(title="T", description="D")
    assert apply_operations(old, ["title-="]) == with_defaults(description="D")
    assert apply_operations(old, ["custom_data-="]) == old  # absent: nothing to remove


def test_bases_minus_equals_is_normalised_before_removal() -> None:
    old = with_defaults(bases=["a/b", "c/d"])
    assert apply_operations(old, ["bases-=/a/b"]) == with_defaults(bases=["c/d"])


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        (["acl_upload-=carol"], "The 'acl_upload' setting doesn't have value 'carol'"),
        (["bases-=x/y"], "The 'bases' setting doesn't have value 'x/y'"),
        (["acl_upload-="], "Default values can't be removed."),
        (["bases-="], "Default values can't be removed."),
        (["volatile-="], "Default values can't be removed."),
        (["mirror_whitelist_inheritance-="], "Default values can't be removed."),
        (["acl_upload+="], "needs exactly one value"),
        (["acl_upload+=a,b"], "needs exactly one value"),
        (["title+=x"], "the 'title' setting is not a list"),
        (["volatile-=x"], "the 'volatile' setting is not a list"),
        (["foo=1"], "unexpected keys: foo"),
        (["foo-="], "unexpected keys: foo"),
        (["volatile=maybe"], "volatile must be true or false, not 'maybe'"),
        (["novalue"], "cannot parse 'novalue'"),
        (["=value"], "cannot parse"),
        (["+=value"], "cannot parse"),
        ([""], "cannot parse"),
        ([5], "PATCH list items must be strings, not 5"),
        ([None], "PATCH list items must be strings"),
        ([{"title": "x"}], "PATCH list items must be strings"),
        (["mirror_whitelist+=bad name"], "invalid project name"),
        (["bases+=notapath"], "not in the form user/index"),
        (["acl_upload+=a b"], "invalid principal"),
    ],
)
def test_apply_operations_rejects_bad_items(items: list[object], fragment: str) -> None:
    old = copy.deepcopy(DEFAULTS)
    with pytest.raises(InvalidInput) as raised:
        apply_operations(old, items)
    assert fragment in raised.value.message
    assert old == DEFAULTS  # the input is never changed


def test_apply_operations_fails_as_a_whole() -> None:
    old = copy.deepcopy(DEFAULTS)
    with pytest.raises(InvalidInput):
        apply_operations(old, ["title=ok", "acl_upload-=carol"])
    assert old == DEFAULTS


# apply_patch: the dict, the envelope, the list, and the rules after each


@pytest.mark.parametrize(
    ("patch", "changes"),
    [
        ({}, {}),
        ({"title": "T"}, {"title": "T"}),
        ({"volatile": "no", "bases": "a/b"}, {"volatile": False, "bases": ["a/b"]}),
        ({"type": "stage", "projects": ["x"]}, {}),
        ({"type": "indexconfig", "result": {"title": "T"}}, {"title": "T"}),
        (
            {"type": "indexconfig", "result": {**DEFAULTS, "projects": [], "acl_upload": []}},
            {"acl_upload": []},
        ),
        (["title=T", "acl_upload+=bob"], {"title": "T", "acl_upload": ["alice", "bob"]}),
    ],
)
def test_apply_patch(patch: object, changes: dict[str, Any]) -> None:
    assert apply_patch(DEFAULTS, patch) == with_defaults(**changes)


def test_apply_patch_null_removes_a_free_key() -> None:
    old = with_defaults(title="T", custom_data={"a": 1})
    assert apply_patch(old, {"title": None}) == with_defaults(custom_data={"a": 1})


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"type": "mirror"}, "the 'type' of an index can't be changed"),
        (["type=mirror"], "the 'type' of an index can't be changed"),
        ({"type": "indexconfig"}, "the 'type' of an index can't be changed"),
        ({"foo": 1}, "unexpected keys: foo"),
        ({"type": "indexconfig", "result": {"foo": 1}}, "unexpected keys: foo"),
        ({"bases": None}, "Default values can't be removed."),
        ({"volatile": "maybe"}, "volatile must be true or false"),
        ("title=T", "PATCH body must be a JSON object or a list"),
        (5, "PATCH body must be a JSON object or a list"),
        (None, "PATCH body must be a JSON object or a list"),
        (True, "PATCH body must be a JSON object or a list"),
    ],
)
def test_apply_patch_rejects(patch: object, fragment: str) -> None:
    old = copy.deepcopy(DEFAULTS)
    with pytest.raises(InvalidInput) as raised:
        apply_patch(old, patch)
    assert fragment in raised.value.message
    assert old == DEFAULTS
