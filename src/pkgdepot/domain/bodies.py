"""The JSON bodies clients send, each a schema with the exact keys it may hold and a bound on
every value, checked before anything is stored.

The schemas are msgspec structs: msgspec checks a decoded body against one in a single pass in
C (about ten times pydantic's speed for the same checks, and a fraction of its import cost and
memory), names the offending field in its message, and gives the JSON Schema of each struct for
the published OpenAPI description. What the structs cannot say, the nesting of the free
``custom_data`` value, ``check_free_json`` bounds.

A body's values keep the loose forms devpi-client sends (``"true"`` for a flag, ``"a,b"`` for a
list); turning them into stored values is ``domain/indexconfig.py``'s work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import orjson
from msgspec import UNSET, Meta, Struct, UnsetType

from pkgdepot.domain.names import short_list
from pkgdepot.errors import InvalidInput

MAX_FREE_DEPTH = 16  # arrays and objects inside one another in custom_data
MAX_FREE_BYTES = 64 * 1024  # custom_data as JSON
MAX_LIST_ITEMS = 10_000  # a whitelist, an ACL, a list of PATCH operations

Text = Annotated[str, Meta(max_length=1_000)]  # names, e-mail addresses, titles, URLs
LongText = Annotated[str, Meta(max_length=64 * 1024)]  # descriptions
Secret = Annotated[str, Meta(max_length=1_000)]  # passwords (hashing a long one costs)
NameList = Annotated[list[Text], Meta(max_length=MAX_LIST_ITEMS)]
# A list of names, or devpi's comma-separated string of them: devpi-client sends every value
# of ``devpi index key=value`` as a string, and a whitelist can be long.
Listish = LongText | NameList
Flag = bool | Annotated[str, Meta(max_length=10)]
Seconds = int | Annotated[str, Meta(max_length=20)]

S = TypeVar("S", bound=Struct)


class Body(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A body's schema: ``UNSET`` is a key the client did not send."""

    def given(self) -> dict[str, Any]:
        """The keys the client sent, with their values."""
        return {k: v for k in self.__struct_fields__ if (v := getattr(self, k)) is not UNSET}


class FreeData(Body):
    """``custom_data``: any JSON, bounded."""

    custom_data: Any = UNSET

    def __post_init__(self) -> None:
        if self.custom_data is not UNSET:
            check_free_json("custom_data", self.custom_data)


class UserFields(FreeData):
    """What a user's config holds; ``null`` or ``""`` removes a key."""

    email: Text | UnsetType | None = UNSET
    title: Text | UnsetType | None = UNSET
    description: LongText | UnsetType | None = UNSET


class UserCreate(UserFields):
    password: Secret | UnsetType | None = UNSET
    pwhash: Text | UnsetType | None = UNSET  # an argon2 hash made elsewhere (devpi's own)


class UserModify(UserFields):
    password: Secret | UnsetType | None = UNSET
    # devpi-client's "devpi user -m" sends back what it read, stamps included; they are not
    # settings and are ignored (the name and the indexes are refused: they cannot be changed)
    created: Text | UnsetType | None = UNSET
    modified: Text | UnsetType | None = UNSET

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in super().given().items() if k not in ("created", "modified")}


class Login(Body):
    user: Text
    password: Secret


class IndexFields(FreeData):
    """What every index's config may hold; ``null`` keeps the default (PUT) or removes a free
    key (PATCH)."""

    title: Text | UnsetType | None = UNSET
    description: LongText | UnsetType | None = UNSET
    volatile: Flag | UnsetType | None = UNSET


class StageConfig(IndexFields):
    type: Literal["stage"] | UnsetType = UNSET
    bases: Listish | UnsetType | None = UNSET
    acl_upload: Listish | UnsetType | None = UNSET
    acl_toxresult_upload: Listish | UnsetType | None = UNSET
    mirror_whitelist: Listish | UnsetType | None = UNSET
    mirror_whitelist_inheritance: Literal["intersection", "union"] | UnsetType | None = UNSET


