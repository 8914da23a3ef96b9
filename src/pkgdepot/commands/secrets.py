"""``pkgdepot passwd USER`` and ``pkgdepot gen-secret``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pkgdepot.commands.options import check_schema, initialized, load, server_options
from pkgdepot.domain.permissions import Identity, Policy
from pkgdepot.errors import PkgdepotError


def _read_password(user: str, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            raise click.ClickException("no password on standard input (its first line is read)")
        return password
    value: str = click.prompt(f"New password for {user}", hide_input=True, confirmation_prompt=True)
    return value


@click.command("passwd")
@click.argument("user")
@server_options
@click.option(
    "--password-stdin",
    is_flag=True,
    help="read the new password from the first line of standard input, without prompting",
)
def passwd(
    user: str, config_file: Path | None, serverdir: Path | None, password_stdin: bool
) -> None:
    """Set USER's password. Their login tokens stop working at once, also on a running server."""
    from pkgdepot.app import open_store
    from pkgdepot.service.accounts import Accounts

    settings = load(config_file, serverdir)
    directory = initialized(settings)
    store = open_store(directory)
    try:
        check_schema(store.schema_is_current(), directory)
        accounts = Accounts(
            store, directory.read_secret(), settings.token_expiry, Policy(frozenset())
        )
        if store.get_user(user) is None:
            raise click.ClickException(f"no user {user!r} in {directory.root}")
        password = _read_password(user, password_stdin)
        try:
            # As the user themselves, like the API's password change: the stored hash changes,
            # and every token carries a fingerprint of the hash it was issued for.
            accounts.modify(Identity(user), user, {"password": password})
        except PkgdepotError as error:
            raise click.ClickException(error.message) from None
    finally:
        store.close()
    click.echo(f"Password of {user!r} changed; its earlier login tokens no longer work.")


@click.command("gen-secret")
@server_options
@click.option("--force", is_flag=True, help="replace an existing secret")
def gen_secret(config_file: Path | None, serverdir: Path | None, force: bool) -> None:
    """Write a new random secret (SERVERDIR/.secret, mode 0600); it signs login tokens."""
    directory = initialized(load(config_file, serverdir))
    consequence = (
        "Every login token was signed with the old one and stops working once the server "
        "restarts; a running server keeps using the old secret until it is restarted."
    )
    if directory.secret.exists() and not force:
        raise click.ClickException(f"{directory.secret} exists; --force replaces it. {consequence}")
    directory.write_new_secret()
    click.echo(f"Wrote a new secret to {directory.secret}.")
    if force:
        click.echo(f"{consequence} Restart the server now; users then log in again.")
