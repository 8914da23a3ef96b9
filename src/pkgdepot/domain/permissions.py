"""Who may do what, as devpi has it. Pure predicates over an identity and the target."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from pkgdepot.domain.models import ANONYMOUS, AUTHENTICATED, Index

ROOT = "root"


@dataclasses.dataclass(frozen=True)
class Identity:
    """The authenticated user of a request, or nobody."""

    user: str | None = None

    @property
    def principals(self) -> frozenset[str]:
        if self.user is None:
            return frozenset({ANONYMOUS})
        return frozenset({ANONYMOUS, AUTHENTICATED, self.user})

    def is_any(self, principals: Collection[str]) -> bool:
        return not self.principals.isdisjoint(principals)


def principal(value: str) -> str:
    """Special principals (``:ANONYMOUS:``, ``:AUTHENTICATED:``) are case-insensitive."""
    value = value.strip()
    return value.upper() if value.startswith(":") else value


@dataclasses.dataclass(frozen=True)
class Policy:
    """``restrict_modify``: when set, only these principals manage users and indexes."""

    restrict_modify: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        normal = frozenset(principal(p) for p in self.restrict_modify if p.strip())
        object.__setattr__(self, "restrict_modify", normal)

    def _manager(self, who: Identity, owner: str) -> bool:
        if self.restrict_modify:
            return who.is_any(self.restrict_modify)
        return who.user in (ROOT, owner)

    def may_create_user(self, who: Identity) -> bool:
        return not self.restrict_modify or who.is_any(self.restrict_modify)

    def may_modify_user(self, who: Identity, user: str) -> bool:
        return self._manager(who, user)

    def may_change_password(self, who: Identity, user: str) -> bool:
        return who.user == user or self._manager(who, user)

    def may_delete_user(self, who: Identity, user: str) -> bool:
        if user == ROOT:
            return False
        if self.restrict_modify and who.user == user:
            return False  # a manager may not delete their own account
        return self._manager(who, user)

    def may_create_index(self, who: Identity, owner: str) -> bool:
        return self._manager(who, owner)

    def may_modify_index(self, who: Identity, index: Index) -> bool:
        return self._manager(who, index.user)

    def may_upload(self, who: Identity, index: Index) -> bool:
        """``acl_upload``, and root, who administers every index."""
        return who.user == ROOT or who.is_any(index.acl_upload)

    def may_upload_toxresult(self, who: Identity, index: Index) -> bool:
        return who.is_any(index.acl_toxresult_upload)

    def may_delete_entries(self, who: Identity, index: Index) -> bool:
        return self.may_upload(who, index) or self._manager(who, index.user)
