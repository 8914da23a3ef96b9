"""What a push asks for (the JSON body devpi-client sends, checked field by field), and what
it pushes."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

from pkgdepot.domain import bodies
from pkgdepot.domain.models import ReleaseFile
from pkgdepot.domain.names import check_version, normalize_project, short_repr
from pkgdepot.errors import InvalidInput

EXTERNAL_KEYS = ("posturl", "username", "password", "register_project")

# One line of devpi's actionlog: ``[status, what, details...]``.
Action = list[Any]


@dataclasses.dataclass(frozen=True)
class PushOrder:
    name: str  # as the client spelled it
    project: str  # normalised
    version: str
    no_docs: bool = False
    only_docs: bool = False
    targetindex: str | None = None  # "user/index": a push to an index of this server
    posturl: str | None = None  # else the legacy upload URL of another repository
    username: str | None = None
    password: str | None = None
    register_project: bool = False

    @property
    def target_user_and_index(self) -> tuple[str, str]:
        assert self.targetindex is not None
        user, index = self.targetindex.split("/")
        return user, index


def _target(value: str) -> str:
    if value.count("/") != 1 or not all(value.split("/")):
        raise InvalidInput("targetindex not in format user/index")
    return value


def _posturl(value: str | None) -> str:
    if value is None:
        raise InvalidInput("a push needs a 'targetindex' (user/index) or a 'posturl'")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"posturl {short_repr(value)} is not an http or https URL")
    return value


def parse_order(body: object) -> PushOrder:
    """The push a JSON body asks for; InvalidInput (400) naming what is wrong."""
    if not isinstance(body, dict):
        raise InvalidInput("a push expects a JSON object")
    given = bodies.validate(bodies.Push, body, "unknown additional options").given()
    name, version = given.pop("name", None), given.pop("version", None)
    if not (name and version):
        raise InvalidInput("no name/version specified in json")
    project, version = normalize_project(name), check_version(version)
    no_docs, only_docs = bool(given.get("no_docs")), bool(given.get("only_docs"))
    if no_docs and only_docs:
        raise InvalidInput("can't use 'no_docs' and 'only_docs' together")
    order = PushOrder(name, project, version, no_docs=no_docs, only_docs=only_docs)
    if given.get("targetindex") is not None:
        external = [key for key in EXTERNAL_KEYS if given.get(key) is not None]
        if external:
            raise InvalidInput(
                f"{', '.join(external)}: only for a push to a 'posturl', not to a 'targetindex'"
            )
        return dataclasses.replace(order, targetindex=_target(given["targetindex"]))
    return dataclasses.replace(
        order,
        posturl=_posturl(given.get("posturl")),
        username=given.get("username"),
        password=given.get("password"),
        register_project=bool(given.get("register_project")),
    )


@dataclasses.dataclass(frozen=True)
class Release:
    """One version's files on the source index, and its metadata."""

    name: str
    version: str
    metadata: dict[str, Any]
    files: list[ReleaseFile]  # release files
    toxresults: list[ReleaseFile]
    doczip: ReleaseFile | None
