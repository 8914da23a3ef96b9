"""devpi-server dumps in older forms, derived from a real (version 2) export.

``to_dump_version_1`` undoes, one by one, what devpi-server's own importer (``Migrator`` in
devpi_server/importexport.py) converts when it reads a version 1 dump: files without a
``version``, md5 as their only hash (devpi-server 2.1), doc zips and tox results without an
``entrymapping`` or hash, ``pypi_whitelist`` (renamed ``mirror_whitelist`` in 3.0), no
``mirror_whitelist_inheritance`` or ``acl_toxresult_upload`` yet, users without ``created``,
projects keyed by their display names, and salted SHA-256 password hashes (``pwsalt``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

DATAINDEX = "dataindex.json"


def legacy_sha256(password: str, salt: str) -> str:
    """devpi-server's password hash before 5.0: sha256(salt + password), hex."""
    return hashlib.sha256(salt.encode("ascii") + password.encode("utf-8")).hexdigest()


def read_dump(directory: Path) -> dict[str, Any]:
    dump: dict[str, Any] = json.loads((directory / DATAINDEX).read_text())
    return dump


def write_dump(directory: Path, dump: dict[str, Any]) -> None:
    (directory / DATAINDEX).write_text(json.dumps(dump, indent=2))


def copy_export(source: Path, target: Path) -> dict[str, Any]:
    """A copy of the export to change; returns its dump."""
    shutil.copytree(source, target)
    return read_dump(target)


def _old_file(export: Path, desc: dict[str, Any]) -> dict[str, Any]:
    old = {k: v for k, v in desc.items() if k not in ("version", "entrymapping")}
    mapping = desc["entrymapping"]
    if desc["type"] == "releasefile":
        data = (export / desc["relpath"]).read_bytes()
        old["entrymapping"] = {
            "last_modified": mapping["last_modified"],
            "md5": hashlib.md5(data).hexdigest(),  # noqa: S324 - what devpi 2.1 recorded
        }
    elif desc["type"] == "doczip":
        old["entrymapping"] = {"last_modified": mapping["last_modified"]}  # and no hash
    return old


def _old_index(export: Path, index: dict[str, Any]) -> dict[str, Any]:
    config = dict(index["indexconfig"])
    if config["type"] == "stage":
        config["pypi_whitelist"] = config.pop("mirror_whitelist")
        config.pop("mirror_whitelist_inheritance")
        config.pop("acl_toxresult_upload")
    old: dict[str, Any] = {"indexconfig": config}
    if "projects" in index:
        old["projects"] = {}
        for name, versions in index["projects"].items():
            display = next(iter(versions.values()))["name"] if versions else name
            old["projects"][display] = versions
        old["files"] = [_old_file(export, desc) for desc in index["files"]]
    return old


def to_dump_version_1(source: Path, target: Path, legacy_users: dict[str, tuple[str, str]]) -> Path:
    """A version 1 dump of the export in ``source``, in ``target``, with users added whose
    passwords are in devpi's old hash form: ``{name: (password, salt)}``."""
    dump = copy_export(source, target)
    dump["dumpversion"] = "1"
    dump["indexes"] = {path: _old_index(target, index) for path, index in dump["indexes"].items()}
    for record in dump["users"].values():
        record.pop("created", None)
    for name, (password, salt) in legacy_users.items():
        dump["users"][name] = {
            "username": name,
            "pwsalt": salt,
            "pwhash": legacy_sha256(password, salt),
            "email": f"{name}@example.test",
        }
    write_dump(target, dump)
    return target
