"""nginx's worker user and its way to the stored files (commands/nginx_user.py and
nginx_checks.py), on real directories with real modes and owners.

The tests run as root (as CI does): root passes every directory, so the directories belong to
made-up users, and the checks are asked about a made-up worker. Each verdict is compared with
the kernel's own, asked by a shell running as that worker (``setpriv``), and each suggested
fix is run, then the kernel asked again."""

from __future__ import annotations

import dataclasses
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pkgdepot.commands.nginx_checks import blob_access, blockers, missing_directories
from pkgdepot.commands.nginx_user import (
    NamedUser,
    Worker,
    configured_user,
    find_nginx_user,
    worker_named,
)
from pkgdepot.serverdir import ServerDir

OWNER, OWNERS = 4242, 4343  # pkgdepot's user and its group, owners of the directories
NGINX, NGINXS = 4444, 4545  # nginx's worker and its group
WORKER = Worker("web", NGINX, str(NGINXS), NGINXS, frozenset({NGINXS}))  # chgrp takes a gid


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory anyone may pass through (pytest's own temporary directories are 0700)."""
    path = Path(tempfile.mkdtemp()).resolve()
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def made(path: Path, mode: int, uid: int = OWNER, gid: int = OWNERS) -> Path:
    path.mkdir()
    os.chown(path, uid, gid)
    path.chmod(mode)
    return path


def kernel_lets_in(worker: Worker, directory: Path) -> bool:
    """Whether a process of ``worker`` can enter ``directory``, as the kernel decides."""
    groups = ",".join(str(gid) for gid in sorted(worker.groups))
    who = [f"--reuid={worker.uid}", f"--regid={worker.gid}", f"--groups={groups}"]
    done = subprocess.run(
        ["setpriv", *who, "sh", "-c", 'cd "$1"', "sh", str(directory)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def with_acl_for(directory: Path, uid: int) -> None:
    """A POSIX ACL (as setfacl writes it) that lets ``uid`` through and no one else."""
    anyone = 0xFFFFFFFF
    entries = [(0x01, 7, anyone), (0x02, 1, uid), (0x04, 0, anyone), (0x10, 1, anyone)]
    entries.append((0x20, 0, anyone))
    data = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *entry) for entry in entries)
    os.setxattr(directory, "system.posix_acl_access", data)


@dataclasses.dataclass
class Case:
    build: Callable[[Path], Path]  # makes the tree under the base; returns the server directory
    blocked: list[str]  # what the check finds in the way, relative to the base
    fixes: list[str]  # the commands it suggests, "{base}" standing for it
    worker: Worker = WORKER


def _own_serverdir(base: Path) -> Path:
    srv = made(base / "srv", 0o700)
    made(srv / "+blobs", 0o755)
    return srv


def _closed_home(base: Path) -> Path:
    srv = made(made(base / "home", 0o750) / "srv", 0o710, gid=NGINXS)
    made(srv / "+blobs", 0o755)
    return srv


def _group_without_x(base: Path) -> Path:
    srv = made(base / "srv", 0o701, gid=NGINXS)  # others may pass; nginx's group decides
    made(srv / "+blobs", 0o755)
    return srv


def _owner_without_x(base: Path) -> Path:
    srv = made(base / "srv", 0o070, uid=NGINX, gid=NGINXS)  # the owner's bits decide
    made(srv / "+blobs", 0o755)
    return srv


def _blobs_under_umask_077(base: Path) -> Path:
    srv = made(base / "srv", 0o710, gid=NGINXS)
    blobs = made(srv / "+blobs", 0o700)
    made(made(blobs / "ab", 0o700) / "cd", 0o700)
    return srv


def _several(base: Path) -> Path:
    srv = made(made(base / "home", 0o700) / "srv", 0o700)
    made(srv / "+blobs", 0o755)
    return srv


def _open(base: Path) -> Path:
    srv = made(base / "srv", 0o710, gid=NGINXS)
    made(srv / "+blobs", 0o755)
    return srv


def _acl(base: Path) -> Path:
    srv = _own_serverdir(base)
    with_acl_for(srv, NGINX)
    return srv


CASES = {
    "pkgdepot's 0700 server directory": Case(
        _own_serverdir, ["srv"], [f"chgrp {NGINXS} {{base}}/srv && chmod g+x {{base}}/srv"]
    ),
    "a home directory closed to others": Case(_closed_home, ["home"], ["chmod o+x {base}/home"]),
    "nginx's group without x, others with": Case(
        _group_without_x, ["srv"], ["chmod g+x {base}/srv"]
    ),
    "nginx's user owns it without x": Case(_owner_without_x, ["srv"], ["chmod u+x {base}/srv"]),
    "stored files' folders made under umask 077": Case(
        _blobs_under_umask_077, ["srv/+blobs"], ["chmod -R go+X {base}/srv/+blobs"]
    ),
    "several in the way": Case(
        _several,
        ["home", "home/srv"],
        [
            "chmod o+x {base}/home",
            f"chgrp {NGINXS} {{base}}/home/srv && chmod g+x {{base}}/home/srv",
        ],
    ),
    "nginx's group let through": Case(_open, [], []),
    "an ACL lets nginx through": Case(_acl, [], []),
    "nginx running as root": Case(_several, [], [], Worker("root", 0, "root", 0, frozenset({0}))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_what_is_in_the_way_agrees_with_the_kernel_and_the_fixes_work(
    base: Path, name: str
) -> None:
    case = CASES[name]
    serverdir = case.build(base)
    blobs = serverdir / "+blobs"
    found = blockers(serverdir, "pkgdepot", case.worker)
    assert [str(b.path.relative_to(base)) for b in found] == case.blocked
    assert [b.fix for b in found] == [fix.format(base=base) for fix in case.fixes]
    assert kernel_lets_in(case.worker, blobs) == (not found)
    for blocker in found:
        subprocess.run(["sh", "-c", blocker.fix], check=True)
    assert blockers(serverdir, "pkgdepot", case.worker) == []
    assert kernel_lets_in(case.worker, blobs)
    deepest = [blobs, *sorted(path for path in blobs.rglob("*") if path.is_dir())][-1]
    assert kernel_lets_in(case.worker, deepest)


def test_a_server_directory_not_there_yet_is_judged_as_pkgdepot_will_make_it(
    base: Path,
) -> None:
    serverdir = base / "new" / "srv"  # pkgdepot makes the parent too, as the umask allows
    [blocker] = blockers(serverdir, "root", WORKER)
    assert blocker.path == serverdir
    assert blocker.why == "not there yet, and pkgdepot would create it drwx------"
    assert blocker.fix == f"install -d -o root -g {NGINXS} -m 0710 {serverdir}"
    subprocess.run(["sh", "-c", blocker.fix], check=True)
    ServerDir(serverdir).prepare()  # keeps the mode it finds
    assert blockers(serverdir, "root", WORKER) == []
    assert kernel_lets_in(WORKER, serverdir / "+blobs")


def test_a_server_directory_not_there_yet_is_no_obstacle_to_its_owner(base: Path) -> None:
    nobody = worker_named("nobody")
    assert nobody is not None
    assert blockers(base / "srv", "nobody", nobody) == []


def test_the_warning_names_the_user_where_it_came_from_and_each_fix(base: Path) -> None:
    serverdir = _several(base)
    web = NamedUser("nobody", None, "the user directive in /etc/nginx/nginx.conf")
    nobody = worker_named("nobody")
    assert nobody is not None
    message = blob_access(serverdir, "pkgdepot", web)
    assert message is not None
    lines = message.splitlines()
    assert lines[0] == (
        "warning: nginx's user nobody (the user directive in /etc/nginx/nginx.conf) cannot "
        f"read the stored files in {serverdir}/+blobs, which nginx sends itself; downloads "
        "through nginx fail until each of these lets it through:"
    )
    assert lines[1:] == [
        f"  {base}/home (drwx------ {OWNER}:{OWNERS}):",
        f"    chmod o+x {base}/home",
        f"  {serverdir} (drwx------ {OWNER}:{OWNERS}):",
        f"    chgrp {nobody.group} {serverdir} && chmod g+x {serverdir}",
    ]


def test_an_unknown_nginx_user_is_said_so(base: Path) -> None:
    unknown = blob_access(base, "pkgdepot", NamedUser("no-such-user", None, "--nginx-user"))
    assert unknown == (
        "note: nginx's user no-such-user (--nginx-user) does not exist here: could not check "
        f"that it can read {base}/+blobs"
    )
    none = blob_access(base, "pkgdepot", None)
    assert none is not None
    assert none.startswith("note: could not tell which user nginx runs as")


def test_nothing_is_said_when_nginx_gets_through(base: Path) -> None:
    assert blob_access(_open(base), "pkgdepot", NamedUser("root", None, "--nginx-user")) is None


@pytest.mark.parametrize(
    ("text", "user"),
    [
        ("user www-data;\nworker_processes auto;\n", ("www-data", None)),
        ("# user nobody;\n  user  nginx   nginx ;\n", ("nginx", "nginx")),
        ("user \"web\" 'webs';", ("web", "webs")),
        ("events {\n    user nobody;\n}\nuser web;", ("web", None)),
        ("http { auth_basic_user_file /x; }\n", None),
        ("worker_processes 1; # user web;\n", None),
        ("location ~ a#b { user inner; }\n", None),
        ("user;\nuser a b c;\n", None),
        ("", None),
    ],
)
def test_the_user_directive_of_the_main_context(
    text: str, user: tuple[str, str | None] | None
) -> None:
    assert configured_user(text) == user


def test_nginx_user_from_the_configuration_else_the_usual_names(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text("user someone somegroup;\nevents {}\n")
    assert find_nginx_user(conf) == NamedUser(
        "someone", "somegroup", f"the user directive in {conf}"
    )
    conf.write_text("events {}\n")
    assert find_nginx_user(conf, ("no-such-user", "nobody")) == NamedUser(
        "nobody", None, f"{conf} names no user; nobody is the usual one"
    )
    missing = tmp_path / "missing.conf"
    assert find_nginx_user(missing, ("nobody",)) is not None
    assert find_nginx_user(missing, ("no-such-user",)) is None


def test_a_worker_has_the_group_nginx_gives_it_and_the_users_other_groups() -> None:
    root = worker_named("root")
    assert root == Worker("root", 0, "root", 0, frozenset(os.getgrouplist("root", 0)))
    assert worker_named("root", "nogroup-that-is-not") is None
    assert worker_named("no-such-user") is None
    nobody = worker_named("nobody")  # Debian has no group "nobody": the user's own stands in
    assert nobody is not None
    assert nobody.gid in nobody.groups


def test_directories_nginx_does_not_create_are_named(tmp_path: Path) -> None:
    assert missing_directories(tmp_path / "cache", tmp_path) == []
    cache, logs = tmp_path / "no" / "cache", tmp_path / "logs"
    assert missing_directories(cache, logs) == [
        f"warning: {tmp_path}/no does not exist here, and nginx creates only the last level "
        f"of its cache directory {cache}: create it first: mkdir -p {tmp_path}/no",
        f"warning: nginx's log directory {logs} does not exist here, and nginx does not "
        f"create it: mkdir -p {logs}",
    ]
