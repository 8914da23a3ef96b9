"""The rendered-page cache stays within its entry and byte bounds, least recently used first."""

from __future__ import annotations

from pkgdepot.web.simple import PageCache, Rendered


def page(size: int, serial: int = 1) -> Rendered:
    return Rendered(serial=serial, state=(serial,), body=b"x" * size, digest="d")


def key(n: int) -> tuple[str, str, str, str]:
    return ("u", "i", f"p{n}", "html")


def test_least_recently_used_entries_go_beyond_the_entry_bound() -> None:
    cache = PageCache(max_entries=3, max_bytes=10_000)
    for n in range(3):
        cache.put(key(n), page(10))
    assert cache.get(key(0)) is not None  # now the most recently used
    cache.put(key(3), page(10))
    assert len(cache) == 3
    assert cache.get(key(1)) is None
    assert all(cache.get(key(n)) is not None for n in (0, 2, 3))


def test_bytes_are_bounded_and_counted_on_replace_and_drop() -> None:
    cache = PageCache(max_entries=100, max_bytes=100)
    for n in range(5):
        cache.put(key(n), page(30))
    assert cache.size == 90
    assert len(cache) == 3
    assert [cache.get(key(n)) is not None for n in range(5)] == [False, False, True, True, True]
    cache.put(key(4), page(5, serial=2))  # replacing an entry frees its old bytes
    assert cache.size == 65
    cache.drop(key(3))
    cache.drop(key(99))  # dropping what is not there is harmless
    assert cache.size == 35
    assert len(cache) == 2


def test_a_page_larger_than_the_whole_cache_is_not_kept() -> None:
    cache = PageCache(max_entries=10, max_bytes=100)
    cache.put(key(0), page(50))
    cache.put(key(1), page(101))
    assert cache.get(key(1)) is None
    assert cache.get(key(0)) is not None
    assert cache.size == 50
