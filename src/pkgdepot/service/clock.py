"""Timestamps in the formats devpi's clients read."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_seconds(moment: dt.datetime) -> str:
    """``2026-11-25T18:09:42Z``: what user configs and PEP 700 ``upload-time`` show."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def log_when(moment: dt.datetime) -> list[int]:
    """devpi's ``[Y, M, D, h, m, s]`` in release-file log entries."""
    return [moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second]
