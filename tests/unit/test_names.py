from __future__ import annotations

import pytest

from pkgdepot.domain.names import (
    MAX_NAME_LENGTH,
    check_user_or_index_name,
    check_version,
    is_valid_project_name,
    normalize_project,
    version_sort_key,
)
from pkgdepot.errors import InvalidInput

VALID_USER_OR_INDEX = [
    "alice",
    "Alice",
    "a",
    "0",
    "dev-1.2_x",
    "first.last@example",
    "ünïcödé",
    "名前",
    "trailing.",
    "a" * MAX_NAME_LENGTH,
]

INVALID_USER_OR_INDEX = [
    ("", "must not be empty"),
    ("a" * (MAX_NAME_LENGTH + 1), "longer than"),
    ("a b", "' '"),
    ("a+b", "'+'"),
    ("a/b", "'/'"),
    ("a\\b", "'\\\\'"),
    ("a:b", "':'"),
    ("a\x00b", "\\x00"),
    ("a\x01", "\\x01"),
    ("tab\t", "\\t"),
    ("line\nbreak", "\\n"),
    ("del\x7f", "\\x7f"),
    ("a?b", "'?'"),
    ("a#b", "'#'"),
    ("a%b", "'%'"),
    ("a*b", "'*'"),
    ("a,b", "','"),
    ('a"b', '"'),
    (".", "'.'"),
    ("..", "'.'"),
    (".hidden", "'.'"),
    ("-option", "'-'"),
]


@pytest.mark.parametrize("name", VALID_USER_OR_INDEX)
def test_valid_user_or_index_names_are_returned_unchanged(name: str) -> None:
    assert check_user_or_index_name(name, "user") == name


@pytest.mark.parametrize(("name", "shown"), INVALID_USER_OR_INDEX)
def test_invalid_user_or_index_names_say_what_is_wrong(name: str, shown: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_user_or_index_name(name, "index")
    assert raised.value.message.startswith("index name")
    assert shown in raised.value.message


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("Hello.Pkg", "hello-pkg"),
        ("hello_pkg", "hello-pkg"),
        ("HELLO--__..pkg", "hello-pkg"),
        ("a", "a"),
        ("A1", "a1"),
        ("zope.interface", "zope-interface"),
    ],
)
def test_normalize_project_follows_pep_503(name: str, normal: str) -> None:
    assert is_valid_project_name(name)
    assert normalize_project(name) == normal


@pytest.mark.parametrize("name", ["", "-a", "a-", ".a", "a b", "a+b", "a/b", "ünï", "a" * 201, "_"])
def test_normalize_project_refuses_names_no_installer_could_ask_for(name: str) -> None:
    assert not is_valid_project_name(name)
    with pytest.raises(InvalidInput, match="invalid project name"):
        normalize_project(name)


def test_project_name_length_limit_is_inclusive() -> None:
    assert is_valid_project_name("a" * 200)


@pytest.mark.parametrize("version", ["1.0", "1.0.post1", "2!1.0", "1.0rc1", "1.0+local.1", "0"])
def test_pep_440_versions_pass(version: str) -> None:
    assert check_version(version) == version


@pytest.mark.parametrize(
    ("version", "fragment"),
    [("", "not PEP 440"), ("1.0-foo-bar", "not PEP 440"), ("latest", "not PEP 440")],
)
def test_non_pep_440_versions_fail(version: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        check_version(version)


def test_overlong_versions_fail() -> None:
    with pytest.raises(InvalidInput, match="longer than 100"):
        check_version("1." + "0" * 120)


def test_version_sort_key_orders_legacy_first_then_pep_440() -> None:
    versions = ["1.10", "1.9", "weird", "1.0rc1", "1.0"]
    assert sorted(versions, key=version_sort_key) == ["weird", "1.0rc1", "1.0", "1.9", "1.10"]
