"""Table-driven tests of index inheritance: resolution order, the mirror whitelist, merging."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import pytest

from pkgdepot.domain.resolve import (
    IndexNode,
    MirrorDecision,
    merge_first_wins,
    mirror_decision,
    resolution_order,
    visible_order,
)


@dataclasses.dataclass(frozen=True)
class Node:
    """A lightweight IndexNode: ``bases`` and the whitelist settings, nothing else."""

    path: str
    bases: tuple[str, ...] = ()
    is_mirror: bool = False
    mirror_whitelist: frozenset[str] = frozenset()
    whitelist_inheritance: str = "intersection"


def _conforms(node: IndexNode) -> IndexNode:
    return node


_conforms(Node("a/a"))  # mypy checks that Node implements the protocol


def stage(path: str, *bases: str, whitelist: Sequence[str] = (), inherit: str = "") -> Node:
    return Node(
        path,
        bases=bases,
        mirror_whitelist=frozenset(whitelist),
        whitelist_inheritance=inherit or "intersection",
    )


def mirror(path: str) -> Node:
    return Node(path, is_mirror=True)


def graph(*nodes: Node) -> dict[str, Node]:
    return {node.path: node for node in nodes}


ORDER_CASES: list[tuple[str, dict[str, Node], str, list[str]]] = [
    ("alone", graph(stage("a")), "a", ["a"]),
    ("unknown start", graph(stage("a")), "zz", []),
    ("chain a->b->c", graph(stage("a", "b"), stage("b", "c"), stage("c")), "a", ["a", "b", "c"]),
    (
        "breadth-first, bases order respected",
        graph(stage("a", "c", "b"), stage("b", "d"), stage("c", "e"), stage("d"), stage("e")),
        "a",
        ["a", "c", "b", "e", "d"],
    ),
    (
        "diamond listed once (devpi lists d twice)",
        graph(stage("a", "b", "c"), stage("b", "d"), stage("c", "d"), stage("d")),
        "a",
        ["a", "b", "c", "d"],
    ),
    (
        "cycle a->b->c->a",
        graph(stage("a", "b"), stage("b", "c"), stage("c", "a")),
        "a",
        ["a", "b", "c"],
    ),
    (
        "cycle seen from the middle",
        graph(stage("a", "b"), stage("b", "c"), stage("c", "a")),
        "b",
        ["b", "c", "a"],
    ),
    ("self-reference", graph(stage("a", "a", "b"), stage("b", "b")), "a", ["a", "b"]),
    (
        "deleted base skipped, its siblings kept",
        graph(stage("a", "gone", "b"), stage("b", "also-gone", "c"), stage("c")),
        "a",
        ["a", "b", "c"],
    ),
    ("every base deleted", graph(stage("a", "x", "y")), "a", ["a"]),
    (
        "mirror first in bases still comes last",
        graph(stage("a", "pypi", "b"), stage("b", "c"), stage("c"), mirror("pypi")),
        "a",
        ["a", "b", "c", "pypi"],
    ),
    (
        "mirrors last, in the order they were found",
        graph(
            stage("a", "m1", "b"),
            stage("b", "m2", "m1"),
            mirror("m1"),
            mirror("m2"),
        ),
        "a",
        ["a", "b", "m1", "m2"],
    ),
    (
        "a mirror's bases are never followed",
        graph(stage("a", "m"), Node("m", bases=("b",), is_mirror=True), stage("b")),
        "a",
        ["a", "m"],
    ),
    ("a mirror queried itself", graph(mirror("m")), "m", ["m"]),
    (
        "mirror reached twice listed once",
        graph(stage("a", "b", "c"), stage("b", "m"), stage("c", "m"), mirror("m")),
        "a",
        ["a", "b", "c", "m"],
    ),
]


@pytest.mark.parametrize(
    ("graph_", "start", "expected"),
    [pytest.param(g, s, e, id=name) for name, g, s, e in ORDER_CASES],
)
def test_resolution_order(graph_: dict[str, Node], start: str, expected: list[str]) -> None:
    order = resolution_order(start, graph_)
    assert [node.path for node in order] == expected
    assert all(node is graph_[node.path] for node in order)


def has(*paths: str) -> Callable[[str], bool]:
    return lambda path: path in paths


# (name, chain in resolution order, indexes that have the project, expected decision)
DECISION_CASES: list[tuple[str, list[Node], Callable[[str], bool], MirrorDecision]] = [
    ("empty chain", [], has(), MirrorDecision(allowed=True)),
    (
        "no private hit: mirrors allowed",
        [stage("p1", "pypi"), mirror("pypi")],
        has(),
        MirrorDecision(allowed=True),
    ),
    (
        "private hit blocks mirrors",
        [stage("p1", "pypi"), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=False, blocked_by="p1"),
    ),
    (
        "private hit further down the chain blocks",
        [stage("p2", "p1"), stage("p1", "pypi"), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=False, blocked_by="p1"),
    ),
    (
        "blocked_by names the first private index with the project",
        [stage("p3", "p2"), stage("p2", "p1"), stage("p1"), mirror("pypi")],
        has("p2", "p1"),
        MirrorDecision(allowed=False, blocked_by="p2"),
    ),
    (
        "own whitelist by name",
        [stage("p1", whitelist=["six"]), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=True),
    ),
    (
        "own whitelist '*'",
        [stage("p1", whitelist=["*"]), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=True),
    ),
    (
        "whitelist of another project does not help",
        [stage("p1", whitelist=["other"]), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=False, blocked_by="p1"),
    ),
    (
        "intersection: queried index whitelists, base has project (sticky)",
        [stage("p2", "p1", whitelist=["six"]), stage("p1"), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=True),
    ),
    (
        "intersection: only the base whitelists: blocked",
        [stage("p2", "p1"), stage("p1", whitelist=["six"]), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=False, blocked_by="p1"),
    ),
    (
        "union: only the base whitelists: allowed",
        [stage("p2", "p1", inherit="union"), stage("p1", whitelist=["six"]), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=True),
    ),
    (
        "union: '*' in a base whitelists everything",
        [stage("p2", "p1", inherit="union"), stage("p1", whitelist=["*"]), mirror("pypi")],
        has("p2"),
        MirrorDecision(allowed=True),
    ),
    (
        "the queried index decides: base says union, queried says intersection",
        [stage("p2", "p1"), stage("p1", whitelist=["six"], inherit="union"), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=False, blocked_by="p1"),
    ),
    (
        "the queried index decides: base says intersection, queried says union",
        [stage("p2", "p1", inherit="union"), stage("p1", whitelist=["six"]), mirror("pypi")],
        has("p2", "p1"),
        MirrorDecision(allowed=True),
    ),
    (
        "intersection of three: all whitelist the project",
        [
            stage("p3", whitelist=["six"]),
            stage("p2", whitelist=["six", "x"]),
            stage("p1", whitelist=["six"]),
            mirror("pypi"),
        ],
        has("p1"),
        MirrorDecision(allowed=True),
    ),
    (
        "intersection emptied further down stays whitelisted once seen (sticky)",
        [stage("p3", whitelist=["six"]), stage("p2"), stage("p1"), mirror("pypi")],
        has("p1"),
        MirrorDecision(allowed=True),
    ),
    (
        "intersection: different names cancel out",
        [stage("p2", whitelist=["x"]), stage("p1", whitelist=["six"]), mirror("pypi")],
        has("p2"),
        MirrorDecision(allowed=False, blocked_by="p2"),
    ),
    (
        "intersection: '*' on the queried index",
        [stage("p2", "p1", whitelist=["*"]), stage("p1"), mirror("pypi")],
        has("p2", "p1"),
        MirrorDecision(allowed=True),
    ),
    (
        "union accumulates across three indexes",
        [
            stage("p3", inherit="union"),
            stage("p2", whitelist=["a"]),
            stage("p1", whitelist=["six"]),
            mirror("pypi"),
        ],
        has("p3"),
        MirrorDecision(allowed=True),
    ),
    (
        "whitelisted but no private hit: allowed",
        [stage("p1", whitelist=["six"]), mirror("pypi")],
        has(),
        MirrorDecision(allowed=True),
    ),
    (
        "mirror has the project but no private index: allowed",
        [stage("p1"), mirror("pypi")],
        has("pypi"),
        MirrorDecision(allowed=True),
    ),
    (
        "only private indexes, private hit",
        [stage("p2", "p1"), stage("p1")],
        has("p1"),
        MirrorDecision(allowed=False, blocked_by="p1"),
    ),
]


@pytest.mark.parametrize(
    ("order", "having", "expected"),
    [pytest.param(o, h, e, id=name) for name, o, h, e in DECISION_CASES],
)
def test_mirror_decision(
    order: list[Node], having: Callable[[str], bool], expected: MirrorDecision
) -> None:
    assert mirror_decision("six", order, having) == expected


def test_mirror_decision_asks_only_about_private_indexes() -> None:
    asked: list[str] = []

    def having(path: str) -> bool:
        asked.append(path)
        return False

    mirror_decision("six", [stage("p2"), mirror("pypi"), stage("p1")], having)
    assert asked == ["p2", "p1"]


def test_mirror_decision_on_a_graph_from_resolution_order() -> None:
    """The devpi-api.md 4.4 example: private six in p1 (base root/pypi), p2 inherits p1."""
    indexes = graph(
        stage("alice/p2", "alice/p1", whitelist=["six"]),
        stage("alice/p1", "root/pypi"),
        mirror("root/pypi"),
    )
    p1_order = resolution_order("alice/p1", indexes)
    p2_order = resolution_order("alice/p2", indexes)
    assert mirror_decision("six", p1_order, has("alice/p1")).allowed is False
    assert mirror_decision("six", p2_order, has("alice/p1")).allowed is True
    assert mirror_decision("other", p1_order, has()).allowed is True


VISIBLE_CASES: list[tuple[str, list[Node], Callable[[str], bool], list[str], bool]] = [
    ("nothing blocked", [stage("a"), mirror("m")], has("m"), ["a", "m"], True),
    ("mirrors dropped", [stage("a"), stage("b"), mirror("m")], has("b"), ["a", "b"], False),
    (
        "whitelisted keeps mirrors",
        [stage("a", whitelist=["*"]), mirror("m")],
        has("a"),
        ["a", "m"],
        True,
    ),
    ("empty", [], has(), [], True),
]


@pytest.mark.parametrize(
    ("order", "having", "expected", "allowed"),
    [pytest.param(o, h, e, a, id=name) for name, o, h, e, a in VISIBLE_CASES],
)
def test_visible_order(
    order: list[Node], having: Callable[[str], bool], expected: list[str], allowed: bool
) -> None:
    visible, decision = visible_order("six", order, having)
    assert [node.path for node in visible] == expected
    assert decision.allowed is allowed
    assert visible is not order


MERGE_CASES: list[tuple[str, list[list[tuple[str, str]]], list[tuple[str, str]]]] = [
    ("no groups", [], []),
    ("empty groups", [[], []], []),
    ("one group kept in order", [[("b", "1"), ("a", "1")]], [("b", "1"), ("a", "1")]),
    (
        "first group wins per key",
        [[("x.whl", "a"), ("y.whl", "a")], [("x.whl", "b"), ("z.whl", "b")]],
        [("x.whl", "a"), ("y.whl", "a"), ("z.whl", "b")],
    ),
    (
        "duplicate inside one group: first kept",
        [[("x", "1"), ("x", "2")]],
        [("x", "1")],
    ),
    (
        "three groups",
        [[("x", "a")], [("x", "b"), ("y", "b")], [("y", "c"), ("z", "c")]],
        [("x", "a"), ("y", "b"), ("z", "c")],
    ),
]


@pytest.mark.parametrize(
    ("groups", "expected"),
    [pytest.param(g, e, id=name) for name, g, e in MERGE_CASES],
)
def test_merge_first_wins(
    groups: list[list[tuple[str, str]]], expected: list[tuple[str, str]]
) -> None:
    assert merge_first_wins(groups, key=lambda item: item[0]) == expected


def test_merge_first_wins_consumes_iterators_once() -> None:
    groups = (iter([("a", i), ("b", i)]) for i in range(3))
    assert merge_first_wins(groups, key=lambda item: item[0]) == [("a", 0), ("b", 0)]
