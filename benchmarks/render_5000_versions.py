"""Simple page of a project with 5,000 versions: cold render and warm request times.

    .venv/bin/python benchmarks/render_5000_versions.py [--versions 5000] [--files-per-version 2]
                                                       [--rounds 20]

Builds a server directory in a temporary folder, seeds one project with a wheel (and, by
default, an sdist) per version: real archives, real blobs, real core metadata, so 10,000 files
for 5,000 versions. Then it measures

* in process: resolving the page (``Projects.simple_page``) and rendering it to HTML and JSON,
  the work a cache miss costs, in wall-clock and in CPU time of the thread (the second is less
  disturbed by other work on a shared machine);
* against a real ``pkgdepot serve`` (one worker) over HTTP: the first request after start, a
  cold request after each write to the project (state re-read, page rendered again), a warm
  request (served from the rendered-page cache) and a conditional one (304).

The seed writes one transaction through the storage layer the upload service uses; uploading
10,000 files one by one over HTTP takes minutes and measures nothing more about rendering.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]

import httpx  # noqa: E402
from packaging.version import Version  # noqa: E402
from tests.support import dists  # noqa: E402
from tests.support.server import ROOT_PASSWORD, ServerProcess  # noqa: E402

from pkgdepot.app import open_services  # noqa: E402
from pkgdepot.config import Settings  # noqa: E402
from pkgdepot.domain.models import ReleaseFile, file_relpath  # noqa: E402
from pkgdepot.domain.permissions import Identity  # noqa: E402
from pkgdepot.service.clock import iso_seconds, now  # noqa: E402
from pkgdepot.service.container import Services  # noqa: E402
from pkgdepot.web import render  # noqa: E402

PROJECT = "big-project"
INDEX = "bench/dev"
JSON = "application/vnd.pypi.simple.v1+json"
DESCRIPTION = "A long description, as real projects have one.\n" * 40


def core_metadata(wheel: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


def seed(serverdir: Path, versions: int, files_per_version: int) -> None:
    subprocess.run(
        [sys.executable, "-m", "pkgdepot", "init", "--serverdir", str(serverdir),
         "--root-password", ROOT_PASSWORD],
        check=True, capture_output=True,
    )  # fmt: skip
    services = open_services(Settings(serverdir=serverdir))
    try:
        services.accounts.create(Identity("root"), "bench", {"password": "secret"})
        services.indexes.create(Identity("bench"), "bench", "dev", {})
        index = services.catalog.get("bench", "dev")
        uploaded = iso_seconds(now())
        with services.store.transaction("bench") as tx:
            tx.touch_project(index.id, PROJECT, PROJECT)
            for n in range(versions):
                version = f"{n // 100}.{n % 100}.0"
                wheel = dists.make_wheel(PROJECT, version, requires_python=">=3.9")
                metadata = services.blobs.put_bytes(core_metadata(wheel[1]))
                files: list[tuple[tuple[str, bytes], str | None]] = [(wheel, metadata)]
                if files_per_version > 1:
                    files.append((dists.make_sdist(PROJECT, version), None))
                for (filename, data), meta_sha in files:
                    sha256 = services.blobs.put_bytes(data)
                    tx.put_file(
                        index.id,
                        ReleaseFile(
                            index=index.path,
                            relpath=file_relpath(index.path, sha256, filename),
                            project=PROJECT,
                            version=version,
                            filename=filename,
                            kind="releasefile",
                            sha256=sha256,
                            size=len(data),
                            upload_time=uploaded,
                            requires_python=">=3.9",
                            core_metadata_sha256=meta_sha,
                        ),
                    )
                tx.put_release(
                    index.id,
                    PROJECT,
                    version,
                    {"name": PROJECT, "version": version, "description": DESCRIPTION},
                )
    finally:
        services.store.close()


def timed(
    action: Callable[[], object], rounds: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = clock()
        action()
        samples.append((clock() - start) * 1000)
    return samples


def line(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{label:<44} median {statistics.median(ordered):7.2f} ms   "
        f"min {ordered[0]:7.2f}   p95 {p95:7.2f}   (n={len(ordered)})"
    )


def in_process(serverdir: Path, rounds: int) -> list[str]:
    services = open_services(Settings(serverdir=serverdir))
    results = []
    try:
        index = services.catalog.get("bench", "dev")
        html = services.projects.simple_page(index, PROJECT, "html")
        json = services.projects.simple_page(index, PROJECT, "json")
        html_fragments = [fragment for _, _, fragment in html.links]
        json_fragments = [fragment for _, _, fragment in json.links]
        results.append(f"{len(html.versions)} versions, {len(html.links)} files")
        steps: dict[str, Callable[[], object]] = {
            "state check (one query)": lambda: services.projects.state(index, PROJECT),
            "resolve page (queries, merge, sort)": lambda: services.projects.simple_page(
                index, PROJECT, "html"
            ),
            "render HTML": lambda: render.project_html(PROJECT, html_fragments),
            "render JSON": lambda: render.project_json(PROJECT, json_fragments, json.versions),
            "cache miss, HTML (resolve, render, digest)": lambda: miss(services, "html"),
            "cache miss, JSON (resolve, render, digest)": lambda: miss(services, "json"),
        }
        for label, step in steps.items():
            results.append(line(f"{label}, wall", timed(step, rounds)))
            results.append(line(f"{label}, CPU", timed(step, rounds, time.thread_time)))
    finally:
        services.store.close()
    return results


def miss(services: Services, fmt: str) -> str:
    """What the server does on a cache miss (web/simple.py), minus the thread hop."""
    page = services.projects.simple_page(services.catalog.get("bench", "dev"), PROJECT, fmt)
    fragments = [fragment for _, _, fragment in page.links]
    if fmt == "json":
        body = render.project_json(PROJECT, fragments, page.versions)
    else:
        body = render.project_html(PROJECT, fragments)
    return hashlib.sha256(body).hexdigest()


def measure_format(client: httpx.Client, label: str, accept: str, rounds: int) -> list[str]:
    page = f"/{INDEX}/+simple/{PROJECT}/"
    headers = {"Accept": accept}
    first = timed(lambda: client.get(page, headers=headers), 1)
    reply = client.get(page, headers=headers)
    assert reply.status_code == 200, reply.text
    cold = []
    for n in range(rounds):
        # Registering a version changes the project: the next GET renders the page again.
        form = {":action": "submit", "name": PROJECT, "version": "0.0.0", "summary": str(n)}
        multipart = {key: (None, value) for key, value in form.items()}
        reply = client.post(f"/{INDEX}/", files=multipart, auth=("bench", "secret"))
        assert reply.status_code == 200, reply.text
        start = time.perf_counter()
        reply = client.get(page, headers=headers)
        cold.append((time.perf_counter() - start) * 1000)
        assert reply.headers["x-pkgdepot-cache"] == "rendered"
    warm = timed(lambda: client.get(page, headers=headers), rounds * 5)
    reply = client.get(page, headers=headers)
    assert reply.headers["x-pkgdepot-cache"] == "hit"
    conditional = {**headers, "If-None-Match": reply.headers["etag"]}
    not_modified = timed(lambda: client.get(page, headers=conditional), rounds * 5)
    assert client.get(page, headers=conditional).status_code == 304
    return [
        line(f"{label}: first request after start", first),
        line(f"{label}: cold (rendered after a write)", cold),
        line(f"{label}: warm (from the cache, {len(reply.content) / 1e6:.1f} MB)", warm),
        line(f"{label}: warm conditional (304)", not_modified),
    ]


def over_http(serverdir: Path, rounds: int) -> list[str]:
    server = ServerProcess(serverdir).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            return [
                *measure_format(client, "HTML", "text/html", rounds),
                *measure_format(client, "JSON", JSON, rounds),
            ]
    finally:
        server.stop()


def calibration() -> str:
    """A yardstick for comparing machines: packaging parses the same version 10,000 times."""
    samples = timed(lambda: [Version("1.2.3") for _ in range(10_000)], 10)
    return f"machine yardstick: 10,000 packaging Version() parses take {min(samples):.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument("--files-per-version", type=int, choices=(1, 2), default=2)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pkgdepot-bench-") as tmp:
        serverdir = Path(tmp) / "server"
        start = time.perf_counter()
        seed(serverdir, args.versions, args.files_per_version)
        print(f"seeded in {time.perf_counter() - start:.1f} s")
        print(calibration())
        print("\n".join(in_process(serverdir, args.rounds)))
        print("\n".join(over_http(serverdir, args.rounds)))


if __name__ == "__main__":
    main()
