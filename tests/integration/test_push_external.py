"""Push to another repository through the legacy upload API (``posturl``): this server as
the client of another, or of itself (one worker, no deadlock)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import closing

import pytest

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.fake_repository import running_repository
from tests.support.procs import peak_rss_bytes, process_tree, reset_peak_rss
from tests.support.pushing import (  # noqa: F401 - the pair fixture too
    ANY,
    PROJECT,
    Pair,
    assert_refused,
    external,
    fixture_pair,
    links,
    make_pair,
    push,
    release,
    relpath,
    upload,
    upload_docs,
    version_data,
)
from tests.support.server import ServerProcess
from tests.support.stages import new_user, simple_files
from tests.support.streams import MIB, MULTIPART_TYPE, big_wheel, multipart_upload, upload_fields
from tests.support.uploading import DOCS


def test_an_external_push_to_another_index_of_the_same_single_worker_server(
    start_server: Callable[..., ServerProcess], unique: Callable[[str], str]
) -> None:
    server = start_server(workers=1)
    with closing(Api(server.url)) as api:
        pair = make_pair(api, unique)
        files = release(pair)
        upload_docs(pair, "1.0")
        reply = push(pair, external(pair, f"{server.url}/{pair.prod}/"))
        assert reply.status_code == 200, reply.text
        actions = reply.json()["result"]
        uploads = sorted(a[:3] for a in actions if a[1] == "upload")
        assert uploads == sorted([200, "upload", relpath(p, pair.dev)] for p in files.values())
        assert {a[3] for a in actions if a[1] == "upload"} == {"OK"}  # the server's message
        assert actions[-1] == [200, "docfile", PROJECT]
        assert simple_files(api, pair.prod, PROJECT) == simple_files(api, pair.dev, PROJECT)
        [doczip] = links(api, pair.prod, "doczip")
        assert api.http.get(doczip["href"], headers=ANY).content == DOCS
        for link in links(api, pair.prod, "releasefile"):
            assert [(e["what"], e["who"]) for e in link["log"]] == [("upload", pair.user)]


def test_an_external_push_to_another_server(
    start_server: Callable[..., ServerProcess], pair: Pair, unique: Callable[[str], str]
) -> None:
    other = start_server(workers=1)
    with closing(Api(other.url)) as other_api:
        there = make_pair(other_api, unique)
        release(pair, summary="travels far")
        reply = push(
            pair,
            external(pair, f"{other.url}/{there.prod}/", username=there.user, no_docs=True),
        )
        assert reply.status_code == 200, reply.text
        assert simple_files(other_api, there.prod, PROJECT) == simple_files(
            pair.api, pair.dev, PROJECT
        )
        assert version_data(other_api, there.prod)["summary"] == "travels far"


def test_an_external_push_sends_what_twine_sends(pair: Pair) -> None:
    wheel = dists.make_wheel(PROJECT, "1.0")
    upload(pair, wheel, summary="one summary", classifiers=["A :: B", "C :: D"])
    upload_docs(pair, "1.0")
    with running_repository() as repository:
        reply = push(pair, external(pair, repository.url, register_project=True))
    assert reply.status_code == 200, reply.text
    submit, file_upload, doc_upload = repository.received
    assert [r.fields[":action"] for r in repository.received] == [
        ["submit"],
        ["file_upload"],
        ["doc_upload"],
    ]
    assert all(r.auth == (pair.user, "secret") for r in repository.received)
    assert submit.fields["summary"] == ["one summary"]
    assert file_upload.fields["classifiers"] == ["A :: B", "C :: D"]
    assert file_upload.fields["filetype"] == ["bdist_wheel"]
    assert file_upload.fields["pyversion"] == ["py3"]
    assert file_upload.fields["sha256_digest"] == [hashlib.sha256(wheel[1]).hexdigest()]
    assert file_upload.files == {"content": (wheel[0], wheel[1])}
    assert doc_upload.files["content"][1] == DOCS
    assert reply.json()["result"][0] == [200, "register", PROJECT, "1.0"]


@pytest.mark.parametrize("status", [409, 500])
def test_an_external_repository_that_refuses_gives_502_with_the_actionlog(
    pair: Pair, status: int
) -> None:
    release(pair)
    with running_repository(status=status, text="no thanks") as repository:
        reply = push(pair, external(pair, repository.url))
    assert reply.status_code == 502, reply.text
    body = reply.json()
    assert body["type"] == "actionlog"
    assert sorted(a[0] for a in body["result"]) == [status, status]
    assert {(a[1], a[3]) for a in body["result"]} == {("upload", "no thanks")}


def test_an_external_repository_that_is_down_gives_502_with_the_exception(pair: Pair) -> None:
    files = release(pair)
    reply = push(pair, external(pair, "http://someone:pw@127.0.0.1:9/legacy/"))
    assert reply.status_code == 502, reply.text
    assert reply.json()["message"] == "push to http://127.0.0.1:9/legacy/ failed: see the actionlog"
    [action] = reply.json()["result"]
    assert action[0] == -1
    assert action[1] in {f"exception on upload of {relpath(p, pair.dev)}" for p in files.values()}
    assert "connect" in action[2].lower()


def test_a_failed_register_stops_the_external_push(pair: Pair) -> None:
    release(pair)
    with running_repository(status=403, text="forbidden") as repository:
        reply = push(pair, external(pair, repository.url, register_project=True))
    assert reply.status_code == 502
    assert reply.json()["result"] == [[403, "register", PROJECT, "1.0"]]
    assert len(repository.received) == 1


def test_an_external_push_needs_upload_permission_on_the_source(
    pair: Pair, unique: Callable[[str], str]
) -> None:
    release(pair)
    stranger = new_user(pair.api, unique, "stranger")
    with running_repository() as repository:
        body = external(pair, repository.url)
        reply = push(pair, body, headers=basic(stranger, "secret"))
        assert_refused(
            reply,
            401,
            f"user {stranger!r} cannot push from {pair.dev!r} to another repository: "
            f"only the uploaders of {pair.dev!r} may",
        )
        reply = push(pair, body, headers={})
        assert_refused(reply, 401, f"authentication required to push from {pair.dev!r}")
        assert repository.received == []


def test_features_announce_the_push_options(api: Api) -> None:
    features = api.http.get("/+api").json()["result"]["features"]
    assert {"push-no-docs", "push-only-docs", "push-register-project"} <= set(features)


# a big file


def test_an_external_push_streams_a_big_file_in_constant_memory(
    start_server: Callable[..., ServerProcess], unique: Callable[[str], str]
) -> None:
    source, target = start_server(workers=1), start_server(workers=1)
    with closing(Api(source.url)) as api, closing(Api(target.url)) as target_api:
        pair, there = make_pair(api, unique), make_pair(target_api, unique)
        filename, chunks = big_wheel("big-push", "1.0", payload_mib=256)
        body = multipart_upload(upload_fields("big-push", "1.0"), filename, chunks())
        reply = api.http.post(
            f"/{pair.dev}/",
            content=body,
            headers={"Content-Type": MULTIPART_TYPE, **pair.auth},
            timeout=600,
        )
        assert reply.status_code == 200, reply.text
        assert source.process is not None
        pids = process_tree(source.process.pid)
        for pid in pids:
            reset_peak_rss(pid)
        at_start = {pid: peak_rss_bytes(pid) for pid in pids}
        order = {
            "name": "big-push",
            "version": "1.0",
            "posturl": f"{target.url}/{there.prod}/",
            "username": there.user,
            "password": "secret",
        }
        reply = api.http.request("PUSH", f"/{pair.dev}", json=order, headers=pair.auth, timeout=600)
        assert reply.status_code == 200, reply.text
        growth = {pid: peak_rss_bytes(pid) - at_start[pid] for pid in pids}
        assert max(growth.values()) < 64 * MIB, growth
        assert simple_files(target_api, there.prod, "big-push") == simple_files(
            api, pair.dev, "big-push"
        )
