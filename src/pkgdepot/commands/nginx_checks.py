"""What nginx needs on this machine beyond the site file, checked where gen-config runs: the
directories nginx does not create."""

from __future__ import annotations

import shlex
from pathlib import Path


def missing_directories(cache_dir: Path, log_dir: Path) -> list[str]:
    """Warnings about directories nginx needs and will not create."""
    found = []
    if not cache_dir.parent.is_dir():
        found.append(
            f"warning: {cache_dir.parent} does not exist here, and nginx creates only the last "
            f"level of its cache directory {cache_dir}: create it first: "
            f"mkdir -p {shlex.quote(str(cache_dir.parent))}"
        )
    if not log_dir.is_dir():
        found.append(
            f"warning: nginx's log directory {log_dir} does not exist here, and nginx does not "
            f"create it: mkdir -p {shlex.quote(str(log_dir))}"
        )
    return found
