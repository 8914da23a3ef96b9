"""Indexes: create, modify, delete, look up, and the inheritance chain of each."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping
from typing import Any

from pkgdepot.domain import indexconfig
from pkgdepot.domain.models import Index
from pkgdepot.domain.names import check_user_or_index_name
from pkgdepot.domain.permissions import Identity, Policy
from pkgdepot.domain.resolve import resolution_order
from pkgdepot.errors import Conflict, Forbidden, InvalidInput, NotFound
from pkgdepot.storage.meta import MetaStore

log = logging.getLogger("pkgdepot")
ROOT_MIRROR = "root/pypi"  # made by init: the mirror of the upstream pip is configured with


class Catalog:
    """All indexes, kept in memory and reloaded after a write that changed an index."""

    def __init__(self, store: MetaStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._serial = -1
        self._indexes: dict[str, Index] = {}

    def snapshot(self) -> dict[str, Index]:
        serial = self._store.serial.indexes_changed()
        if serial != self._serial:
            with self._lock:
                if serial != self._serial:
                    stored = self._store.all_indexes()
                    self._indexes = {path: _usable(i) for path, i in stored.items()}
                    self._serial = serial
        return self._indexes

    def find(self, user: str, name: str) -> Index | None:
        return self.snapshot().get(f"{user}/{name}")

    def get(self, user: str, name: str) -> Index:
        index = self.find(user, name)
        if index is None:
            raise NotFound(f"The stage {user}/{name} could not be found.")
        return index

    def order(self, index: Index) -> list[Index]:
        return resolution_order(index.path, self.snapshot())

    def of_user(self, user: str) -> dict[str, Index]:
        return {i.name: i for i in self.snapshot().values() if i.user == user}


def _usable(index: Index) -> Index:
    """The index with any stored setting today's rules refuse reset, so that what one index
    holds cannot break the answers about it or the others (``pkgdepot fsck --repair`` resets
    them in the database)."""
    problems = indexconfig.stored_problems(index.type, index.config)
    if not problems:
        return index
    log.warning(
        "index %s: ignoring stored settings that fail validation (%s); "
        "'pkgdepot fsck --repair' resets them",
        index.path,
        ", ".join(sorted(problems)),
    )
    config = indexconfig.without_problems(index.user, index.type, index.config, problems)
    return dataclasses.replace(index, config=config)


def index_view(index: Index) -> dict[str, Any]:
    """The config as replies show it: a password in ``mirror_url`` is hidden."""
    view = stored_view(index)
    if isinstance(view.get("mirror_url"), str):
        view["mirror_url"] = indexconfig.shown_mirror_url(view["mirror_url"])
    return view


def stored_view(index: Index) -> dict[str, Any]:
    view = {"type": index.type}
    view.update(index.config)
    return view


class Indexes:
    def __init__(self, store: MetaStore, catalog: Catalog, policy: Policy) -> None:
        self._store = store
        self.catalog = catalog
        self.policy = policy

    def _check_bases(self, config: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> None:
        """Bases named anew must exist; ones already listed may have been deleted since."""
        known = self.catalog.snapshot()
        kept = set(old.get("bases", ())) if old is not None else set()
        for base in config.get("bases", ()):
            if base not in known and base not in kept:
                raise InvalidInput(f"base index {base!r} does not exist")

    def create(self, who: Identity, user: str, name: str, body: object) -> Index:
        check_user_or_index_name(name, "index")
        if not isinstance(body, dict):
            raise InvalidInput("index config must be a JSON object")
        if self._store.get_user(user) is None:
            raise NotFound(f"no user {user!r}")
        if not self.policy.may_create_index(who, user):
            raise Forbidden(f"no permission to create an index for user {user!r}")
        config = indexconfig.new_index_config(user, self._with_default_upstream(body))
        self._check_bases(config)
        with self._store.transaction(who.user) as tx:
            if tx.index_id(user, name) is not None:
                raise Conflict(f"index '{user}/{name}' exists")
            tx.put_index(user, name, config["type"], _stored(config))
        return self.catalog.get(user, name)

    def _with_default_upstream(self, body: dict[str, Any]) -> dict[str, Any]:
        """A mirror created without a ``mirror_url`` mirrors what root/pypi does, as devpi's
        mirrors default to its upstream (``devpi index -c NAME type=mirror``)."""
        if body.get("type") != "mirror" or body.get("mirror_url") is not None:
            return body
        default = self.catalog.find(*ROOT_MIRROR.split("/"))
        if default is None or not default.is_mirror:
            return body  # refused below: "a mirror index needs a mirror_url"
        return {**body, "mirror_url": default.mirror_url}

    def modify(
        self, who: Identity, user: str, name: str, body: object, noop_is_error: bool = False
    ) -> Index:
        index = self.catalog.get(user, name)
        if not self.policy.may_modify_index(who, index):
            raise Forbidden(f"no permission to modify index {index.path}")
        old = stored_view(index)
        new = indexconfig.apply_patch(old, body)
        if noop_is_error and new == old:
            raise InvalidInput("The requested modifications resulted in no changes")
        self._check_bases(new, old)
        with self._store.transaction(who.user) as tx:
            tx.put_index(user, name, index.type, _stored(new))
        return self.catalog.get(user, name)

    def delete(self, who: Identity, user: str, name: str) -> None:
        index = self.catalog.get(user, name)
        if not self.policy.may_modify_index(who, index):
            raise Forbidden(f"no permission to delete index {index.path}")
        if not index.volatile:
            raise Forbidden(f"index {index.path} non-volatile, cannot delete")
        with self._store.transaction(who.user) as tx:
            tx.delete_index(user, name)


def _stored(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "type"}
