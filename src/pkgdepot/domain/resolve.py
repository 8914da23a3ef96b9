"""Index inheritance: resolution order, merging, and the mirror whitelist. Pure functions."""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar


class IndexNode(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def is_mirror(self) -> bool: ...
    @property
    def bases(self) -> tuple[str, ...]: ...
    @property
    def mirror_whitelist(self) -> frozenset[str]: ...
    @property
    def whitelist_inheritance(self) -> str: ...


N = TypeVar("N", bound=IndexNode)
T = TypeVar("T")


def resolution_order(start: str, indexes: Mapping[str, N]) -> list[N]:
    """Breadth-first over ``bases``, in the order each index lists them; mirrors come last.

    Every index appears once, even where two bases share a base of their own (devpi lists
    such a diamond's tip twice). Bases that do not exist (deleted) are skipped, cycles end
    because each index is visited once, and a mirror's own bases are never followed: a
    mirror is the end of the chain.
    """
    if start not in indexes:
        return []
    seen = {start}
    queue = deque([indexes[start]])
    private: list[N] = []
    mirrors: list[N] = []
    while queue:
        node = queue.popleft()
        if node.is_mirror:
            mirrors.append(node)
            continue
        private.append(node)
        for base in node.bases:
            if base in seen or base not in indexes:
                continue
            seen.add(base)
            queue.append(indexes[base])
    return private + mirrors


@dataclasses.dataclass(frozen=True)
class MirrorDecision:
    """Whether mirrored releases of one project may be merged into a view of an index."""

    allowed: bool
    blocked_by: str | None = None  # the first private index that has the project


def mirror_decision(
    project: str, order: Sequence[IndexNode], has_project: Callable[[str], bool]
) -> MirrorDecision:
    """devpi's dependency-confusion rule.

    A project that exists on any private index of the chain hides all mirrored releases of the
    same name, unless it is whitelisted. The whitelist accumulates along the private indexes,
    combined by intersection or union as the *queried* index (``order[0]``) says; once the
    project (or ``*``) is in the accumulated set it stays whitelisted.
    """
    if not order:
        return MirrorDecision(allowed=True)
    union = order[0].whitelist_inheritance == "union"
    accumulated: frozenset[str] | None = None
    whitelisted = False
    blocked_by: str | None = None
    for node in order:
        if node.is_mirror:
            continue
        own = node.mirror_whitelist
        if accumulated is None:
            accumulated = own
        else:
            accumulated = accumulated | own if union else accumulated & own
        if project in accumulated or "*" in accumulated:
            whitelisted = True
        if blocked_by is None and has_project(node.path):
            blocked_by = node.path
    if blocked_by is not None and not whitelisted:
        return MirrorDecision(allowed=False, blocked_by=blocked_by)
    return MirrorDecision(allowed=True)


def visible_order(
    project: str, order: Sequence[N], has_project: Callable[[str], bool]
) -> tuple[list[N], MirrorDecision]:
    """The indexes whose releases of ``project`` are merged into the view, in order."""
    decision = mirror_decision(project, order, has_project)
    if decision.allowed:
        return list(order), decision
    return [node for node in order if not node.is_mirror], decision


def merge_first_wins(groups: Iterable[Iterable[T]], key: Callable[[T], str]) -> list[T]:
    """Concatenate groups in order, keeping only the first item for each key."""
    seen: set[str] = set()
    merged: list[T] = []
    for group in groups:
        for item in group:
            k = key(item)
            if k not in seen:
                seen.add(k)
                merged.append(item)
    return merged
