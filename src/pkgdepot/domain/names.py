"""Validation and normalisation of user, index, project and version names."""

from __future__ import annotations

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


def version_sort_key(version: str) -> tuple[int, Version | str]:
    """Sort key that puts unparsable (legacy, mirrored) versions first."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)
