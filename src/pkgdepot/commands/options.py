"""What the commands share: one ``--flag`` per setting (``serve``, ``gen-config``), or just
``--serverdir`` and ``--config`` and opening the server directory they work on (which must be
initialised, its database up to date)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pkgdepot.config import FIELDS, Settings, field_kind, load_settings
from pkgdepot.errors import ConfigError
from pkgdepot.serverdir import ServerDir

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="TOML file of settings [env: PKGDEPOT_CONFIG]",
)


def setting_options(names: tuple[str, ...]) -> Callable[[F], F]:
    """One ``--flag`` per setting, generated from ``Settings`` so the two cannot drift."""

    def decorate(function: F) -> F:
        for name in reversed(names):
            kind = field_kind(name)
            help_text = FIELDS[name].metadata.get("help", "")
            flag = "--" + name.replace("_", "-")
            help_text = f"{help_text} [env: PKGDEPOT_{name.upper()}]"
            if kind is bool:
                option = click.option(flag, name, is_flag=True, default=None, help=help_text)
            else:
                click_type: Any = {int: int, float: float, Path: click.Path(path_type=Path)}.get(
                    kind, str
                )
                option = click.option(flag, name, type=click_type, default=None, help=help_text)
            function = option(function)
        return config_option(function)

    return decorate


def server_options(function: F) -> F:
    """``--serverdir`` and ``--config``, read like ``serve`` reads them (flag > env > TOML)."""
    function = click.option(
        "--serverdir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="server directory [env: PKGDEPOT_SERVERDIR]",
    )(function)
    return config_option(function)


def load(config_file: Path | None, serverdir: Path | None) -> Settings:
    try:
        return load_settings({"serverdir": serverdir}, config_file=config_file)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


def initialized(settings: Settings) -> ServerDir:
    """The settings' server directory; an error unless ``init`` (or ``serve``) set it up."""
    directory = ServerDir(settings.serverdir)
    if not directory.is_initialized():
        raise click.ClickException(
            f"{directory.root} is not a pkgdepot server directory "
            "(create one with 'pkgdepot init', or give --serverdir)"
        )
    return directory


def check_schema(schema_is_current: bool, directory: ServerDir) -> None:
    if not schema_is_current:
        raise click.ClickException(
            f"the database in {directory.root} needs an upgrade first: "
            "run 'pkgdepot init' with this pkgdepot version"
        )
