"""Index configuration: defaults, validation, coercion and devpi-client's PATCH operations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from pkgdepot.domain import bodies
from pkgdepot.domain.models import ANONYMOUS
from pkgdepot.domain.names import (
    check_user_or_index_name,
    normalize_project,
    short_repr,
)
from pkgdepot.domain.permissions import principal
from pkgdepot.errors import InvalidInput

STAGE_DEFAULTS: dict[str, Any] = {
    "type": "stage",
    "bases": [],
    "volatile": True,
    "acl_upload": None,  # filled with the owner
    "acl_toxresult_upload": [ANONYMOUS],
    "mirror_whitelist": [],
    "mirror_whitelist_inheritance": "intersection",
}
MIRROR_DEFAULTS: dict[str, Any] = {
    "type": "mirror",
    "volatile": True,
    "mirror_url": None,  # required
    "mirror_cache_expiry": 1800,
    "mirror_no_project_list": False,
    "mirror_use_external_urls": False,
    "mirror_ignore_serial_header": False,
}
DEFAULTS = {"stage": STAGE_DEFAULTS, "mirror": MIRROR_DEFAULTS}
FREE_KEYS = ("title", "description", "custom_data")
LIST_KEYS = ("bases", "acl_upload", "acl_toxresult_upload", "mirror_whitelist")
BOOL_KEYS = (
    "volatile",
    "mirror_no_project_list",
    "mirror_use_external_urls",
    "mirror_ignore_serial_header",
)
KNOWN_TYPES = tuple(DEFAULTS)
MAX_CACHE_EXPIRY = 10 * 365 * 24 * 3600
PASSWORD_MASK = "***"  # noqa: S105 (what replies show instead of a password)
UNEXPECTED_KEYS = "indexconfig got unexpected keys"
TYPE_FIXED = "the 'type' of an index can't be changed"
# Where a mirror whose stored mirror_url was unusable points instead: a name that never
# resolves (RFC 6761), so the mirror serves what it has cached and says its upstream fails.
UNUSABLE_MIRROR_URL = "http://mirror-url-needs-fixing.invalid/"


def _as_bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "yes", "1", "false", "no", "0"}:
        return value.lower() in {"true", "yes", "1"}
    raise InvalidInput(f"{key} must be true or false, not {short_repr(value)}")


def _as_list(key: str, value: object) -> list[str]:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise InvalidInput(f"{key} must be a list of strings, not {short_repr(value)}")


def _principal(key: str, value: str) -> str:
    """A user name, or a special principal such as ``:ANONYMOUS:`` (stored upper-case)."""
    normal = principal(value)
    bare = normal.strip(":") if normal.startswith(":") else normal
    try:
        check_user_or_index_name(bare, "principal")
    except InvalidInput:
        raise InvalidInput(f"{key} got an invalid principal {short_repr(value)}") from None
    return normal


def normalize_index_path(value: str) -> str:
    parts = value.strip().strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise InvalidInput(f"base index {short_repr(value)} is not in the form user/index")
    check_user_or_index_name(parts[0], "user")
    check_user_or_index_name(parts[1], "index")
    return "/".join(parts)


def check_mirror_url(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"mirror_url must be a string, not {short_repr(value)}")
    url = value.strip()
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # an unclosed "[" of an IPv6 address, a port that is no number
        usable = False
    if not usable:
        raise InvalidInput(f"mirror_url must be an http or https URL, not {short_repr(value)}")
    return url  # as given, as devpi keeps it: the upstream client adds the slash it needs


def shown_mirror_url(url: str) -> str:
    """``mirror_url`` as replies show it: a password in it is replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{PASSWORD_MASK}@{host}"))


def _as_expiry(key: str, value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"{key} must be a number of seconds, not {short_repr(value)}")
    if value > MAX_CACHE_EXPIRY:
        raise InvalidInput(f"{key} must be at most {MAX_CACHE_EXPIRY} seconds")
    return value


def _coerce(key: str, value: object) -> object:
    if key in BOOL_KEYS:
        return _as_bool(key, value)
    if key == "mirror_url":
        return check_mirror_url(value)
    if key == "mirror_cache_expiry":
        return _as_expiry(key, value)
    if key == "bases":
        return list(dict.fromkeys(normalize_index_path(v) for v in _as_list(key, value)))
    if key in ("acl_upload", "acl_toxresult_upload"):
        return list(dict.fromkeys(_principal(key, v) for v in _as_list(key, value)))
    if key == "mirror_whitelist":
        items = _as_list(key, value)
        return list(dict.fromkeys("*" if v == "*" else normalize_project(v) for v in items))
    if key == "mirror_whitelist_inheritance":
        if value not in ("intersection", "union"):
            raise InvalidInput(
                "mirror_whitelist_inheritance must be 'intersection' or 'union', "
                f"not {short_repr(value)}"
            )
        return value
    if key in ("title", "description"):
        if not isinstance(value, str):
            raise InvalidInput(f"{key} must be a string")
        return value
    return value  # custom_data: any JSON


def _defaults(index_type: object) -> dict[str, Any]:
    if not isinstance(index_type, str) or index_type not in DEFAULTS:
        raise InvalidInput(f"unknown index type {short_repr(index_type)}")
    return DEFAULTS[str(index_type)]


