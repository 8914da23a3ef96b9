"""``python -m benchmarks``: generate the upstream, start it and the servers, run the workloads
(each on every server in turn), print the table and write the JSON. Everything started is
stopped at the end, also on Ctrl-C, SIGTERM or an error."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

import httpx

from benchmarks import report
from benchmarks.checks import TIMEOUT, get
from benchmarks.context import CEILING, Bench, ServerFactory, Subject
from benchmarks.lineup import SERVERS, factory_for
from benchmarks.load import self_check
from benchmarks.memory import Sampler
from benchmarks.model import Upstream
from benchmarks.upstream import served
from benchmarks.workloads import WORKLOADS

HERE = Path(__file__).resolve().parent


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/run",
        description="pkgdepot side by side with devpi-server, proxpi, pypiserver and nginx.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small data and short runs (a few minutes): to try the harness, not to publish",
    )
    parser.add_argument(
        "--workdir", type=Path, default=HERE / ".work", help="generated data and server directories"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results.json", help="where the JSON results go"
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(WORKLOADS), metavar="WORKLOAD",
        help=f"run only these workloads ({', '.join(WORKLOADS)})",
    )  # fmt: skip
    parser.add_argument(
        "--servers", nargs="+", choices=list(SERVERS), default=list(SERVERS), metavar="SERVER",
        help=f"servers to run ({', '.join(SERVERS)}; default all)",
    )  # fmt: skip
    parser.add_argument(
        "--duration", type=float, help="seconds of each wrk run (default 10, --quick 1)"
    )
    return parser.parse_args(argv)


def _scratch(workdir: Path) -> Path:
    path = workdir / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def run(args: argparse.Namespace, factory_for: Callable[[Upstream, Path], ServerFactory]) -> int:
    workdir: Path = args.workdir.resolve()
    duration = args.duration or (1.0 if args.quick else 10.0)
    selected = args.only or list(WORKLOADS)
    names = [name for name in SERVERS if name in args.servers]
    began = time.perf_counter()
    failures = 0
    with contextlib.ExitStack() as stack:
        print(f"generating the upstream under {workdir} ...", flush=True)
        upstream = stack.enter_context(served(workdir, quick=args.quick))
        print(f"upstream: {upstream.url}", flush=True)
        factory = factory_for(upstream, workdir)
        sampler = Sampler().start()
        stack.callback(sampler.stop)
        # Bodies as wrk gets them (it asks for no compression), so checks see those bytes.
        identity = {"Accept-Encoding": "identity"}
        client = stack.enter_context(
            httpx.Client(timeout=TIMEOUT, headers=identity, trust_env=False)
        )
        page = f"{upstream.url}{upstream.small_page_project}/"
        self_check(page, get(client, page).content, _scratch(workdir))
        subjects = []
        notes = []
        for name in names:
            print(f"starting {name} ...", flush=True)
            server = factory(name, "main")
            stack.callback(server.stop)
            try:
                endpoints = server.start()
            except Exception as failed:  # the others are still worth measuring
                failures += 1
                notes.append(f"{name} did not start, left out: {failed}")
                print(notes[-1], file=sys.stderr, flush=True)
                continue
            stack.callback(sampler.forget, name)
            sampler.watch(name, server.pids)
            subjects.append(Subject(server, endpoints))
        bench = Bench(upstream, workdir, duration, args.quick, subjects, factory, client)
        bench.notes += notes
        for workload in selected:
            print(f"\n== {workload}", flush=True)
            with bench.attempt(workload, "all servers"):  # the other workloads still run
                WORKLOADS[workload](bench)
        for subject in subjects:
            sampler.forget(subject.name)
            tree = sampler.trees[subject.name]
            if subject.name != CEILING:
                bench.add("peak RSS", subject.name, "MB", tree.peak_mb, "lower")
                bench.add("peak RSS", subject.name, "max summed RSS MB", tree.max_rss_mb, "lower")
    seconds = time.perf_counter() - began
    settings = {
        "quick": args.quick,
        "duration": duration,
        "workloads": selected,
        "servers": names,
    }
    rows = report.write(
        bench.figures,
        out=args.out,
        workdir=workdir,
        settings=settings,
        notes=bench.notes,
        seconds=seconds,
    )
    print("\n" + report.table(rows))
    for text in bench.notes:
        print(f"note: {text}")
    print(f"\n{len(bench.figures)} figures in {seconds:.0f} s; JSON: {args.out}")
    return 1 if failures or bench.failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _terminate)
    return run(args, factory_for)


if __name__ == "__main__":
    sys.exit(main())
