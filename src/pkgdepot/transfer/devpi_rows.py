"""How the values in a devpi-server dump (``dataindex.json``) become pkgdepot's export rows.

Pure functions, no file access: users and their password hashes, index configs, the versions
devpi's first dump format left out, file hashes and timestamps.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Callable, Mapping
from typing import Any

import argon2
from packaging.utils import canonicalize_name

from pkgdepot import archives, legacy_archives
from pkgdepot.domain import bodies, indexconfig
from pkgdepot.domain.names import short_list, short_repr
from pkgdepot.errors import InvalidInput
from pkgdepot.service.accounts import LEGACY_SHA256_PREFIX, USER_KEYS
from pkgdepot.transfer.source import ExportError

Warn = Callable[[str], None]
EPOCH = "1970-01-01T00:00:00Z"  # what devpi gives users that have no creation time
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Keys devpi keeps in a user record that are not user settings.
_USER_RECORD_KEYS = {"username", "pwhash", "pwsalt", "created", "modified", "indexes"}
# Archive suffixes, longest first, for the versions dump version 1 did not write down.
_SUFFIXES = (".doc.zip", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip", ".whl", ".egg")


class DevpiExportError(ExportError):
    """The directory is not a devpi-server export pkgdepot can read."""


# users


def user_pwhash(name: str, record: Mapping[str, Any], warn: Warn) -> str | None:
    """devpi's hash as pkgdepot stores it: argon2 as it is; the salted SHA-256 of devpi-server
    before 5.0 (``pwsalt`` beside ``pwhash``, or ``salt:hash``) as ``devpi-sha256$salt$hex``."""
    pwhash = record.get("pwhash")
    if not pwhash:
        return None
    salt = record.get("pwsalt")
    if isinstance(pwhash, str) and not salt and ":" in pwhash and not pwhash.startswith("$"):
        salt, pwhash = pwhash.split(":", 1)
    if isinstance(pwhash, str) and pwhash.startswith("$argon2") and not salt:
        return pwhash
    legacy = isinstance(salt, str) and "$" not in salt and isinstance(pwhash, str)
    if legacy and _HEX64.match(str(pwhash).lower()):
        return f"{LEGACY_SHA256_PREFIX}{salt}${str(pwhash).lower()}"
    warn(
        f"user {name!r}: the password hash is in a form pkgdepot does not know; "
        f"set a new password with 'pkgdepot passwd {name}'"
    )
    return None


def _has_empty_password(pwhash: str) -> bool:
    try:
        return argon2.PasswordHasher().verify(pwhash, "")
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def user_row(name: str, record: Mapping[str, Any], warn: Warn) -> dict[str, Any]:
    unknown = sorted(set(record) - _USER_RECORD_KEYS - set(USER_KEYS))
    if unknown:
        warn(f"user {name!r}: dropped settings pkgdepot does not have: {short_list(unknown)}")
    config = {key: record[key] for key in USER_KEYS if record.get(key) not in (None, "")}
    for key, why in sorted(bodies.invalid_fields(bodies.UserFields, config).items()):
        warn(f"user {name!r}: dropped a setting: {why}")
        del config[key]
    created = record.get("created") or EPOCH
    pwhash = user_pwhash(name, record, warn)
    if name == "root" and pwhash and pwhash.startswith("$argon2") and _has_empty_password(pwhash):
        warn(
            "user 'root' has an empty password (devpi-init's default): set one with "
            "'pkgdepot passwd root'"
        )
    return {
        "name": name,
        "pwhash": pwhash,
        "config": config,
        "created": created,
        "modified": record.get("modified") or created,
    }


# indexes


def _renamed(config: Mapping[str, Any]) -> dict[str, Any]:
    """The renames and leftovers devpi-server's own importer takes care of."""
    given = dict(config)
    if "pypi_whitelist" in given:  # renamed in devpi-server 3.0
        whitelist = given.pop("pypi_whitelist")
        given.setdefault("mirror_whitelist", whitelist)
    if not given.get("uploadtrigger_jenkins", True):  # never set: no plugin needed
        del given["uploadtrigger_jenkins"]
    if given.get("type") == "mirror" and not given.get("bases"):
        given.pop("bases", None)  # old devpi versions gave mirrors empty bases
    if given.get("type") == "stage":
        # devpi treats a stage without this key (made before the key existed) as "union"
        given.setdefault("mirror_whitelist_inheritance", "union")
    return given


