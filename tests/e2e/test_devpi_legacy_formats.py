"""``devpi upload --formats`` with setuptools' legacy formats (a zip sdist, bdist_dumb, eggs):
the real client builds them with ``setup.py`` and pkgdepot stores, lists and serves them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import test_devpi_client
from tests.e2e.test_devpi_client import Scenario

pytestmark = pytest.mark.e2e
scenario = test_devpi_client.scenario  # the same server and fake upstream, for this module


def write_setup_py_project(directory: Path, name: str, version: str) -> Path:
    package = name.replace("-", "_")
    (directory / package).mkdir(parents=True)
    (directory / package / "__init__.py").write_text(f'VERSION = "{version}"\n')
    (directory / "setup.py").write_text(
        "from setuptools import setup\n"
        f"setup(name={name!r}, version={version!r}, packages=[{package!r}],"
        " description='Old style')\n"
    )
    return directory


def uploaded(scenario: Scenario, index: str, project: str, version: str) -> dict[str, bytes]:
    links = scenario.get_json(f"/{index}/{project}/{version}")["+links"]
    return {
        link["href"].rsplit("/", 1)[1]: scenario.http.get(link["href"]).content
        for link in links
        if link["rel"] == "releasefile"
    }


def built(project: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (project / "dist").iterdir()}


def test_upload_zip_sdist_and_bdist_dumb(scenario: Scenario, tmp_path: Path) -> None:
    user, devpi = scenario.person("dumb")
    project = write_setup_py_project(tmp_path / "old", "old-dumb", "1.0")
    output = devpi.ok("upload", "--formats", "sdist.zip,bdist_dumb", cwd=project)
    files = built(project)
    assert {name.rsplit(".", 1)[-1] for name in files} == {"zip", "gz"}, output
    assert any(".linux" in name for name in files), files
    assert uploaded(scenario, f"{user}/dev", "old-dumb", "1.0") == files
    listed = devpi.ok("list", "old-dumb")
    for filename in files:
        assert filename in listed
        assert f"file_upload of {filename}" in output
    page = scenario.http.get(f"/{user}/dev/+simple/old-dumb/").text
    assert all(filename in page for filename in files)


def test_upload_bdist_egg(scenario: Scenario, tmp_path: Path) -> None:
    user, devpi = scenario.person("egg")
    project = write_setup_py_project(tmp_path / "egg", "old-egg", "2.0")
    output = devpi.ok("upload", "--formats", "bdist_dumb,bdist_egg", cwd=project)
    files = built(project)
    eggs = [name for name in files if name.endswith(".egg")]
    assert len(eggs) == 1, output
    assert eggs[0].startswith("old_egg-2.0-py")
    assert uploaded(scenario, f"{user}/dev", "old-egg", "2.0") == files
    assert eggs[0] in devpi.ok("list", "old-egg")
