"""``pkgdepot fsck``: every stored file checked against its sha256, and repairs.

The checks and repairs are ``service/integrity.py`` and ``service/integrity_repair.py``; this
module reads the options, shows progress and prints what was found and done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pkgdepot.commands.options import check_schema, initialized, load, server_options

if TYPE_CHECKING:  # imported when the command runs: every other command starts faster
    from pkgdepot.service.config_check import ConfigProblem
    from pkgdepot.service.container import Services
    from pkgdepot.service.integrity import Advance, Checker, Damage, Leftover, Report
    from pkgdepot.service.integrity_repair import Outcome

ORPHAN_GRACE_SECONDS = 3600  # younger orphans may belong to an upload still being committed


def format_size(size: int) -> str:
    """1536 -> '1.5 KiB'."""
    if size < 1024:
        return count(size, "byte")
    value = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def count(number: int, word: str) -> str:
    """count(2, "blob") -> '2 blobs'."""
    return f"{number} {word}{'s' * (number != 1)}"


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Advance]:
    """A progress bar with byte counts on a terminal; nothing otherwise."""
    if total == 0 or not sys.stderr.isatty():
        yield lambda size: None
        return

    def shown(done: int | None) -> str:
        return f"{format_size(done or 0)} of {format_size(total)}"

    with click.progressbar(
        length=total, label="Checking", file=sys.stderr, item_show_func=shown
    ) as bar:
        done = 0

        def advance(size: int) -> None:
            nonlocal done
            done += size
            bar.update(size, done)

        yield advance


def _damage_lines(damage: Damage) -> Iterator[str]:
    for reference in damage.references:
        where = f"{reference.index}  {reference.relpath} ({reference.what})"
        yield f"{damage.state.upper():8} {where}"
    yield f"         {damage.detail}"


def _leftovers(title: str, items: tuple[Leftover, ...], hint: str) -> None:
    if items:
        total = format_size(sum(item.size for item in items))
        click.echo(f"{title}: {len(items)} ({total}){hint}")
        for item in items:
            click.echo(f"  {item.path} ({format_size(item.size)})")


def _print_report(report: Report, remove_orphans: bool) -> None:
    click.echo(
        f"Checked {count(report.files, 'file')}: "
        f"{count(report.blobs, 'blob')}, {format_size(report.bytes)}."
    )
    if report.skipped:
        click.echo(f"{count(report.skipped, 'fetched mirror file')} not checked (--skip-mirrored).")
    for damage in report.damage:
        for line in _damage_lines(damage):
            click.echo(line)
    hint = "" if remove_orphans else "; --remove-orphans deletes them"
    _leftovers("Orphaned blobs (no file needs them)", report.orphans, hint)
    _leftovers("Unpacked doc trees of deleted doc zips", report.stale_docs, hint)


def _print_outcome(outcome: Outcome) -> None:
    from pkgdepot.service import integrity_repair as done

    sha256 = outcome.damage.sha256
    said = {
        done.RESTORED: "REPAIRED {}",
        done.UNCACHED: "UNCACHED {}: marked not cached; its next download fetches it",
        done.ON_DEMAND: "LATER    {}: its core metadata is fetched again when asked for",
        done.GONE: "GONE     {}: deleted meanwhile",
        done.LOST: (
            "LOST     {}: uploaded here, so it cannot be repaired: restore its blob "
            f"{sha256} from a backup, or delete the file and upload it again"
        ),
    }
    if outcome.quarantined is not None:
        click.echo(f"Blob {sha256} was corrupt: moved to {outcome.quarantined}")
    if outcome.restored_by is not None:
        click.echo(f"Blob {sha256} {outcome.restored_by}, sha256 verified")
    for problem in outcome.problems:
        click.echo(f"  could not restore it: {problem}")
    for reference, result in outcome.results:
        click.echo(said[result].format(f"{reference.index}  {reference.relpath}"))


def _print_config_problems(problems: list[ConfigProblem], repaired: bool) -> None:
    word = "RESET   " if repaired else "CONFIG  "
    for problem in problems:
        click.echo(f"{word} {problem.owner}: {problem.why}")
    if problems and not repaired:
        click.echo(
            f"{count(len(problems), 'stored setting')} fail validation (ignored when "
            "answering); --repair resets them to their defaults."
        )


def _repair(services: Services, quarantine: Path, report: Report) -> list[Outcome]:
    from pkgdepot.service.integrity_repair import Repairer

    repairer = Repairer(services.store, services.blobs, services.mirror_files, quarantine)
    logging.getLogger("pkgdepot").addHandler(logging.NullHandler())  # problems are shown

    async def run() -> list[Outcome]:
        try:
            return await repairer.repair(report.damage)
        finally:
            await services.upstreams.aclose()

    return asyncio.run(run())


def _remove(checker: Checker, report: Report) -> None:
    used_before = time.time() - ORPHAN_GRACE_SECONDS
    removed = checker.remove_orphans(report.orphans, used_before)
    if removed:
        size = format_size(sum(item.size for item in removed))
        click.echo(f"Removed {count(len(removed), 'orphaned blob')} ({size}).")
    kept = len(report.orphans) - len(removed)
    if kept:
        click.echo(
            f"Kept {count(kept, 'orphaned blob')} used within the last hour "
            "(an upload may be about to need it)."
        )
    trees = checker.remove_doc_trees(report.stale_docs)
    if trees:
        click.echo(f"Removed {count(len(trees), 'unpacked doc tree')}.")


@click.command("fsck")
@server_options
@click.option(
    "--skip-mirrored",
    is_flag=True,
    help="leave out the files mirror indexes fetched from their upstreams",
)
@click.option(
    "--repair",
    is_flag=True,
    help="fetch damaged mirror files again (or mark them not cached), re-extract wheel "
    "metadata, move corrupt blobs to SERVERDIR/+quarantine, and reset stored settings that "
    "fail validation to their defaults",
)
@click.option(
    "--remove-orphans",
    is_flag=True,
    help="delete blobs no file needs (unless used within the last hour) and unpacked doc "
    "trees of deleted doc zips",
)
def fsck(
    config_file: Path | None,
    serverdir: Path | None,
    skip_mirrored: bool,
    repair: bool,
    remove_orphans: bool,
) -> None:
    """Check every stored file against its sha256, and every user's and index's settings
    against today's rules.

    Missing and corrupt files are listed with their index and path, refused settings with
    their user or index; the exit status is 1 if there are any (with --repair: if any could
    not be repaired). Only reads, unless --repair or --remove-orphans is given; safe while
    the server runs.
    """
    from pkgdepot.app import open_services
    from pkgdepot.service import config_check
    from pkgdepot.service.integrity import Checker

    settings = load(config_file, serverdir)
    directory = initialized(settings)
    services = open_services(settings)
    try:
        check_schema(services.store.schema_is_current(), directory)
        checker = Checker(services.store, services.blobs, directory.docs)
        plan = checker.plan(include_mirrored=not skip_mirrored)
        with _progress(plan.total_bytes) as advance:
            checker.verify(plan, advance)
        report = checker.report(plan)
        _print_report(report, remove_orphans)
        settings_problems = (config_check.reset if repair else config_check.find)(services.store)
        _print_config_problems(settings_problems, repaired=repair)
        outcomes = _repair(services, directory.quarantine, report) if repair else []
        for outcome in outcomes:
            _print_outcome(outcome)
        if remove_orphans:
            _remove(checker, report)
    finally:
        services.store.close()
    damaged = len(report.damage)
    if not damaged:
        if settings_problems and not repair:
            sys.exit(1)
        click.echo("No damaged files." if settings_problems else "No damage found.")
        return
    if repair:
        left = sum(not outcome.repaired for outcome in outcomes)
        click.echo(
            f"{count(damaged, 'damaged blob')}: {damaged - left} repaired, {left} not repairable."
        )
        if left:
            sys.exit(1)
        return
    click.echo(f"{count(damaged, 'damaged blob')}; --repair repairs what can be repaired.")
    sys.exit(1)
