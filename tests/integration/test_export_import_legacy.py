"""``pkgdepot export`` then ``pkgdepot import`` of an index holding setuptools' legacy formats:
every file comes back, listed and served as before."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from tests.integration.test_export_import import cli
from tests.support import legacy_dists
from tests.support.client import Api
from tests.support.server import ServerProcess
from tests.support.stages import simple_files


def test_legacy_formats_survive_an_export_and_import(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    every = legacy_dists.every_format("Old.Pkg", "1.0")
    source = start_server(workers=1)
    with closing(Api(source.url)) as api:
        api.create_user("ann")
        api.create_index("ann/dev", auth=("ann", "secret"))
        for _packagetype, (filename, data) in every:
            reply = api.upload(
                "ann/dev", filename, data, auth=("ann", "secret"), name="Old.Pkg", version="1.0"
            )
            assert reply.status_code == 200, reply.text
        before = simple_files(api, "ann/dev", "old-pkg")
    assert set(before) == {filename for _type, (filename, _data) in every}

    done = cli("export", str(tmp_path / "export"), "--serverdir", str(source.serverdir))
    assert done.returncode == 0, done.stderr
    done = cli("import", str(tmp_path / "export"), "--serverdir", str(tmp_path / "copy"))
    assert done.returncode == 0, done.stderr

    copy = start_server(serverdir=tmp_path / "copy", workers=1)
    with closing(Api(copy.url)) as api:
        assert simple_files(api, "ann/dev", "old-pkg") == before
        links = api.http.get("/ann/dev/old-pkg/1.0", headers={"Accept": "application/json"})
        assert len(links.json()["result"]["+links"]) == len(every)
        for link in links.json()["result"]["+links"]:
            filename = link["href"].rsplit("/", 1)[1]
            got = api.http.get(link["href"], headers={"Accept": "*/*"})
            assert got.content == dict(b for _t, b in every)[filename]
