"""``pkgdepot export DIR`` and ``pkgdepot import DIR``: backups and migrations."""

from __future__ import annotations

import click


@click.command("export")
def export() -> None:
    """Export users, indexes, releases and files to a directory."""
    raise click.ClickException("export is not available yet")


@click.command("import")
def import_() -> None:
    """Import an export (pkgdepot's or devpi-server's) into an empty server directory."""
    raise click.ClickException("import is not available yet")