def index_config(path: str, config: Mapping[str, Any], warn: Warn) -> dict[str, Any] | None:
    """The index config pkgdepot keeps, or None (with a warning) for an index it cannot have.

    Settings pkgdepot does not have (devpi plugins', ``mirror_web_url_fmt``) and values it
    refuses are dropped, each with a warning; the default takes their place.
    """
    owner = path.split("/", 1)[0]
    given = _renamed(config)
    index_type = given.get("type")
    if index_type not in indexconfig.KNOWN_TYPES:
        warn(
            f"index {path}: skipped, its type {short_repr(index_type)} comes from a devpi "
            "plugin (pkgdepot has stage and mirror indexes)"
        )
        return None
    known = set(indexconfig.DEFAULTS[index_type]) | set(indexconfig.FREE_KEYS)
    unknown = sorted(set(given) - known)
    if unknown:
        warn(f"index {path}: dropped settings pkgdepot does not have: {short_list(unknown)}")
    kept: dict[str, Any] = {"type": index_type}
    if index_type == "mirror":
        try:
            kept["mirror_url"] = indexconfig.check_mirror_url(given.get("mirror_url"))
        except InvalidInput as error:
            warn(f"index {path}: skipped, {error.message}")
            return None
    for key in sorted(known & set(given) - set(kept)):
        try:
            indexconfig.new_index_config(owner, {**kept, key: given[key]})
        except InvalidInput as error:
            warn(f"index {path}: dropped the setting {key}={short_repr(given[key])}: {error}")
            continue
        kept[key] = given[key]
    return indexconfig.new_index_config(owner, kept)


# files


def version_from_filename(project: str, filename: str) -> str | None:
    """The version in a release file's or doc zip's name (dump version 1 did not record it)."""
    suffix = next((s for s in _SUFFIXES if filename.endswith(s)), None)
    legacy = legacy_archives.version_in(filename, project)
    if suffix is None or (legacy and not _is_sdist(filename)):
        return legacy
    stem = filename[: -len(suffix)]
    if suffix in (".whl", ".egg"):
        parts = stem.split("-")
        return parts[1] if len(parts) > 1 else None
    for at, char in enumerate(stem):
        if char == "-" and canonicalize_name(stem[:at]) == project:
            return stem[at + 1 :] or None
    return None


def _is_sdist(filename: str) -> bool:
    return archives.packagetype(filename)[1] == "sdist"


def declared_sha256(entrymapping: Mapping[str, Any]) -> str | None:
    """The sha256 devpi recorded for a file, if it recorded one (old dumps have only md5)."""
    hashes = entrymapping.get("hashes")
    candidates = [hashes.get("sha256")] if isinstance(hashes, Mapping) else []
    spec = entrymapping.get("hash_spec")
    if isinstance(spec, str) and spec.startswith("sha256="):
        candidates.append(spec.removeprefix("sha256="))
    for candidate in candidates:
        if isinstance(candidate, str) and _HEX64.match(candidate.lower()):
            return candidate.lower()
    return None


def upload_time(entrymapping: Mapping[str, Any], log: list[dict[str, Any]]) -> str | None:
    """ISO 8601 UTC, from the file's ``last_modified`` or else its first log entry."""
    stamp = entrymapping.get("last_modified")
    if isinstance(stamp, str):
        try:
            moment = email.utils.parsedate_to_datetime(stamp)
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for entry in log:
        when = entry.get("when")
        if isinstance(when, list) and len(when) == 6 and all(isinstance(x, int) for x in when):
            return "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*when)
    return None


def log_entries(value: object) -> list[dict[str, Any]]:
    """devpi's history of a file (``upload``, ``push``, ``overwrite`` entries), as it is."""
    if not isinstance(value, list):
        return []
    return [dict(entry) for entry in value if isinstance(entry, Mapping)]


def release_metadata(name: str, version: str, versiondata: Mapping[str, Any]) -> dict[str, Any]:
    """A version's metadata without devpi's internal ``+`` and ``:`` keys."""
    metadata = {k: v for k, v in versiondata.items() if not k.startswith(("+", ":"))}
    metadata.setdefault("name", name)
    metadata["version"] = metadata.get("version") or version
    return metadata


def yanked(versiondata: Mapping[str, Any]) -> str | None:
    """PEP 592 as pkgdepot stores it: None, "" (yanked, no reason) or the reason."""
    value = versiondata.get("yanked")
    if value is None or value is False:
        return None
    return value if isinstance(value, str) else ""
