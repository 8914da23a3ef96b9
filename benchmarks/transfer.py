"""Files moving: the cached 50 MB wheel downloaded under load, a cold ``pip install`` through a
fresh mirror, and ``twine upload`` of 50 files."""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from benchmarks.checks import (
    CheckFailed,
    absolute,
    compare_links,
    file_sha256,
    get,
    page_links,
    wait_for_file,
)
from benchmarks.context import CEILING, Bench, Subject
from benchmarks.load import load_download
from benchmarks.peers.process import clean_environment

DOWNLOAD_CONNECTIONS = 8
INSTALL_REPEATS = 3
COMMAND_TIMEOUT = 900
# pip waits this long for an answer (its default, 15 s, is shorter than a fresh devpi-server
# takes to answer its first page: it fetches the whole project list first)
PIP_TIMEOUT = 300


def download(bench: Bench) -> None:
    """The big wheel through each mirror (fetched once first, so it is cached), and from nginx
    as the ceiling; its sha256 is checked before and after the run."""
    wheel = bench.upstream.big_wheel
    project = bench.upstream.big_wheel_project
    workload = f"download {wheel.size / 1e6:.0f} MB wheel c={DOWNLOAD_CONNECTIONS}"
    for subject, simple in bench.with_url(lambda e: e.mirror_simple):
        with bench.attempt(workload, subject.name):
            _download(bench, subject, f"{simple}{project}/", workload)


def _download(bench: Bench, subject: Subject, page_url: str, workload: str) -> None:
    wheel = bench.upstream.big_wheel
    page = get(bench.client, page_url, "text/html", tries=20)
    links = page_links(page.content, page.headers.get("content-type", ""))
    if wheel.filename not in links:
        raise CheckFailed(f"{subject.name}: {wheel.filename} not on {page.url}")
    url = absolute(str(page.url), links[wheel.filename][0])
    wait_for_file(bench.client, url, wheel.sha256, wheel.size)
    result = load_download(
        url, wheel.size, connections=DOWNLOAD_CONNECTIONS, duration=bench.duration
    )
    status, sha256, size = file_sha256(bench.client, url)
    errors = result.errors + int((status, sha256, size) != (200, wheel.sha256, wheel.size))
    bench.add(workload, subject.name, "MB/s", result.mb_per_s, "higher", errors)


def _client_environment(extra: dict[str, str]) -> dict[str, str]:
    """No settings of pip, uv or twine from this machine, and no proxy: straight to 127.0.0.1."""
    env = clean_environment(extra)
    return {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}


def _pip_install(index_url: str, projects: tuple[str, ...], target: Path) -> float:
    """Seconds of one isolated ``pip install`` (no cache, no config, only ``index_url``)."""
    shutil.rmtree(target, ignore_errors=True)
    env = _client_environment({"PIP_CONFIG_FILE": os.devnull})
    command = [
        sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check",
        "--no-input", "-q", "--timeout", str(PIP_TIMEOUT), "install", "--no-cache-dir",
        "--target", str(target),
        "--index-url", index_url, *projects,
    ]  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=COMMAND_TIMEOUT, check=False
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise CheckFailed(f"pip install from {index_url} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def cold_install(bench: Bench) -> None:
    """Median of three: each time a new, empty server (so its mirror is cold), or nginx serving
    the upstream directly."""
    projects = bench.upstream.install_set
    workload = f"cold pip install {len(projects)} projects"
    target = bench.scratch("pip-target")
    repeats = 1 if bench.quick else INSTALL_REPEATS
    times: dict[str, list[float]] = {}
    names = [s.name for s in bench.subjects if s.endpoints.mirror_simple is not None]
    for _ in range(repeats):
        with bench.attempt(workload, CEILING):
            seconds = _pip_install(bench.upstream.url, projects, target)
            times.setdefault(CEILING, []).append(seconds)
        for name in names:
            if name == CEILING:
                continue
            with bench.attempt(workload, name):
                server = bench.make_server(name, "fresh")
                try:
                    endpoints = server.start()
                    assert endpoints.mirror_simple is not None
                    seconds = _pip_install(endpoints.mirror_simple, projects, target)
                finally:
                    server.stop()
                times.setdefault(name, []).append(seconds)
    for name, values in times.items():
        bench.add(workload, name, "s", statistics.median(values), "lower")


def _project_of(filename: str) -> str:
    try:
        return str(parse_wheel_filename(filename)[0])
    except InvalidWheelFilename:
        pass
    try:
        return str(parse_sdist_filename(filename)[0])
    except InvalidSdistFilename:
        return str(canonicalize_name(filename.rsplit("-", 1)[0]))


def _uploaded_ok(bench: Bench, simple: str, files: list[Path]) -> int:
    """How many of the uploaded files are not listed on their project's page with the right
    sha256 (0 when all are)."""
    by_project: dict[str, dict[str, str]] = {}
    for path in files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        by_project.setdefault(_project_of(path.name), {})[path.name] = digest
    wrong = 0
    for project, expected in by_project.items():
        page = get(bench.client, f"{simple}{project}/", "text/html")
        links = page_links(page.content, page.headers.get("content-type", ""))
        listed = {name: digest for name, (_, digest) in links.items() if name in expected}
        try:
            compare_links({n: ("", d) for n, d in listed.items()}, expected, page.url.path)
        except CheckFailed as failed:
            bench.note(str(failed))
            wrong += sum(1 for name in expected if listed.get(name) != expected[name])
    return wrong


def upload(bench: Bench) -> None:
    """One ``twine upload`` of all the files to each server that takes uploads."""
    files = sorted(p for p in bench.upstream.uploads.iterdir() if p.is_file())
    workload = f"twine upload {len(files)} files"
    for subject in bench.subjects:
        endpoints = subject.endpoints
        if endpoints.upload_url is None or endpoints.upload_auth is None:
            continue
        with bench.attempt(workload, subject.name):
            _upload(bench, subject, files, workload)


def _upload(bench: Bench, subject: Subject, files: list[Path], workload: str) -> None:
    endpoints = subject.endpoints
    assert endpoints.upload_url is not None
    assert endpoints.upload_auth is not None
    assert endpoints.upload_simple is not None
    config = bench.scratch("twine") / "pypirc"
    config.write_text("[distutils]\nindex-servers =\n")
    env = _client_environment({})
    user, password = endpoints.upload_auth
    command = [
        str(Path(sys.executable).parent / "twine"), "upload", "--non-interactive",
        "--disable-progress-bar", "--config-file", str(config),
        "--repository-url", endpoints.upload_url, "-u", user, "-p", password,
        *map(str, files),
    ]  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=COMMAND_TIMEOUT, check=False
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise CheckFailed(f"twine upload to {subject.name} failed:\n{done.stdout}{done.stderr}")
    errors = _uploaded_ok(bench, endpoints.upload_simple, files)
    bench.add(workload, subject.name, "s", seconds, "lower", errors)
    bench.add(workload, subject.name, "files/s", len(files) / seconds, "higher", errors)