def _schema(index_type: object) -> type[bodies.IndexFields]:
    _defaults(index_type)
    return bodies.INDEX_CONFIGS[str(index_type)]


def _given(index_type: object, body: Mapping[str, Any]) -> dict[str, Any]:
    """The keys a body sets, checked against the schema of its index type."""
    return bodies.validate(_schema(index_type), body, UNEXPECTED_KEYS).given()


def _remove(config: dict[str, Any], key: str) -> None:
    if key in _defaults(config.get("type", "stage")):
        raise InvalidInput("Default values can't be removed.")
    config.pop(key, None)


def new_index_config(owner: str, given: Mapping[str, Any]) -> dict[str, Any]:
    index_type = given.get("type", "stage")
    checked = _given(index_type, given)
    config = {k: list(v) if isinstance(v, list) else v for k, v in _defaults(index_type).items()}
    if index_type == "stage":
        config["acl_upload"] = [owner]
    for key, value in checked.items():
        if value is not None:  # null means "not given": the default stays
            config[key] = _coerce(key, value)
    if index_type == "mirror" and not config["mirror_url"]:
        raise InvalidInput("a mirror index needs a mirror_url")
    return config


def stored_problems(index_type: str, config: Mapping[str, Any]) -> dict[str, str]:
    """The stored settings today's rules refuse, each with why (stored before a rule existed,
    or written to the database by other means)."""
    problems = bodies.invalid_fields(_schema(index_type), config)
    for key, value in config.items():
        if key in problems or key == "type":
            continue
        try:
            _coerce(key, value)
        except InvalidInput as error:
            problems[key] = error.message
    return problems


def without_problems(
    owner: str, index_type: str, config: Mapping[str, Any], problems: Mapping[str, str]
) -> dict[str, Any]:
    """``config`` with every setting ``stored_problems`` named reset to its default (or, for a
    free key, removed)."""
    kept = {k: v for k, v in config.items() if k not in problems}
    required = {"mirror_url": UNUSABLE_MIRROR_URL} if index_type == "mirror" else {}
    defaults = new_index_config(owner, {"type": index_type, **required})
    for key in problems:
        if key in defaults and key != "type":
            kept[key] = defaults[key]
    return kept


def _parse_operation(item: str) -> tuple[str, str, str]:
    for op in ("+=", "-=", "="):
        key, sep, value = item.partition(op)
        if sep and key and "=" not in key and "+" not in key and "-" not in key:
            return key.strip(), op, value
    raise InvalidInput(
        f"cannot parse {short_repr(item)}: expected key=value, key+=value or key-=value"
    )


def apply_operations(old: Mapping[str, Any], items: Sequence[object]) -> dict[str, Any]:
    """devpi-client's list form of PATCH: ``key=value``, ``key+=value``, ``key-=value``."""
    config = dict(old)
    index_type = config.get("type", "stage")
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput(f"PATCH list items must be strings, not {short_repr(item)}")
        key, op, value = _parse_operation(item)
        if key == "type" and value != index_type:
            raise InvalidInput(TYPE_FIXED)
        if op == "-=" and value == "":
            _given(index_type, {key: None})
            _remove(config, key)
            continue
        _given(index_type, {key: value})
        if op == "=":
            config[key] = _coerce(key, value)
            continue
        if key not in LIST_KEYS:
            raise InvalidInput(f"the {key!r} setting is not a list; use {key}=value")
        coerced = _coerce(key, value)
        assert isinstance(coerced, list)
        if len(coerced) != 1:
            raise InvalidInput(f"{short_repr(item)} needs exactly one value after {op!r}")
        element = coerced[0]
        current = list(config.get(key) or [])
        if op == "+=":
            if element not in current:
                current.append(element)
        elif element in current:
            current.remove(element)
        else:
            raise InvalidInput(f"The {key!r} setting doesn't have value {short_repr(value)}")
        config[key] = current
    return config


def apply_patch(old: Mapping[str, Any], patch: object) -> dict[str, Any]:
    """PATCH body: a dict of keys to set, an ``indexconfig`` envelope, or a list of operations."""
    if isinstance(patch, list):
        try:
            operations = msgspec.convert(patch, bodies.Operations)
        except msgspec.ValidationError as error:
            raise InvalidInput(f"PATCH list: {str(error)[:1].lower()}{str(error)[1:]}") from None
        new = apply_operations(old, operations)
    elif isinstance(patch, dict):
        if patch.get("type") == "indexconfig" and isinstance(patch.get("result"), dict):
            patch = patch["result"]
            assert isinstance(patch, dict)
        shown_only = {"projects"}
        given = {k: v for k, v in patch.items() if k not in shown_only}
        if given.get("type", old.get("type")) != old.get("type"):
            raise InvalidInput(TYPE_FIXED)
        new = dict(old)
        for key, value in _given(old.get("type", "stage"), given).items():
            if value is None:
                _remove(new, key)  # devpi: an empty value removes a free key
            else:
                new[key] = _coerce(key, value)
    else:
        raise InvalidInput("PATCH body must be a JSON object or a list of key=value strings")
    old_url = old.get("mirror_url")
    if isinstance(old_url, str) and new.get("mirror_url") == shown_mirror_url(old_url):
        new["mirror_url"] = old_url  # the reply's form of the URL: the password stays
    return new
