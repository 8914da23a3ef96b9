"""Stored user and index settings that today's rules refuse, found and reset by ``pkgdepot
fsck``.

Such values were stored before a rule existed (or written by other means). The server already
ignores them when it answers (``service/indexes.py``, ``service/accounts.py: user_view``);
``--repair`` resets them in the database, so they stop being reported and logged.
"""

from __future__ import annotations

import dataclasses
import logging

from pkgdepot.domain import indexconfig
from pkgdepot.service.accounts import stored_problems
from pkgdepot.storage.meta import MetaStore

log = logging.getLogger("pkgdepot")


@dataclasses.dataclass(frozen=True)
class ConfigProblem:
    owner: str  # "user alice" or "index alice/dev"
    key: str
    why: str  # a message that names the key


def find(store: MetaStore) -> list[ConfigProblem]:
    problems = [
        ConfigProblem(f"user {user.name}", key, why)
        for user in store.list_users()
        for key, why in sorted(stored_problems(user).items())
    ]
    problems += [
        ConfigProblem(f"index {index.path}", key, why)
        for index in store.all_indexes().values()
        for key, why in sorted(indexconfig.stored_problems(index.type, index.config).items())
    ]
    return problems


def reset(store: MetaStore) -> list[ConfigProblem]:
    """Every refused setting reset to its default (a free one removed), in one transaction;
    what was reset is logged and returned."""
    found = find(store)
    if not found:
        return found
    with store.transaction(None) as tx:
        for user in store.list_users():
            problems = stored_problems(user)
            if problems:
                config = {k: v for k, v in user.config.items() if k not in problems}
                tx.put_user(dataclasses.replace(user, config=config))
        for index in store.all_indexes().values():
            problems = indexconfig.stored_problems(index.type, index.config)
            if problems:
                config = indexconfig.without_problems(
                    index.user, index.type, index.config, problems
                )
                tx.put_index(index.user, index.name, index.type, config)
    for problem in found:
        log.warning(
            "fsck: reset the setting %s of %s (%s)", problem.key, problem.owner, problem.why
        )
    return found
