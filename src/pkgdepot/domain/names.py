"""Validation and normalisation of user, index, project and version names."""

from __future__ import annotations

import functools
import re

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pkgdepot.errors import InvalidInput

# devpi's rule: anything but ASCII control characters, space and most punctuation.
_FORBIDDEN_IN_USER_OR_INDEX = (
    set(" !\"#$%&'()*+,/:;<=>?[\\]^`{|}~") | {chr(c) for c in range(32)} | {"\x7f"}
)
_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
MAX_NAME_LENGTH = 100


def short_repr(value: object, limit: int = 80) -> str:
    """``repr`` cut short for messages: bad input can be large."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_list(items: list[str], limit: int = 10) -> str:
    """Comma-separated, cut short for messages: ``a, b, ... (12 in all)``."""
    shown = ", ".join(item if len(item) <= 40 else item[:37] + "..." for item in items[:limit])
    return shown if len(items) <= limit else f"{shown}, ... ({len(items)} in all)"


def check_user_or_index_name(name: str, what: str) -> str:
    if not name:
        raise InvalidInput(f"{what} name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"{what} name is longer than {MAX_NAME_LENGTH} characters")
    bad = sorted(set(name) & _FORBIDDEN_IN_USER_OR_INDEX)
    if bad or name.startswith((".", "-")):
        shown = "".join(bad) or name[0]
        raise InvalidInput(
            f"{what} name {name!r} contains characters that are not allowed: {shown!r}"
        )
    return name


def is_valid_project_name(name: str) -> bool:
    return bool(_PROJECT_NAME.match(name)) and len(name) <= 200


def normalize_project(name: str) -> str:
    """PEP 503 normalisation; raises InvalidInput for names no installer could ask for."""
    if not is_valid_project_name(name):
        raise InvalidInput(f"invalid project name {short_repr(name)}")
    return canonicalize_name(name)


def check_version(version: str) -> str:
    """A PEP 440 version; legacy versions are refused so that sorting is always well defined."""
    try:
        Version(version)
    except InvalidVersion:
        raise InvalidInput(f"invalid version {short_repr(version)} (not PEP 440)") from None
    if len(version) > 100:
        raise InvalidInput("version is longer than 100 characters")
    return version


# What ``version_sort_key`` returns: comparable with every other key it returns.
VersionKey = tuple[int, tuple[object, ...] | str]


@functools.lru_cache(maxsize=32768)
def version_sort_key(version: str) -> VersionKey:
    """Sort key that puts unparsable (legacy, mirrored) versions first, then PEP 440 order.

    The key holds only tuples, ints and strings, which compare in C: sorting the thousands of
    versions of a big project with ``Version`` objects costs ten times as much. Keys are
    remembered, so a page rendered again after an upload parses only the new version.
    """
    if _PLAIN_RELEASE.fullmatch(version):  # most versions; no need for the full parser
        return (1, _pep440_key(0, tuple(map(int, version.split("."))), None, None, None, None))
    try:
        v = Version(version)
    except InvalidVersion:
        return (0, version)
    return (1, _pep440_key(v.epoch, v.release, v.pre, v.post, v.dev, v.local))


_PLAIN_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*")
# Stand-ins for packaging's infinities in PEP 440 keys: (0,) < (1, value) < (2,).
_BELOW, _ABOVE = (0,), (2,)


def _pep440_key(
    epoch: int,
    release: tuple[int, ...],
    pre: tuple[str, int] | None,
    post: int | None,
    dev: int | None,
    local: str | None,
) -> tuple[object, ...]:
    """The order of packaging's ``Version`` comparison, as plain tuples."""
    trimmed = list(release)
    while trimmed and trimmed[-1] == 0:
        trimmed.pop()
    if pre is None and post is None and dev is not None:
        pre_key: tuple[object, ...] = _BELOW  # 1.0.dev0 sorts before 1.0a0
    else:
        pre_key = _ABOVE if pre is None else (1, *pre)
    post_key = _BELOW if post is None else (1, post)
    dev_key = _ABOVE if dev is None else (1, dev)
    local_key: tuple[object, ...] = _BELOW
    if local is not None:
        # Numeric segments sort after alphanumeric ones, numerically; others as strings.
        segments = (
            (1, int(part), "") if part.isdigit() else (0, 0, part) for part in local.split(".")
        )
        local_key = (1, tuple(segments))
    return (epoch, tuple(trimmed), pre_key, post_key, dev_key, local_key)
