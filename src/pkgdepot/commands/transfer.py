"""``pkgdepot export DIR`` and ``pkgdepot import DIR``: backups and migrations."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pkgdepot.commands.options import load, server_options

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

DIRECTORY = click.Path(file_okay=False, path_type=Path)
TABLES = ("users", "indexes", "projects", "releases", "files")


class TerminalProgress:
    """A progress bar on stderr when it is a terminal (nothing otherwise), redrawn at most ten
    times a second however many rows go by."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._stack = ExitStack()
        self._bar: ProgressBar[int] | None = None
        self._pending = 0
        self._drawn = 0.0

    def begin(self, total: int) -> None:
        if sys.stderr.isatty():
            bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr)
            self._bar = self._stack.enter_context(bar)

    def advance(self, done: int) -> None:
        if self._bar is None:
            return
        self._pending += done
        now = time.monotonic()
        if now - self._drawn >= 0.1:
            self._bar.update(self._pending)
            self._pending, self._drawn = 0, now

    def close(self) -> None:
        if self._bar is not None:
            self._bar.update(self._pending)
        self._stack.close()


def _rows(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {counts.get(table, 0)}" for table in TABLES)


@click.command("export")
@click.argument("directory", type=DIRECTORY)
@server_options
@click.option(
    "--include-mirrored-files",
    is_flag=True,
    help="also export the bytes of files cached from mirrors (else fetched again later)",
)
def export(
    directory: Path, config_file: Path | None, serverdir: Path | None, include_mirrored_files: bool
) -> None:
    """Export users, indexes, releases and files to a new or empty DIRECTORY.

    The server may keep running: the export shows it as it was when the export began.
    """
    from pkgdepot.transfer.export import export_server
    from pkgdepot.transfer.source import ExportError

    settings = load(config_file, serverdir)
    progress = TerminalProgress("Exporting")
    try:
        done = export_server(
            settings, directory, include_mirrored_files=include_mirrored_files, progress=progress
        )
    except ExportError as error:
        raise click.ClickException(error.message) from None
    finally:
        progress.close()
    blobs = done.counts["blobs"]
    click.echo(
        f"Exported {_rows(done.counts)}, blobs {blobs} ({done.linked} hard-linked) "
        f"at serial {done.serial} to {directory}"
    )


@click.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@server_options
def import_(directory: Path, config_file: Path | None, serverdir: Path | None) -> None:
    """Import an export (pkgdepot's or devpi-server's) into a new or empty server directory.

    Every file's sha256 is checked on the way; on any error nothing is imported.
    """
    from pkgdepot.transfer.directory import open_export
    from pkgdepot.transfer.importer import import_source
    from pkgdepot.transfer.source import ExportError

    settings = load(config_file, serverdir)
    progress = TerminalProgress("Importing")
    try:
        source = open_export(directory)
        done = import_source(settings, source, progress)
    except ExportError as error:
        raise click.ClickException(f"{error.message} (nothing was imported)") from None
    finally:
        progress.close()
    for dropped in done.dropped_bases:
        click.echo(f"dropped the base of {dropped}: not in the export", err=True)
    links = done.counts.get("links", 0)
    later = f"; {links} mirrored files without their bytes: fetched when asked for" if links else ""
    click.echo(
        f"Imported {_rows(done.counts)}, blobs {done.counts.get('blobs', 0)} "
        f"into {done.serverdir}{later}"
    )
    password = done.initialized.generated_password
    if password is not None:
        click.echo(
            f"The export has no user 'root': created it with password: {password}\n"
            f"(shown once; also in {done.serverdir / 'root-password.txt'}, mode 0600)"
        )
