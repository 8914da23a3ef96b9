"""What nginx needs on this machine beyond the site file, checked where gen-config runs: the
directories nginx does not create, and a way through for its workers to the stored files it
sends itself (X-Accel-Redirect), with the command that makes one.

Access is judged from mode bits, owners and groups as the kernel judges it, not with
``os.access``, which answers for whoever runs gen-config (often root). A directory with an
ACL is taken to let the worker through."""

from __future__ import annotations

import dataclasses
import grp
import os
import pwd
import shlex
import stat
from pathlib import Path

from pkgdepot.commands.nginx_user import NamedUser, Worker, worker_named
from pkgdepot.serverdir import ROOT_MODE

SEARCH = 0o1  # the x bit: pass through a directory; nginx's alias needs no listing (r)


@dataclasses.dataclass(frozen=True)
class Blocker:
    """A directory on the way to the stored files that the worker cannot pass."""

    path: Path
    why: str
    fix: str  # a shell command


def missing_directories(cache_dir: Path, log_dir: Path) -> list[str]:
    """Warnings about directories nginx needs and will not create."""
    found = []
    if not cache_dir.parent.is_dir():
        found.append(
            f"warning: {cache_dir.parent} does not exist here, and nginx creates only the last "
            f"level of its cache directory {cache_dir}: create it first: "
            f"mkdir -p {shlex.quote(str(cache_dir.parent))}"
        )
    if not log_dir.is_dir():
        found.append(
            f"warning: nginx's log directory {log_dir} does not exist here, and nginx does not "
            f"create it: mkdir -p {shlex.quote(str(log_dir))}"
        )
    return found


def blob_access(serverdir: Path, owner: str, nginx_user: NamedUser | None) -> str | None:
    """What to tell about nginx's way to ``serverdir``'s stored files, if anything.
    ``owner`` is who pkgdepot runs as, so who creates a server directory that is not there."""
    blobs = serverdir / "+blobs"
    if nginx_user is None:
        return (
            "note: could not tell which user nginx runs as: that user must be able to pass "
            f"through every directory down to {blobs} (--nginx-user names it, to check)"
        )
    worker = worker_named(nginx_user.name, nginx_user.group)
    if worker is None:
        return (
            f"note: nginx's user {nginx_user.name} ({nginx_user.source}) does not exist here: "
            f"could not check that it can read {blobs}"
        )
    found = blockers(serverdir, owner, worker)
    if not found:
        return None
    lines = [
        f"warning: nginx's user {worker.name} ({nginx_user.source}) cannot read the stored "
        f"files in {blobs}, which nginx sends itself; downloads through nginx fail until "
        "each of these lets it through:"
    ]
    for blocker in found:
        lines += [f"  {blocker.path} ({blocker.why}):", f"    {blocker.fix}"]
    return "\n".join(lines)


def blockers(serverdir: Path, owner: str, worker: Worker) -> list[Blocker]:
    """The directories down to ``serverdir``/+blobs that ``worker`` cannot pass, each with its
    fix. A server directory that does not exist yet is judged as pkgdepot will create it."""
    serverdir = serverdir.resolve()
    blobs = serverdir / "+blobs"
    found = []
    for directory in [*reversed(blobs.parents), blobs]:
        try:
            status = directory.stat()
        except FileNotFoundError:
            if serverdir.is_relative_to(directory) and _uid(owner) != worker.uid:
                found.append(_not_yet_created(serverdir, owner, worker))
            break
        except OSError:  # beyond what whoever runs gen-config may see
            break
        if not passes(status, worker) and not _has_acl(directory):
            why = f"{stat.filemode(status.st_mode)} {_owner_name(status)}"
            found.append(Blocker(directory, why, _fix(directory, status, worker, serverdir)))
    return found


def passes(status: os.stat_result, worker: Worker) -> bool:
    """Whether ``worker`` may pass through a directory of this status. The first class that
    fits decides (owner, group, others), even when a later one would allow more."""
    if worker.uid == 0:
        return True
    if status.st_uid == worker.uid:
        bits = status.st_mode >> 6
    elif status.st_gid in worker.groups:
        bits = status.st_mode >> 3
    else:
        bits = status.st_mode
    return bool(bits & SEARCH)


def _fix(directory: Path, status: os.stat_result, worker: Worker, serverdir: Path) -> str:
    path = shlex.quote(str(directory))
    if status.st_uid == worker.uid:
        return f"chmod u+x {path}"
    if directory == serverdir / "+blobs":  # its folders were made alike; the files are 0644
        return f"chmod -R go+X {path}"
    if status.st_gid in worker.groups:
        return f"chmod g+x {path}"
    if directory == serverdir:  # nginx's group only, not everyone
        return f"chgrp {shlex.quote(worker.group)} {path} && chmod g+x {path}"
    return f"chmod o+x {path}"


def _not_yet_created(serverdir: Path, owner: str, worker: Worker) -> Blocker:
    install = ["install", "-d", "-o", owner, "-g", worker.group, "-m", "0710", str(serverdir)]
    mode = stat.filemode(stat.S_IFDIR | ROOT_MODE)
    return Blocker(
        serverdir, f"not there yet, and pkgdepot would create it {mode}", shlex.join(install)
    )


def _uid(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _owner_name(status: os.stat_result) -> str:
    try:
        user = pwd.getpwuid(status.st_uid).pw_name
    except KeyError:
        user = str(status.st_uid)
    try:
        group = grp.getgrgid(status.st_gid).gr_name
    except KeyError:
        group = str(status.st_gid)
    return f"{user}:{group}"


def _has_acl(directory: Path) -> bool:
    try:
        os.getxattr(directory, "system.posix_acl_access")
    except (OSError, AttributeError):  # none, or no such thing here (macOS)
        return False
    return True
