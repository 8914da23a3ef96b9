"""``version_sort_key`` orders versions exactly as packaging's ``Version`` compares them."""

from __future__ import annotations

import itertools
import random

from packaging.version import Version

from pkgdepot.domain.names import version_sort_key

RELEASES = ["0", "0.0", "1", "1.0", "1.0.0", "01.2", "1.02", "2.1", "10.3", "1!0.5", "1!1.0"]
PRE = ["", "a0", "a1", "b2", "rc1", "rc10", ".alpha3", "c1"]
POST = ["", ".post0", ".post1", "-7"]
DEV = ["", ".dev0", ".dev3"]
LOCAL = ["", "+abc", "+1", "+9", "+10", "+1.a", "+a.1", "+1.1", "+ubuntu.2"]
VERSIONS = ["".join(parts) for parts in itertools.product(RELEASES, PRE, POST, DEV, LOCAL)]


def test_sorting_by_the_key_is_sorting_by_version() -> None:
    shuffled = list(VERSIONS)
    random.Random(4).shuffle(shuffled)
    by_key = [Version(v) for v in sorted(shuffled, key=version_sort_key)]
    assert by_key == sorted(Version(v) for v in shuffled)


def test_keys_compare_like_versions() -> None:
    rng = random.Random(7)
    for left in VERSIONS:
        for right in rng.sample(VERSIONS, 8):
            a, b = Version(left), Version(right)
            ka, kb = version_sort_key(left), version_sort_key(right)
            assert (a < b, a == b, a > b) == (ka < kb, ka == kb, ka > kb), (left, right)


def test_unparsable_versions_sort_first_among_themselves_by_text() -> None:
    versions = ["2.0", "weird", "1.0", "also weird", "1.0rc1"]
    assert sorted(versions, key=version_sort_key) == [
        "also weird",
        "weird",
        "1.0rc1",
        "1.0",
        "2.0",
    ]
