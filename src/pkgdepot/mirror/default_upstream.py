"""The default upstream of the root/pypi mirror: whatever index pip uses on this machine.

Read at runtime, in pip's own order: ``PIP_INDEX_URL``, then pip's configuration files, then
pip's built-in default. No index host name is written in pkgdepot's own files.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from pkgdepot.errors import ConfigError

# pip reads the "install" section over "global" for `pip install`; we follow that.
_SECTIONS = ("install", "global")


def default_upstream_url() -> str:
    """The simple index URL pip would install from here (credentials included if set)."""
    from_environment = os.environ.get("PIP_INDEX_URL")
    if from_environment:
        return from_environment
    configured = _from_pip_configuration()
    if configured is None:
        configured = from_config_files(config_file_locations(os.environ))
    return configured or _pip_builtin_default()


def _from_pip_configuration() -> str | None:
    """Ask pip's own configuration loader; None if pip or its internals are not usable."""
    try:
        from pip._internal.configuration import Configuration
        from pip._internal.exceptions import ConfigurationError

        configuration = Configuration(isolated=False)
        configuration.load()
        for section in _SECTIONS:
            try:
                value = configuration.get_value(f"{section}.index-url")
            except ConfigurationError:
                continue
            if isinstance(value, str) and value:
                return value
    except Exception:  # pip internals may change: fall back to reading the files ourselves
        return None
    return ""  # pip was asked and has no setting: do not second-guess it with our own reading


def config_file_locations(environ: Mapping[str, str]) -> list[Path]:
    """pip's configuration files on POSIX, lowest precedence first."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    xdg_dirs = environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
    home = Path(environ.get("HOME", str(Path.home())))
    xdg_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    files = [Path(directory) / "pip" / "pip.conf" for directory in reversed(xdg_dirs)]
    files.append(Path("/etc/pip.conf"))
    if not (env_file and Path(env_file).exists()):
        files += [home / ".pip" / "pip.conf", xdg_home / "pip" / "pip.conf"]
    files.append(Path(sys.prefix) / "pip.conf")
    if env_file:
        files.append(Path(env_file))
    return files


def from_config_files(files: Iterable[Path]) -> str | None:
    """The ``index-url`` of the last file that sets one (later files override earlier ones)."""
    found: str | None = None
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        for section in _SECTIONS:
            if parser.has_option(section, "index-url"):
                found = parser.get(section, "index-url").strip() or found
                break
    return found


def _pip_builtin_default() -> str:
    try:
        from pip._internal.models.index import PyPI
    except ImportError:
        raise ConfigError(
            "no upstream configured and pip is not installed: set --mirror-url"
        ) from None
    url: str = PyPI.simple_url
    return url
