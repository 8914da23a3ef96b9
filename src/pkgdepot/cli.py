"""The ``pkgdepot`` command: ``init`` and ``serve`` here, the others in ``commands/``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pkgdepot import __version__
from pkgdepot.commands import fsck, gen_config, secrets, transfer
from pkgdepot.commands.options import setting_options
from pkgdepot.config import FIELDS, Settings, load_settings
from pkgdepot.errors import ConfigError

if TYPE_CHECKING:
    from pkgdepot.app import Initialized

# httpx imports its own command line (rich and pygments: 3 MB, 60 ms) whenever those happen to
# be installed; pkgdepot never runs it, and httpx does without it when the import fails.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


SERVE_SETTINGS = tuple(FIELDS)
INIT_SETTINGS = ("serverdir", "root_password", "mirror_url")


def _settings(config_file: Path | None, values: dict[str, Any]) -> Settings:
    try:
        return load_settings(values, config_file=config_file)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


def _announce(settings: Settings, done: Initialized) -> None:
    if done.generated_password is not None:
        click.echo(
            f"Created user 'root' with password: {done.generated_password}\n"
            f"(shown once; also in {settings.serverdir / 'root-password.txt'}, mode 0600)"
        )


def _initialize(settings: Settings) -> Initialized:
    from pkgdepot.app import initialize

    try:
        done = initialize(settings)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    _announce(settings, done)
    return done


def _initialize_in_child(settings: Settings) -> None:
    """``_initialize`` in a forked child, so the server never holds what only initialising
    needs: Alembic (about 8 MB, imported for a migration) and the 7 MiB that hashing root's
    password takes for a moment. The child exits with the status ``init`` would."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child
        status = 1
        try:
            _initialize(settings)
            status = 0
        except click.ClickException as error:
            error.show()
            status = error.exit_code
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    status = os.waitstatus_to_exitcode(wait_status)
    if status != 0:
        sys.exit(status)


@click.group()
@click.version_option(__version__, prog_name="pkgdepot")
def main() -> None:
    """pkgdepot: a private and caching Python package index server."""


@main.command()
@setting_options(INIT_SETTINGS)
def init(config_file: Path | None, **values: Any) -> None:
    """Initialise a server directory: database, secret, and the root user."""
    settings = _settings(config_file, values)
    if _initialize(settings).created:
        click.echo(f"Server directory ready: {settings.serverdir}")
    else:
        click.echo(f"Server directory already initialised, left as it was: {settings.serverdir}")


@main.command()
@setting_options(SERVE_SETTINGS)
def serve(config_file: Path | None, **values: Any) -> None:
    """Serve the indexes (initialising an empty server directory first)."""
    settings = _settings(config_file, values)
    from pkgdepot.app import SETTINGS_VARIABLE, prepare_to_serve
    from pkgdepot.web import metrics
    from pkgdepot.web.server import bind, bind_unix, remove_socket_file, run, socket_file_id

    _initialize_in_child(settings)
    prepare_to_serve(settings)
    unix_socket = settings.unix_socket
    where = str(unix_socket) if unix_socket else f"{settings.host}:{settings.port}"
    try:
        sock = bind_unix(unix_socket) if unix_socket else bind(settings.host, settings.port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {where}: {error.strerror}") from None
    metrics.use_directory(metrics.directory_of(settings.serverdir))
    if unix_socket:
        address = f"unix:{unix_socket}"
        bound = socket_file_id(unix_socket)
    else:
        host, port = sock.getsockname()[:2]
        address = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    os.environ[SETTINGS_VARIABLE] = json.dumps(settings.to_mapping())
    click.echo(
        f"pkgdepot {__version__} serving on {address} "
        f"({settings.workers} worker{'s' if settings.workers > 1 else ''})"
    )
    sys.stdout.flush()
    try:
        run(sock, settings)
    finally:
        if unix_socket:
            remove_socket_file(unix_socket, bound)


for command in (
    gen_config.gen_config,
    transfer.export,
    transfer.import_,
    fsck.fsck,
    secrets.passwd,
    secrets.gen_secret,
):
    main.add_command(command)


if __name__ == "__main__":
    main()
