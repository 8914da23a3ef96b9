"""The generated upstream index: a static tree of PEP 503 pages and real files, served by nginx.

    generate(workdir) -> Upstream        writes workdir/upstream/ (reused when already there)
    serve(upstream.root, workdir)        nginx on 127.0.0.1:PORT; url .../simple/

The tree::

    simple/index.html              the project list: the real projects, then generated names
    simple/NAME/index.html         PEP 503 page: relative hrefs with #sha256=, requires-python,
                                   PEP 714 data-core-metadata (and data-dist-info-metadata)
    files/NAME/FILE                wheels and sdists pip installs
    files/NAME/FILE.metadata       each wheel's METADATA, as PEP 658 serves it

Beside it, not on the upstream: ``uploads/`` (50 files for the upload workload) and
``stage-uploads/`` (10 files of one private project, uploaded to every stage index).
Everything is derived from a fixed seed, so two generations give the same bytes.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import html
import io
import json
import random
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from tests.support import dists  # noqa: E402

from benchmarks.model import Upstream, UpstreamFile  # noqa: E402
from benchmarks.peers.nginx import start_nginx  # noqa: E402

FORMAT = 3  # bump when what is generated changes: a stamp of another format is regenerated
SEED = 20261126
REQUIRES_PYTHON = ">=3.8"
BIG_PROJECT = "many-versions"
BIG_WHEEL_PROJECT = "big-wheel"
PRIVATE_PROJECT = "private-lib"


@dataclasses.dataclass(frozen=True)
class Scale:
    projects: int  # projects with real files, the install set among them
    versions: int  # versions of each (a wheel and an sdist each)
    big_versions: int  # versions of BIG_PROJECT (a wheel each)
    big_wheel_bytes: int  # size of the random payload of BIG_WHEEL_PROJECT's wheel
    list_size: int  # names in simple/index.html
    uploads: int  # files for the upload workload
    payload: int  # random bytes (hex-encoded in the module) of each ordinary wheel

    @property
    def key(self) -> str:
        return json.dumps({"format": FORMAT, "seed": SEED, **dataclasses.asdict(self)})


FULL = Scale(300, 3, 5000, 50_000_000, 1_000_000, 50, 4096)
QUICK = Scale(30, 3, 500, 5_000_000, 10_000, 50, 4096)


def project_name(n: int) -> str:
    return f"pkg-{n:03d}"


def install_set(scale: Scale) -> tuple[str, ...]:
    return tuple(project_name(n) for n in range(min(10, scale.projects)))


def generate(workdir: Path, *, quick: bool = False) -> Upstream:
    """The upstream under ``workdir/upstream``: generated unless a stamp says it was, with
    the same parameters."""
    scale = QUICK if quick else FULL
    here = workdir / "upstream"
    stamp = here / "stamp.json"
    manifest = here / "manifest.json"
    if stamp.exists() and manifest.exists() and stamp.read_text() == scale.key:
        return _load(here, manifest)
    if here.exists():
        shutil.rmtree(here)
    here.mkdir(parents=True)
    upstream = _Writer(here, scale).write()
    manifest.write_text(json.dumps(_dump(upstream)))
    stamp.write_text(scale.key)  # last: a generation cut short is done again
    return upstream


def serve(upstream_root: Path, workdir: Path) -> tuple[str, Callable[[], None]]:
    """nginx serving the tree on 127.0.0.1; returns its simple index URL and a stop function."""
    base, process = start_nginx(upstream_root, workdir / "upstream-nginx")
    return base + "/simple/", process.stop


@contextlib.contextmanager
def served(workdir: Path, *, quick: bool = False) -> Iterator[Upstream]:
    """``generate`` and ``serve`` in one: the upstream with its ``url``, while nginx runs."""
    upstream = generate(workdir, quick=quick)
    url, stop = serve(upstream.root, workdir)
    try:
        yield dataclasses.replace(upstream, url=url)
    finally:
        stop()


class _Writer:
    def __init__(self, here: Path, scale: Scale) -> None:
        self.here = here
        self.root = here / "root"
        self.scale = scale
        self.random = random.Random(SEED)  # noqa: S311 - test data, not secrets
        self.files: dict[str, UpstreamFile] = {}

    def write(self) -> Upstream:
        names = [project_name(n) for n in range(self.scale.projects)]
        chosen = install_set(self.scale)
        for n, name in enumerate(names):
            self._ordinary_project(name, n, chosen)
        self._big_project()
        big_wheel = self._big_wheel()
        projects = (*names, BIG_PROJECT, BIG_WHEEL_PROJECT)
        self._project_list(projects)
        uploads = self._uploads()
        stage_uploads = self._stage_uploads()
        return Upstream(
            root=self.root,
            url="",  # known once served
            projects=projects,
            big_project=BIG_PROJECT,
            big_wheel=big_wheel,
            big_wheel_project=BIG_WHEEL_PROJECT,
            small_page_project=names[min(42, len(names) - 1)],
            install_set=chosen,
            files=self.files,
            uploads=uploads,
            list_size=self.scale.list_size,
            stage_uploads=stage_uploads,
            private_project=PRIVATE_PROJECT,
        )

    def _payload(self) -> bytes:
        data = self.random.randbytes(self.scale.payload).hex()
        return f"DATA = {data!r}\n".encode()

    def _ordinary_project(self, name: str, n: int, chosen: Sequence[str]) -> None:
        links: list[str] = []
        for v in range(self.scale.versions):
            version = f"{v + 1}.{n % 7}.0"
            requires: list[str] = []
            if name in chosen and chosen.index(name) % 2 == 0:
                # Every other project of the install set needs the next one: pip resolves.
                requires = [f"{chosen[chosen.index(name) + 1]}>=1.0"]
            requires_python = REQUIRES_PYTHON if n % 2 == 0 else None
            summary = f"Project {name}, version {version}"
            wheel = dists.make_wheel(
                name,
                version,
                requires=requires,
                requires_python=requires_python,
                summary=summary,
                payload=self._payload(),
            )
            sdist = dists.make_sdist(
                name, version, requires_python=requires_python, summary=summary
            )
            links.append(self._store(name, wheel, requires_python, metadata=True))
            links.append(self._store(name, sdist, requires_python, metadata=False))
        self._project_page(name, links)

    def _big_project(self) -> None:
        links = []
        for n in range(self.scale.big_versions):
            version = f"{n // 100}.{n % 100}.0"
            wheel = dists.make_wheel(BIG_PROJECT, version, requires_python=REQUIRES_PYTHON)
            links.append(self._store(BIG_PROJECT, wheel, REQUIRES_PYTHON, metadata=True))
        self._project_page(BIG_PROJECT, links)

    def _big_wheel(self) -> UpstreamFile:
        built = _wheel_with_blob(BIG_WHEEL_PROJECT, "1.0", self.random, self.scale.big_wheel_bytes)
        link = self._store(BIG_WHEEL_PROJECT, built, None, metadata=True)
        self._project_page(BIG_WHEEL_PROJECT, [link])
        return self.files[built[0]]

    def _store(
        self, project: str, built: tuple[str, bytes], requires_python: str | None, *, metadata: bool
    ) -> str:
        """Writes the file (and its .metadata); returns its anchor for the project page."""
        filename, data = built
        directory = self.root / "files" / project
        directory.mkdir(parents=True, exist_ok=True)
        (directory / filename).write_bytes(data)
        sha256 = hashlib.sha256(data).hexdigest()
        self.files[filename] = UpstreamFile(filename, sha256, len(data))
        attributes = ""
        if requires_python:
            attributes += f' data-requires-python="{html.escape(requires_python)}"'
        if metadata:
            meta = _wheel_metadata(data)
            (directory / f"{filename}.metadata").write_bytes(meta)
            digest = f"sha256={hashlib.sha256(meta).hexdigest()}"
            attributes += f' data-core-metadata="{digest}" data-dist-info-metadata="{digest}"'
        href = f"../../files/{project}/{filename}#sha256={sha256}"
        return f'<a href="{href}"{attributes}>{filename}</a><br/>'

    def _project_page(self, project: str, links: list[str]) -> None:
        page = self.root / "simple" / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        head = (
            '<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" '
            f'content="1.0">\n    <title>Links for {project}</title>\n  </head>\n  <body>\n'
            f"    <h1>Links for {project}</h1>\n"
        )
        body = "".join(f"    {link}\n" for link in links)
        page.write_text(head + body + "  </body>\n</html>\n")

    def _project_list(self, projects: Sequence[str]) -> None:
        page = self.root / "simple" / "index.html"
        with page.open("w") as out:
            out.write(
                '<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" '
                'content="1.0">\n    <title>Simple index</title>\n  </head>\n  <body>\n'
            )
            for name in _list_names(projects, self.scale.list_size):
                out.write(f'    <a href="{name}/">{name}</a>\n')
            out.write("  </body>\n</html>\n")

    def _uploads(self) -> Path:
        """Files for twine: projects of their own, a wheel and an sdist of each."""
        directory = self.here / "uploads"
        directory.mkdir()
        for n in range(self.scale.uploads):
            name, version = f"upload-{n // 2:03d}", "1.0.0"
            if n % 2 == 0:
                filename, data = dists.make_wheel(name, version, payload=self._payload())
            else:
                filename, data = dists.make_sdist(name, version)
            (directory / filename).write_bytes(data)
            self.files[filename] = _described(filename, data)
        return directory

    def _stage_uploads(self) -> Path:
        directory = self.here / "stage-uploads"
        directory.mkdir()
        for v in range(5):
            version = f"0.{v + 1}.0"
            for filename, data in (
                dists.make_wheel(PRIVATE_PROJECT, version, requires_python=REQUIRES_PYTHON),
                dists.make_sdist(PRIVATE_PROJECT, version, requires_python=REQUIRES_PYTHON),
            ):
                (directory / filename).write_bytes(data)
                self.files[filename] = _described(filename, data)
        return directory


def _described(filename: str, data: bytes) -> UpstreamFile:
    return UpstreamFile(filename, hashlib.sha256(data).hexdigest(), len(data))


def _list_names(projects: Sequence[str], size: int) -> Iterator[str]:
    """The real projects, then made-up names (no pages behind them) up to ``size``."""
    yield from projects
    words = ("data", "py", "tool", "lib", "web", "async", "json", "test", "cli", "core")
    for n in range(max(0, size - len(projects))):
        yield f"{words[n % 10]}-{words[(n // 10) % 10]}-{n:07d}"


def _wheel_metadata(wheel: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


def _wheel_with_blob(name: str, version: str, rng: random.Random, size: int) -> tuple[str, bytes]:
    """A wheel pip can install whose bulk is ``size`` random (incompressible) bytes, stored."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nBig.\n".encode()
    members = {
        f"{module}_mod/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{module}_mod/blob.bin": rng.randbytes(size),
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: pkgdepot-benchmarks\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = []
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return dists.wheel_name(name, version), buffer.getvalue()


def _dump(upstream: Upstream) -> dict[str, object]:
    fields = dataclasses.asdict(upstream)
    for key in ("root", "uploads", "stage_uploads"):
        fields[key] = str(fields[key])
    return fields


def _load(here: Path, manifest: Path) -> Upstream:
    fields = json.loads(manifest.read_text())
    files = {name: UpstreamFile(**f) for name, f in fields.pop("files").items()}
    big_wheel = UpstreamFile(**fields.pop("big_wheel"))
    return Upstream(
        **{
            **fields,
            "root": here / "root",
            "uploads": here / "uploads",
            "stage_uploads": here / "stage-uploads",
            "projects": tuple(fields["projects"]),
            "install_set": tuple(fields["install_set"]),
            "files": files,
            "big_wheel": big_wheel,
        }
    )
