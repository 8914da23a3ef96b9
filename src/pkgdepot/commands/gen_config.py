"""``pkgdepot gen-config``: deployment files (nginx, systemd, supervisor, cron, logrotate)."""

from __future__ import annotations

import click


@click.command("gen-config")
def gen_config() -> None:
    """Write deployment files for the current settings."""
    raise click.ClickException("gen-config is not available yet")
