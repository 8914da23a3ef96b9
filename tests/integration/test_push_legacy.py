"""Pushing a release in setuptools' legacy formats: to another index of this server, and to
another repository with the package type and Python version twine would send."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import closing

from tests.support import legacy_dists
from tests.support.client import Api
from tests.support.fake_repository import running_repository
from tests.support.pushing import (  # noqa: F401 - the pair fixture too
    PROJECT,
    Pair,
    external,
    fixture_pair,
    make_pair,
    push,
    to_prod,
)
from tests.support.server import ServerProcess
from tests.support.stages import simple_files

FORMATS = legacy_dists.every_format(PROJECT, "1.0")
PYTHON_VERSIONS = {"sdist": "source", "bdist_egg": "3.11"}


def _release(pair: Pair) -> dict[str, str]:
    for _packagetype, (filename, data) in FORMATS:
        reply = pair.api.upload(
            pair.dev, filename, data, auth=(pair.user, "secret"), name=PROJECT, version="1.0"
        )
        assert reply.status_code == 200, reply.text
    return {filename: hashlib.sha256(data).hexdigest() for _type, (filename, data) in FORMATS}


def test_push_to_another_index_keeps_every_format(pair: Pair) -> None:
    uploaded = _release(pair)
    reply = push(pair, to_prod(pair))
    assert reply.status_code == 200, reply.text
    assert simple_files(pair.api, pair.prod, PROJECT) == uploaded


def test_an_external_push_names_each_package_type(pair: Pair) -> None:
    _release(pair)
    with running_repository() as repository:
        reply = push(pair, external(pair, repository.url))
    assert reply.status_code == 200, reply.text
    sent = {
        r.files["content"][0]: (r.fields["filetype"], r.fields["pyversion"])
        for r in repository.received
        if r.fields[":action"] == ["file_upload"]
    }
    assert sent == {
        filename: ([packagetype], [PYTHON_VERSIONS.get(packagetype, "any")])
        for packagetype, (filename, _data) in FORMATS
    }


def test_an_external_push_to_this_server_is_accepted(
    start_server: Callable[..., ServerProcess], unique: Callable[[str], str]
) -> None:
    server = start_server(workers=1)
    with closing(Api(server.url)) as api:
        pair = make_pair(api, unique)
        uploaded = _release(pair)
        reply = push(pair, external(pair, f"{server.url}/{pair.prod}/", no_docs=True))
        assert reply.status_code == 200, reply.text
        assert simple_files(api, pair.prod, PROJECT) == uploaded
