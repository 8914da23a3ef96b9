"""The run's one table (stdout) and the same as JSON: figures, ratios, targets, the machine,
the versions, the date and the exact command."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from benchmarks.context import CEILING, OURS
from benchmarks.model import Figure
from benchmarks.targets import PEERS, Outcome, evaluate, ratio

COLUMNS = (OURS, *PEERS, CEILING)
SHORT = {"devpi-server": "devpi", "proxpi": "proxpi", "pypiserver": "pypisrv", CEILING: CEILING}


@dataclasses.dataclass(frozen=True)
class Row:
    workload: str
    metric: str
    values: dict[str, float]  # server -> figure
    ratios: dict[str, float]  # peer -> ratio, > 1 better for pkgdepot
    errors: int
    targets: list[Outcome]


def rows(figures: list[Figure], outcomes: list[Outcome]) -> list[Row]:
    """One row per workload and metric, in the order they were measured."""
    keys: dict[tuple[str, str], list[Figure]] = {}
    for figure in figures:
        keys.setdefault((figure.workload, figure.metric), []).append(figure)
    found = []
    for (workload, metric), group in keys.items():
        values = {f.server: f.value for f in group}
        better = group[0].better
        ratios = {}
        if OURS in values:
            for server, value in values.items():
                if server != OURS:
                    oriented = ratio(values[OURS], value, better)
                    if oriented is not None:
                        ratios[server] = oriented
        targets = [o for o in outcomes if (o.workload, o.metric) == (workload, metric)]
        errors = sum(f.errors for f in group)
        found.append(Row(workload, metric, values, ratios, errors, targets))
    return found


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1 or value == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _verdict(outcome: Outcome) -> str:
    """e.g. ">= 10x devpi's req/s: met (12.3x)": pkgdepot's figure over the peer's, or its own
    figure for an absolute bound."""
    mark = "met" if outcome.met else "MISSED"
    short = outcome.target.split(": ", 1)[-1]
    figure = _number(outcome.plain) + ("x" if outcome.peer else "")
    return f"{short}: {mark} ({figure})"


def table(all_rows: list[Row]) -> str:
    servers = [s for s in COLUMNS if any(s in r.values for r in all_rows)]
    peers = [s for s in servers if s != OURS]
    head = ["workload", "metric", *servers, *(f"x{SHORT[p]}" for p in peers), "errors", "targets"]
    lines = [head]
    for row in all_rows:
        cells = [row.workload, row.metric]
        cells += [_number(row.values.get(s)) for s in servers]
        cells += [_number(row.ratios.get(p)) for p in peers]
        cells.append(str(row.errors))
        cells.append("; ".join(_verdict(o) for o in row.targets))
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head) - 1)]
    text = []
    for n, line in enumerate(lines):
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=False))
        ]
        text.append("  ".join([*cells, line[-1]]).rstrip())
        if n == 0:
            text.append("-" * len(text[0]))
    return "\n".join(text)


def markdown(all_rows: list[Row]) -> str:
    """The same table in Markdown, for docs/benchmarks.md."""
    servers = [s for s in COLUMNS if any(s in r.values for r in all_rows)]
    peers = [s for s in servers if s != OURS]
    head = ["workload", "metric", *servers, *(f"× {SHORT[p]}" for p in peers), "errors", "target"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 3) + "---|"]
    for row in all_rows:
        cells = [row.workload, row.metric]
        cells += [_number(row.values.get(s)) for s in servers]
        cells += [_number(row.ratios.get(p)) for p in peers]
        cells += [str(row.errors), "; ".join(_verdict(o) for o in row.targets)]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def machine() -> dict[str, object]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        total_kb = int(info.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": round(total_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _installed(workdir: Path, distribution: str) -> str:
    """A peer's version from the .dist-info directory of its venv (under the work directory
    or the repository's .venv-devpi)."""
    pattern = re.compile(rf"{re.escape(distribution).replace('-', '[-_]')}-([^-]+)\.dist-info")
    here = Path(__file__).resolve().parent
    places = [
        (workdir, "venv-*/lib/python*/site-packages/*.dist-info"),
        (here / ".work", "venv-*/lib/python*/site-packages/*.dist-info"),
        (here.parent / ".venv-devpi", "lib/python*/site-packages/*.dist-info"),
    ]
    for root, glob in places:
        for found in sorted(root.glob(glob)):
            match = pattern.fullmatch(found.name)
            if match:
                return match.group(1)
    return "not installed"


def versions(workdir: Path) -> dict[str, str]:
    return {
        "pkgdepot": metadata.version("pkgdepot"),
        "devpi-server": _installed(workdir, "devpi_server"),
        "proxpi": _installed(workdir, "proxpi"),
        "pypiserver": _installed(workdir, "pypiserver"),
        "nginx": _first_line(["/usr/sbin/nginx", "-v"]).removeprefix("nginx version: "),
        "wrk": _first_line(["/usr/bin/wrk", "--version"]).split(" Copyright")[0],
    }


def command_line() -> str:
    return " ".join(["benchmarks/run", *sys.argv[1:]])


def write(
    figures: list[Figure],
    *,
    out: Path,
    workdir: Path,
    settings: dict[str, object],
    notes: list[str],
    seconds: float,
) -> list[Row]:
    outcomes = evaluate(figures)
    all_rows = rows(figures, outcomes)
    document = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command_line(),
        "settings": settings,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "versions": versions(workdir),
        "figures": [dataclasses.asdict(f) for f in figures],
        "rows": [dataclasses.asdict(r) for r in all_rows],
        "targets": [dataclasses.asdict(o) for o in outcomes],
        "targets_met": sum(o.met for o in outcomes),
        "targets_missed": sum(not o.met for o in outcomes),
        "notes": notes,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1) + "\n")
    out.with_suffix(".md").write_text(summary_markdown(document, all_rows))
    return all_rows


def summary_markdown(document: dict[str, object], all_rows: list[Row]) -> str:
    """What docs/benchmarks.md shows: the table, the machine, the versions, the command."""
    machine_info = document["machine"]
    found_versions = document["versions"]
    assert isinstance(machine_info, dict)
    assert isinstance(found_versions, dict)
    lines = [
        f"Run of {document['date']} ({document['seconds']} s): `{document['command']}`",
        "",
        markdown(all_rows),
        "",
        f"Targets met: {document['targets_met']}, missed: {document['targets_missed']}.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine_info.items()),
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in found_versions.items()),
        "",
    ]
    notes = document.get("notes")
    if isinstance(notes, list) and notes:
        lines += ["Notes:", "", *(f"- {note}" for note in notes), ""]
    return "\n".join(lines)
