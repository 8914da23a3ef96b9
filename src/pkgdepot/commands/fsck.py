"""``pkgdepot fsck``: every stored file checked against its sha256."""

from __future__ import annotations

import click


@click.command("fsck")
def fsck() -> None:
    """Check every stored file against its sha256."""
    raise click.ClickException("fsck is not available yet")