class MirrorConfig(IndexFields):
    type: Literal["mirror"] | UnsetType = UNSET
    mirror_url: Text | UnsetType | None = UNSET
    mirror_cache_expiry: Seconds | UnsetType | None = UNSET
    mirror_no_project_list: Flag | UnsetType | None = UNSET
    mirror_use_external_urls: Flag | UnsetType | None = UNSET
    mirror_ignore_serial_header: Flag | UnsetType | None = UNSET


INDEX_CONFIGS: dict[str, type[IndexFields]] = {"stage": StageConfig, "mirror": MirrorConfig}
# devpi-client's list form of an index PATCH: ``["key=value", "key+=value", "key-=value"]``
Operations = Annotated[list[LongText], Meta(max_length=MAX_LIST_ITEMS)]


class Yank(Body):
    yanked: bool | LongText  # true, false or a reason


class Push(Body):
    """A push: to ``targetindex`` on this server, or to another repository's ``posturl``."""

    name: Text | UnsetType | None = UNSET
    version: Text | UnsetType | None = UNSET
    no_docs: bool | UnsetType | None = UNSET
    only_docs: bool | UnsetType | None = UNSET
    targetindex: Text | UnsetType | None = UNSET
    posturl: Text | UnsetType | None = UNSET
    username: Text | UnsetType | None = UNSET
    password: Secret | UnsetType | None = UNSET
    register_project: bool | UnsetType | None = UNSET


def check_free_json(key: str, value: object) -> None:
    """A free value is at most ``MAX_FREE_DEPTH`` deep and ``MAX_FREE_BYTES`` as JSON."""
    level: list[object] = [value]
    for _ in range(MAX_FREE_DEPTH + 1):
        inner: list[object] = []
        for item in level:
            if isinstance(item, dict):
                inner.extend(item.values())
            elif isinstance(item, list):
                inner.extend(item)
        if not inner:
            break
        level = inner
    else:
        raise ValueError(f"{key} is nested more than {MAX_FREE_DEPTH} levels deep")
    if len(orjson.dumps(value)) > MAX_FREE_BYTES:
        raise ValueError(f"{key} is larger than {MAX_FREE_BYTES} bytes as JSON")


def keys_of(schema: type[Struct]) -> tuple[str, ...]:
    return schema.__struct_fields__


def validate(schema: type[S], body: Mapping[str, Any], unknown: str) -> S:
    """``body`` checked against ``schema``: InvalidInput (400) naming every unknown key (after
    ``unknown``) or the first wrong value."""
    extra = sorted(str(key) for key in body if key not in schema.__struct_fields__)
    if extra:
        raise InvalidInput(f"{unknown}: {short_list(extra)}")
    try:
        return msgspec.convert(body, schema)
    except msgspec.ValidationError as error:
        raise InvalidInput(_described(str(error))) from None


def _described(error: str) -> str:
    """msgspec's ``Expected `str`, got `int` - at `$.email``` as ``email: expected ...``."""
    what, sep, where = error.rpartition(" - at `$")
    if not sep:
        return error[:1].lower() + error[1:]
    path = where.rstrip("`").lstrip(".")
    return f"{path}: {what[:1].lower()}{what[1:]}"


def invalid_fields(schema: type[Struct], stored: Mapping[str, Any]) -> dict[str, str]:
    """The keys of a stored config that ``schema`` refuses, each with a message naming it:
    stored before a rule existed, or by other means. Unknown keys are reported too."""
    problems: dict[str, str] = {}
    if all(key in schema.__struct_fields__ for key in stored):
        try:
            msgspec.convert(stored, schema)
        except msgspec.ValidationError:
            pass
        else:
            return problems
    for key, value in stored.items():
        if key not in schema.__struct_fields__:
            problems[key] = f"{key}: not a setting pkgdepot has"
            continue
        try:
            msgspec.convert({key: value}, schema)
        except msgspec.ValidationError as error:
            problems[key] = _described(str(error))
    return problems
