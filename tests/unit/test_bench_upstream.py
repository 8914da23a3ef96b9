"""The benchmark's generated upstream (benchmarks/upstream.py, quick scale): every link of
every page names a real file with its true sha256 and metadata, and the pieces the workloads
rely on (install set, big project, big wheel, uploads) are what the Upstream says."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from benchmarks import upstream as generator
from benchmarks.model import Upstream
from packaging.metadata import Metadata

_ANCHOR = re.compile(r'<a href="\.\./\.\./files/([^"#]+)#sha256=(\w+)"([^>]*)>([^<]+)</a>')


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Upstream:
    return generator.generate(tmp_path_factory.mktemp("bench"), quick=True)


def _links(upstream: Upstream, project: str) -> list[tuple[str, str, str, str]]:
    page = (upstream.root / "simple" / project / "index.html").read_text()
    return _ANCHOR.findall(page)


def test_every_link_is_a_real_file_with_its_true_hash_and_metadata(upstream: Upstream) -> None:
    seen = set()
    for project in upstream.projects:
        links = _links(upstream, project)
        assert links, project
        for path, sha256, attributes, filename in links:
            data = (upstream.root / "files" / path).read_bytes()
            assert path == f"{project}/{filename}"
            assert hashlib.sha256(data).hexdigest() == sha256 == upstream.files[filename].sha256
            assert upstream.files[filename].size == len(data)
            if filename.endswith(".whl"):
                metadata = (upstream.root / "files" / f"{path}.metadata").read_bytes()
                digest = hashlib.sha256(metadata).hexdigest()
                assert f'data-core-metadata="sha256={digest}"' in attributes
                with zipfile.ZipFile(upstream.root / "files" / path) as wheel:
                    assert wheel.testzip() is None
            seen.add(filename)
    uploads = {p.name for p in upstream.uploads.iterdir()}
    assert upstream.stage_uploads is not None
    private = {p.name for p in upstream.stage_uploads.iterdir()}
    assert len(uploads) == 50
    assert len(private) == 10
    assert seen | uploads | private == set(upstream.files)
    assert not seen & (uploads | private)


def test_the_install_set_resolves_within_itself(upstream: Upstream) -> None:
    assert len(upstream.install_set) == 10
    required = set()
    for project in upstream.install_set:
        wheels = [link for link in _links(upstream, project) if link[3].endswith(".whl")]
        for path, *_ in wheels:
            raw = (upstream.root / "files" / f"{path}.metadata").read_bytes()
            meta = Metadata.from_email(raw, validate=False)
            required |= {requirement.name for requirement in meta.requires_dist or []}
    assert required
    assert required <= set(upstream.install_set)


def test_big_project_big_wheel_and_project_list(upstream: Upstream) -> None:
    assert len(_links(upstream, upstream.big_project)) == 500  # quick scale
    (link,) = _links(upstream, upstream.big_wheel_project)
    assert link[3] == upstream.big_wheel.filename
    assert upstream.big_wheel.size > 5_000_000
    names = re.findall(r'<a href="([^"]+)/">', (upstream.root / "simple/index.html").read_text())
    assert len(names) == len(set(names)) == upstream.list_size == 10_000
    assert set(upstream.projects) <= set(names)


def test_a_second_generation_reuses_the_first(upstream: Upstream) -> None:
    workdir = upstream.root.parent.parent
    stamp = upstream.root.parent / "stamp.json"
    before = stamp.stat().st_mtime_ns
    again = generator.generate(workdir, quick=True)
    assert again == upstream
    assert stamp.stat().st_mtime_ns == before


def test_nginx_serves_the_tree(upstream: Upstream, tmp_path: Path) -> None:
    url, stop = generator.serve(upstream.root, tmp_path)
    try:
        page = httpx.get(url + upstream.small_page_project + "/", trust_env=False)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "etag" in page.headers
        path, sha256, _, _ = _links(upstream, upstream.small_page_project)[0]
        file = httpx.get(url.replace("/simple/", f"/files/{path}"), trust_env=False)
        assert hashlib.sha256(file.content).hexdigest() == sha256
    finally:
        stop()
