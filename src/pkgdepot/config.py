"""One frozen ``Settings``; every field can be set by CLI flag, ``PKGDEPOT_*`` variable or TOML key.

Precedence: command line > environment > config file > default. Unknown keys are errors.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pkgdepot.domain.outside_url import BadOutsideUrl, parse_outside_url
from pkgdepot.errors import ConfigError

ENV_PREFIX = "PKGDEPOT_"
# Variables with the prefix that are not settings: the config file's name, and the settings
# a server hands to its worker processes.
_NOT_SETTINGS = frozenset({ENV_PREFIX + "CONFIG", ENV_PREFIX + "SETTINGS_JSON"})


def usable_cores() -> int:
    """The cores this process may run on (which a container or ``taskset`` may limit)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def workers_for(cores: int) -> int:
    """Half the cores, at least 1 and at most 4.

    One worker answers warm pages from its fast lane at a rate several workers add little to,
    and each one more costs a whole process's memory, plus a supervisor and multiprocessing's
    resource tracker once there are two; the other cores are left to SQLite, clients and a
    proxy in front.
    """
    return max(1, min(cores // 2, 4))


def default_workers() -> int:
    return workers_for(usable_cores())


@dataclasses.dataclass(frozen=True)
class Settings:
    serverdir: Path = dataclasses.field(
        default=Path("~/.pkgdepot/server"),
        metadata={"help": "directory holding the database, files and secrets"},
    )
    host: str = dataclasses.field(default="localhost", metadata={"help": "address to listen on"})
    port: int = dataclasses.field(default=3141, metadata={"help": "port to listen on (0: any)"})
    workers: int = dataclasses.field(
        default_factory=default_workers,
        metadata={"help": "worker processes (default: half the cores, at least 1, at most 4)"},
    )
    root_password: str | None = dataclasses.field(
        default=None,
        metadata={"help": "root's password on initialisation (default: random, shown once)"},
    )
    max_upload_size: int = dataclasses.field(
        default=2 * 1024**3, metadata={"help": "largest accepted upload request body, in bytes"}
    )
    restrict_modify: tuple[str, ...] = dataclasses.field(
        default=(),
        metadata={
            "help": "comma-separated principals who alone may create/modify users and indexes"
        },
    )
    token_expiry: int = dataclasses.field(
        default=36000, metadata={"help": "lifetime of login tokens, in seconds"}
    )
    log_level: str = dataclasses.field(
        default="info", metadata={"help": "debug, info, warning or error"}
    )
    log_format: str = dataclasses.field(
        default="text", metadata={"help": "access and server log lines: text or json"}
    )
    outside_url: str | None = dataclasses.field(
        default=None,
        metadata={
            "help": "URL clients reach the server at, e.g. https://example.test/pkgs "
            "(default: from each request)"
        },
    )
    trusted_proxy: tuple[str, ...] = dataclasses.field(
        default=(),
        metadata={
            "help": "comma-separated proxy addresses whose X-Forwarded-Proto/-Host are believed"
        },
    )
    unix_socket: Path | None = dataclasses.field(
        default=None, metadata={"help": "listen on this unix socket instead of host and port"}
    )
    mirror_url: str | None = dataclasses.field(
        default=None,
        metadata={"help": "upstream simple index of root/pypi (default: the index pip uses here)"},
    )
    request_timeout: float = dataclasses.field(
        default=5.0, metadata={"help": "seconds to wait for an upstream answer"}
    )
    push_timeout: float = dataclasses.field(
        default=300.0,
        metadata={"help": "seconds a push to another repository may wait for each answer"},
    )
    upstream_retries: int = dataclasses.field(
        default=2, metadata={"help": "retries of a failed upstream request before it counts"}
    )
    offline_mode: bool = dataclasses.field(
        default=False,
        metadata={"help": "never contact upstreams: mirrors serve only what is cached"},
    )
    shutdown_timeout: int = dataclasses.field(
        default=30,
        metadata={"help": "seconds requests in flight get to finish after SIGTERM"},
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "serverdir", Path(self.serverdir).expanduser().absolute())
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, not {self.port}")
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, not {self.workers}")
        if self.max_upload_size < 1:
            raise ConfigError("max_upload_size must be positive")
        if self.token_expiry < 1:
            raise ConfigError("token_expiry must be positive")
        if not self.request_timeout > 0:
            raise ConfigError(f"request_timeout must be positive, not {self.request_timeout}")
        if not self.push_timeout > 0:
            raise ConfigError(f"push_timeout must be positive, not {self.push_timeout}")
        if self.shutdown_timeout < 0:
            raise ConfigError(f"shutdown_timeout must be 0 or more, not {self.shutdown_timeout}")
        if self.upstream_retries < 0:
            raise ConfigError(f"upstream_retries must be 0 or more, not {self.upstream_retries}")
        if self.log_format not in {"text", "json"}:
            raise ConfigError(f"log_format must be text or json, not {self.log_format!r}")
        if self.outside_url is not None:
            try:
                parse_outside_url(self.outside_url)
            except BadOutsideUrl as error:
                raise ConfigError(f"outside_url {error}") from None
        for entry in self.trusted_proxy:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(
                    f"trusted_proxy must list IP addresses or networks, not {entry!r}"
                ) from None
        if self.log_level not in {"debug", "info", "warning", "error"}:
            raise ConfigError(
                f"log_level must be debug, info, warning or error, not {self.log_level!r}"
            )

    def to_mapping(self) -> dict[str, Any]:
        """Plain values that ``load_settings`` turns back into equal settings."""
        values = dataclasses.asdict(self)
        values["serverdir"] = str(self.serverdir)
        values["restrict_modify"] = list(self.restrict_modify)
        values["trusted_proxy"] = list(self.trusted_proxy)
        values["unix_socket"] = None if self.unix_socket is None else str(self.unix_socket)
        return values


FIELDS = {field.name: field for field in dataclasses.fields(Settings)}


def field_kind(name: str) -> type:
    """The plain type a setting holds: str, int, float, bool, Path or tuple (of str)."""
    annotation = str(FIELDS[name].type)
    for kind in (int, float, bool, Path, tuple):
        if annotation.startswith(kind.__name__):
            return kind
    return str


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _as_bool(name: str, value: object, origin: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f"{origin}: {name} must be true or false, not {value!r}")


def _coerce(name: str, value: object, origin: str) -> object:
    kind = field_kind(name)
    if kind is bool:
        return _as_bool(name, value, origin)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ConfigError(f"{origin}: {name} must be a number, not {value!r}")
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{origin}: {name} must be a number, not {value!r}") from None
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ConfigError(f"{origin}: {name} must be an integer, not {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{origin}: {name} must be an integer, not {value!r}") from None
    if kind is tuple:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            return tuple(value)
        raise ConfigError(f"{origin}: {name} must be a list of strings, not {value!r}")
    if kind is Path and isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{origin}: {name} must be a string, not {value!r}")
    return Path(value) if kind is Path else value


def _check_keys(
    values: Mapping[str, object], origin: str, spell: Callable[[str], str] = str
) -> None:
    """Refuse unknown keys, naming each as the user spelled it (``spell`` turns a key back)."""
    unknown = sorted(spell(key) for key in values if key not in FIELDS)
    if unknown:
        raise ConfigError(f"{origin}: unknown setting(s): {', '.join(unknown)}")


def read_config_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    # Accept both a flat file and one with a [pkgdepot] table.
    section = data.get("pkgdepot", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [pkgdepot] must be a table")
    return {key.replace("-", "_"): value for key, value in section.items()}


def environment_values(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``PKGDEPOT_*`` variables, minus ``PKGDEPOT_CONFIG`` which names the file itself."""
    return {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and key not in _NOT_SETTINGS
    }


def load_settings(
    cli: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(environ[ENV_PREFIX + "CONFIG"])
    merged: dict[str, object] = {}
    if config_file is not None:
        file_values = read_config_file(config_file)
        _check_keys(file_values, f"config file {config_file}")
        merged.update(
            {k: _coerce(k, v, f"config file {config_file}") for k, v in file_values.items()}
        )
    env_values = environment_values(environ)
    _check_keys(env_values, "environment", spell=lambda key: ENV_PREFIX + key.upper())
    for key, value in env_values.items():
        merged[key] = _coerce(key, value, f"environment {ENV_PREFIX}{key.upper()}")
    cli_values = {k: v for k, v in (cli or {}).items() if v is not None}
    _check_keys(cli_values, "command line")
    merged.update({k: _coerce(k, v, "command line") for k, v in cli_values.items()})
    try:
        return Settings(**merged)  # type: ignore[arg-type]
    except TypeError as error:
        raise ConfigError(str(error)) from None
