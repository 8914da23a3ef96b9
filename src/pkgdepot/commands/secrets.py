"""``pkgdepot passwd USER`` and ``pkgdepot gen-secret``."""

from __future__ import annotations

import click


@click.command("passwd")
def passwd() -> None:
    """Set a user's password."""
    raise click.ClickException("passwd is not available yet")


@click.command("gen-secret")
def gen_secret() -> None:
    """Write a new secret (signs login tokens)."""
    raise click.ClickException("gen-secret is not available yet")
