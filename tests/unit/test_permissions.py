"""Who may do what (devpi-api.md 3.4), as tables over four kinds of caller."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from pkgdepot.domain.models import ANONYMOUS, AUTHENTICATED, Index
from pkgdepot.domain.permissions import ROOT, Identity, Policy, principal

NOBODY = Identity()
ALICE = Identity("alice")  # the owner / target user
BOB = Identity("bob")  # another user
ADMIN = Identity("admin")
SUPER = Identity(ROOT)

OPEN = Policy()
RESTRICTED = Policy(frozenset({"root"}))
ADMINS = Policy(frozenset({"root", "admin"}))


def index(**config: object) -> Index:
    base: dict[str, object] = {"acl_upload": ["alice"], "acl_toxresult_upload": [ANONYMOUS]}
    base.update(config)
    return Index(id=1, user="alice", name="dev", type="stage", config=base, serial=1)


Check = Callable[[Policy, Identity], bool]

CHECKS: dict[str, Check] = {
    "create user": lambda p, w: p.may_create_user(w),
    "modify user": lambda p, w: p.may_modify_user(w, "alice"),
    "change password": lambda p, w: p.may_change_password(w, "alice"),
    "delete user": lambda p, w: p.may_delete_user(w, "alice"),
    "delete root": lambda p, w: p.may_delete_user(w, ROOT),
    "delete self": lambda p, w: p.may_delete_user(w, w.user or "alice"),
    "create index": lambda p, w: p.may_create_index(w, "alice"),
    "modify index": lambda p, w: p.may_modify_index(w, index()),
    "upload": lambda p, w: p.may_upload(w, index()),
    "toxresult": lambda p, w: p.may_upload_toxresult(w, index()),
    "delete entries": lambda p, w: p.may_delete_entries(w, index()),
}

# Each row: check, then whether (anonymous, bob, alice, root) may do it.
OPEN_TABLE = [
    ("create user", (True, True, True, True)),
    ("modify user", (False, False, True, True)),
    ("change password", (False, False, True, True)),
    ("delete user", (False, False, True, True)),
    ("delete root", (False, False, False, False)),
    ("create index", (False, False, True, True)),
    ("modify index", (False, False, True, True)),
    ("upload", (False, False, True, True)),
    ("toxresult", (True, True, True, True)),
    ("delete entries", (False, False, True, True)),
]

RESTRICTED_TABLE = [
    ("create user", (False, False, False, True)),
    ("modify user", (False, False, False, True)),
    ("change password", (False, False, True, True)),
    ("delete user", (False, False, False, True)),
    ("delete root", (False, False, False, False)),
    ("create index", (False, False, False, True)),
    ("modify index", (False, False, False, True)),
    ("upload", (False, False, True, True)),
    ("toxresult", (True, True, True, True)),
    ("delete entries", (False, False, True, True)),
]

CALLERS = (NOBODY, BOB, ALICE, SUPER)


def expand(table: Sequence[tuple[str, tuple[bool, ...]]]) -> list[tuple[str, Identity, bool]]:
    return [
        (check, who, allowed)
        for check, row in table
        for who, allowed in zip(CALLERS, row, strict=True)
    ]


@pytest.mark.parametrize(("check", "who", "allowed"), expand(OPEN_TABLE))
def test_default_policy(check: str, who: Identity, allowed: bool) -> None:
    assert CHECKS[check](OPEN, who) is allowed


@pytest.mark.parametrize(("check", "who", "allowed"), expand(RESTRICTED_TABLE))
def test_restrict_modify_root(check: str, who: Identity, allowed: bool) -> None:
    assert CHECKS[check](RESTRICTED, who) is allowed


@pytest.mark.parametrize(
    ("check", "allowed"),
    [
        ("create user", True),
        ("modify user", True),
        ("change password", True),
        ("delete user", True),
        ("delete self", False),
        ("delete root", False),
        ("create index", True),
        ("modify index", True),
        ("upload", False),
        ("delete entries", True),
    ],
)
def test_restrict_modify_grants_every_listed_principal(check: str, allowed: bool) -> None:
    assert CHECKS[check](ADMINS, ADMIN) is allowed


@pytest.mark.parametrize(
    ("spec", "who", "allowed"),
    [
        (":authenticated:", BOB, True),
        (":AUTHENTICATED:", NOBODY, False),
        (" :anonymous: ", NOBODY, True),
        ("bob", BOB, True),
        ("Bob", BOB, False),  # user names are case-sensitive
    ],
)
def test_restrict_modify_special_principals_are_case_insensitive(
    spec: str, who: Identity, allowed: bool
) -> None:
    assert Policy(frozenset({spec})).may_create_user(who) is allowed


def test_blank_restrict_modify_entries_mean_no_restriction() -> None:
    assert Policy(frozenset({"", " "})).may_create_user(NOBODY)


@pytest.mark.parametrize(
    ("acl", "who", "allowed"),
    [
        ([ANONYMOUS], NOBODY, True),
        ([ANONYMOUS], BOB, True),
        ([AUTHENTICATED], NOBODY, False),
        ([AUTHENTICATED], BOB, True),
        (["bob"], BOB, True),
        (["bob"], ALICE, False),
        ([], ALICE, False),
    ],
)
def test_acl_upload_principals(acl: list[str], who: Identity, allowed: bool) -> None:
    subject = index(acl_upload=acl)
    assert OPEN.may_upload(who, subject) is allowed
    # whoever may upload may also remove entries; the owner and root always may
    expected_delete = allowed or who.user in ("alice", ROOT)
    assert OPEN.may_delete_entries(who, subject) is expected_delete


def test_upload_acl_does_not_grant_index_management() -> None:
    subject = index(acl_upload=["bob"])
    assert OPEN.may_upload(BOB, subject)
    assert not OPEN.may_modify_index(BOB, subject)


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        (":anonymous:", ANONYMOUS),
        (":Authenticated:", AUTHENTICATED),
        (" bob ", "bob"),
        ("Bob", "Bob"),
    ],
)
def test_principal_normalisation(value: str, normal: str) -> None:
    assert principal(value) == normal


def test_identity_principals() -> None:
    assert NOBODY.principals == {ANONYMOUS}
    assert ALICE.principals == {ANONYMOUS, AUTHENTICATED, "alice"}
