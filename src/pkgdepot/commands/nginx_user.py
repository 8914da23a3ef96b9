"""Who nginx's worker processes run as: the ``user`` directive of nginx's main configuration,
else the user that Debian's or nginx.org's package runs them as, whichever exists here."""

from __future__ import annotations

import dataclasses
import grp
import os
import pwd
import re
from pathlib import Path
from typing import NamedTuple

NGINX_CONF = Path("/etc/nginx/nginx.conf")
USUAL_USERS = ("www-data", "nginx")  # Debian's package, nginx.org's
# nginx's tokens: a comment (a # where a word would start), a quoted word, a brace, a
# semicolon, a bare word
_TOKEN = re.compile(r"""#[^\n]*|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|[{};]|[^\s{};"']+""")


class NamedUser(NamedTuple):
    name: str
    group: str | None  # None: nginx's rule (the group of the same name)
    source: str  # how we know, for messages


@dataclasses.dataclass(frozen=True)
class Worker:
    """A user as the kernel sees the processes nginx runs as it: with the group nginx gives
    them and the user's supplementary groups (nginx calls initgroups)."""

    name: str
    uid: int
    group: str
    gid: int
    groups: frozenset[int]


def worker_named(name: str, group: str | None = None) -> Worker | None:
    """The worker of ``user name [group];``, or None when there is no such user or group here.
    Without a group nginx takes the group named like the user; the user's own group stands in
    when there is none."""
    try:
        user = pwd.getpwnam(name)
        if group is None:
            group_entry = _group_named(name) or grp.getgrgid(user.pw_gid)
        else:
            group_entry = grp.getgrnam(group)
    except KeyError:
        return None
    groups = frozenset(os.getgrouplist(name, group_entry.gr_gid))
    return Worker(name, user.pw_uid, group_entry.gr_name, group_entry.gr_gid, groups)


def _group_named(name: str) -> grp.struct_group | None:
    try:
        return grp.getgrnam(name)
    except KeyError:
        return None


def configured_user(text: str) -> tuple[str, str | None] | None:
    """The arguments of the main context's ``user`` directive in nginx configuration text."""
    depth = 0
    statement: list[str] = []
    for piece in _TOKEN.findall(text):
        if piece.startswith("#"):
            continue
        if piece not in {"{", "}", ";"}:
            statement.append(piece)
            continue
        if piece == ";" and depth == 0 and statement[:1] == ["user"] and len(statement) in {2, 3}:
            name, *group = (word.strip("\"'") for word in statement[1:])
            return name, group[0] if group else None
        depth += {"{": 1, "}": -1}.get(piece, 0)
        statement = []
    return None


def find_nginx_user(
    conf: Path = NGINX_CONF, usual: tuple[str, ...] = USUAL_USERS
) -> NamedUser | None:
    """The user named by ``conf``'s ``user`` directive, else the first of ``usual`` that exists
    here; None if neither."""
    try:
        configured = configured_user(conf.read_text())
    except (OSError, UnicodeDecodeError):
        configured = None
    if configured is not None:
        return NamedUser(*configured, f"the user directive in {conf}")
    for name in usual:
        if worker_named(name) is not None:
            return NamedUser(name, None, f"{conf} names no user; {name} is the usual one")
    return None
