"""Tox results (``devpi test``): posted to a release file's URL, kept byte for byte, linked as
``rel=toxresult`` in version JSON, refused precisely, and deleted with their release file."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from devpi_common.viewhelp import ViewLinkStore, iter_toxresults

from tests.support import dists
from tests.support.client import basic
from tests.support.server import ServerProcess
from tests.support.uploading import (  # noqa: F401 - fixtures too
    DOCS,
    SIMPLE_JSON,
    Stage,
    assert_refused,
    fixture_make_stage,
    fixture_no_server_errors,
    fixture_stage,
    post,
    snapshot,
    upload,
)

pytestmark = pytest.mark.usefixtures("no_server_errors")

ANY = {"Accept": "*/*"}
WHEEL = "hello_pkg-1.0-py3-none-any.whl"
REPORT = b'{"reportversion": "1",  "host": "h\xc3\xa9", "testenvs": {}}\n'  # kept as sent
LIMIT = 10 * 1024 * 1024
TOX = Path(sys.executable).parent / "tox"


# helpers


def version_data(stage: Stage, version: str = "1.0") -> dict[str, Any]:
    reply = stage.api.http.get(f"/{stage.path}/hello-pkg/{version}")
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()["result"]
    return data


def links(stage: Stage, rel: str) -> list[dict[str, Any]]:
    return [link for link in version_data(stage)["+links"] if link["rel"] == rel]


def release_href(stage: Stage, filename: str = WHEEL) -> str:
    [href] = [
        link["href"] for link in links(stage, "releasefile") if link["href"].endswith(filename)
    ]
    return str(href)


def client_tox_links(stage: Stage, for_href: str) -> list[Any]:
    """The tox results of a release file as ``devpi list -t`` finds them (devpi-common)."""
    url = f"{stage.api.url}/{stage.path}/hello-pkg/1.0"
    store = ViewLinkStore(url, version_data(stage))  # type: ignore[no-untyped-call]
    found: list[Any] = store.get_links(rel="toxresult", for_href=for_href)  # type: ignore[no-untyped-call]
    return found


def path_of(stage: Stage, href: str) -> str:
    return href.removeprefix(stage.api.url)


def post_report(
    stage: Stage,
    body: bytes = REPORT,
    *,
    href: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """What devpi-client does after ``devpi test``: POST the report to the file's URL."""
    url = path_of(stage, href or release_href(stage))
    sent = {"Content-Type": "application/json", **(headers or {})}
    return stage.api.http.post(url, content=body, headers=sent)


def posted_relpath(reply: httpx.Response) -> str:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["type"] == "toxresultpath"
    relpath, _, fragment = str(body["result"]).partition("#")
    assert fragment.startswith("sha256=")
    return relpath


def serial(stage: Stage) -> int:
    return int(stage.api.http.get("/+api").headers["x-devpi-serial"])


def blob_exists(server: ServerProcess, data: bytes) -> bool:
    digest = hashlib.sha256(data).hexdigest()
    return (server.serverdir / "+blobs" / digest[:2] / digest[2:4] / digest).exists()


# storing and reading back


def test_a_report_is_stored_byte_for_byte_beside_its_release_file(stage: Stage) -> None:
    href = release_href(stage)
    before = serial(stage)
    reply = post_report(stage)
    assert reply.status_code == 200, reply.text
    digest = hashlib.sha256(REPORT).hexdigest()
    directory = path_of(stage, href).lstrip("/").rsplit("/", 1)[0]
    pattern = rf"{re.escape(directory)}/{re.escape(WHEEL)}\.toxresult-\d{{14}}-0#sha256={digest}"
    assert re.fullmatch(pattern, reply.json()["result"]), reply.json()
    assert serial(stage) == before + 1
    relpath = posted_relpath(reply)
    stored = stage.api.http.get(f"/{relpath}", headers=ANY)
    assert stored.status_code == 200
    assert stored.content == REPORT
    assert stored.headers["content-type"] == "application/json"


def test_version_json_links_the_report_to_its_release_file(stage: Stage) -> None:
    relpath = posted_relpath(post_report(stage))
    href = release_href(stage)
    [link] = links(stage, "toxresult")
    assert link["href"] == f"{stage.api.url}/{relpath}"
    assert link["for_href"] == href
    assert link["hash_spec"] == f"sha256={hashlib.sha256(REPORT).hexdigest()}"
    [entry] = link["log"]
    assert entry["what"] == "upload"
    assert entry["who"] is None  # anonymous, as devpi allows by default
    assert entry["dst"] == stage.path
    assert len(entry["when"]) == 6
    # devpi-client finds it the way `devpi list -t` does.
    [found] = client_tox_links(stage, href)
    assert found.href == link["href"]


def public_views(stage: Stage) -> list[str]:
    """Simple pages (both formats), the project list and the PyPI-style JSON of hello-pkg."""
    http = stage.api.http
    pypi_json = http.get(f"/{stage.path}/pypi/hello-pkg/json").json()
    del pypi_json["last_serial"]  # the global serial: every write moves it
    return [
        http.get(f"/{stage.path}/+simple/hello-pkg/", headers=SIMPLE_JSON).text,
        http.get(f"/{stage.path}/+simple/hello-pkg/", headers={"Accept": "text/html"}).text,
        http.get(f"/{stage.path}/+simple/", headers=SIMPLE_JSON).text,
        json.dumps(pypi_json),
    ]


def test_reports_never_show_on_simple_pages_or_project_lists(stage: Stage) -> None:
    before = public_views(stage)
    relpath = posted_relpath(post_report(stage))
    after = public_views(stage)
    assert after == before
    assert "toxresult" not in "".join(after)
    assert relpath.rsplit("/", 1)[1] not in "".join(after)
    index = stage.api.http.get(f"/{stage.path}").json()["result"]
    assert index["projects"] == ["hello-pkg"]


def test_two_reports_for_one_file_and_none_for_another(stage: Stage) -> None:
    assert (
        upload(stage, dists.make_sdist("hello-pkg", "1.0"), "hello-pkg", "1.0").status_code == 200
    )
    first_body, second_body = b'{"run": 1}', b'{"run": 2}'
    first = posted_relpath(post_report(stage, first_body))
    second = posted_relpath(post_report(stage, second_body))
    assert first != second
    for relpath, body in ((first, first_body), (second, second_body)):
        assert stage.api.http.get(f"/{relpath}", headers=ANY).content == body
    wheel_href = release_href(stage)
    sdist_href = release_href(stage, "hello_pkg-1.0.tar.gz")
    tox_links = links(stage, "toxresult")
    assert sorted(link["href"] for link in tox_links) == sorted(
        f"{stage.api.url}/{relpath}" for relpath in (first, second)
    )
    assert {link["for_href"] for link in tox_links} == {wheel_href}
    assert client_tox_links(stage, sdist_href) == []


def test_anyone_may_post_by_default_also_to_a_non_volatile_index(
    make_stage: Callable[..., Stage],
) -> None:
    fixed = make_stage(volatile=False)
    built = dists.make_wheel("hello-pkg", "1.0")
    assert upload(fixed, built, "hello-pkg", "1.0").status_code == 200
    config = fixed.api.http.get(f"/{fixed.path}").json()["result"]
    assert config["acl_toxresult_upload"] == [":ANONYMOUS:"]
    posted_relpath(post_report(fixed))
    posted_relpath(post_report(fixed, headers=fixed.auth))
    who = sorted(str(link["log"][0]["who"]) for link in links(fixed, "toxresult"))
    assert who == ["None", fixed.user]


# refusals


def test_a_restricted_acl_refuses_others_and_changes_nothing(
    make_stage: Callable[..., Stage], unique: Callable[[str], str]
) -> None:
    restricted = make_stage()
    restricted.api.http.patch(
        f"/{restricted.path}",
        json={"acl_toxresult_upload": [restricted.user]},
        headers=restricted.auth,
    ).raise_for_status()
    built = dists.make_wheel("hello-pkg", "1.0")
    assert upload(restricted, built, "hello-pkg", "1.0").status_code == 200
    other = unique("other")
    restricted.api.create_user(other)
    before = snapshot(restricted, "hello-pkg")

    anonymous = post_report(restricted)
    assert_refused(
        anonymous, 401, f"authentication required to post tox results to {restricted.path}"
    )
    assert "WWW-Authenticate" in anonymous.headers
    wrong_password = post_report(restricted, headers=basic(restricted.user, "wrong"))
    assert_refused(wrong_password, 401, f"user '{restricted.user}' could not be authenticated")
    forbidden = post_report(restricted, headers=basic(other, "secret"))
    assert_refused(
        forbidden,
        403,
        f"user '{other}' may not post tox results to {restricted.path} "
        "(see its acl_toxresult_upload); use 'devpi test --no-upload' "
        "to test without posting the results",
    )
    assert snapshot(restricted, "hello-pkg") == before
    posted_relpath(post_report(restricted, headers=restricted.auth))


TOO_LARGE = f"the tox result is larger than {LIMIT} bytes"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "the tox result is not valid JSON: "),
        (b'{"a": 1', 400, "the tox result is not valid JSON: "),
        (b'{"a": "\xff"}', 400, "the tox result is not valid JSON: "),
        (b"", 400, "the tox result is empty: expected a JSON object"),
        (b"  \n", 400, "the tox result is empty: expected a JSON object"),
        (b"[1, 2]", 400, "a tox result must be a JSON object, not a list"),
        (b'"text"', 400, "a tox result must be a JSON object, not a JSON str"),
        (b"42", 400, "a tox result must be a JSON object, not a JSON int"),
        (b"null", 400, "a tox result must be a JSON object, not a JSON NoneType"),
        (b'{"x": "' + b"y" * LIMIT + b'"}', 413, TOO_LARGE),
    ],
    ids=[
        "junk",
        "truncated",
        "not-utf8",
        "empty",
        "blank",
        "list",
        "string",
        "number",
        "null",
        "huge",
    ],
)
def test_bad_reports_are_refused_and_change_nothing(
    stage: Stage, server: ServerProcess, body: bytes, status: int, message: str
) -> None:
    before = snapshot(stage, "hello-pkg"), version_data(stage)
    reply = post_report(stage, body)
    assert reply.status_code == status, reply.text
    assert reply.json()["message"].startswith(message)
    assert reply.reason_phrase.startswith(message.strip())
    assert (snapshot(stage, "hello-pkg"), version_data(stage)) == before
    assert not blob_exists(server, body)


def test_a_report_that_grows_too_large_while_streamed_is_413(
    stage: Stage, server: ServerProcess
) -> None:
    before = snapshot(stage, "hello-pkg"), version_data(stage)

    def chunks() -> Iterator[bytes]:
        yield b'{"x": "'
        for _ in range(11):
            yield b"y" * (1024 * 1024)
        yield b'"}'

    reply = httpx.post(
        release_href(stage), content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_refused(reply, 413, TOO_LARGE)
    assert (snapshot(stage, "hello-pkg"), version_data(stage)) == before
    posted_relpath(post_report(stage))  # and the server is fine afterwards


def test_a_path_that_is_no_release_file_is_404_and_changes_nothing(stage: Stage) -> None:
    docs_form = [(":action", "doc_upload"), ("name", "hello-pkg"), ("version", "1.0")]
    assert post(stage, docs_form, ("docs.zip", DOCS)).status_code == 200
    tox_relpath = posted_relpath(post_report(stage))
    [doc_href] = [link["href"] for link in links(stage, "doczip")]
    wheel_path = path_of(stage, release_href(stage))
    before = snapshot(stage, "hello-pkg"), version_data(stage)
    unknown = f"{stage.path}/+f/abc/def0123456789/hello_pkg-9.9-py3-none-any.whl"
    cases = [
        unknown,
        path_of(stage, doc_href).lstrip("/"),
        tox_relpath,
        wheel_path.lstrip("/") + ".metadata",
        f"{stage.path}/+f/{wheel_path.rsplit('/', 1)[1]}",
    ]
    for relpath in cases:
        reply = stage.api.http.post(f"/{relpath}", content=REPORT)
        assert_refused(reply, 404, f"no release file found at {relpath}")
    missing_index = stage.api.http.post(f"/{stage.user}/nope/+f/{wheel_path.split('/+f/')[1]}")
    assert_refused(missing_index, 404, f"The stage {stage.user}/nope could not be found.")
    assert (snapshot(stage, "hello-pkg"), version_data(stage)) == before


def test_a_mirror_index_keeps_no_reports(stage: Stage) -> None:
    mirror = f"{stage.user}/mirror"
    stage.api.create_index(mirror, type="mirror", mirror_url="http://127.0.0.1:9/simple/")
    relpath = f"{mirror}/+f/abc/def0123456789/hello_pkg-1.0-py3-none-any.whl"
    before = serial(stage)
    reply = stage.api.http.post(f"/{relpath}", content=REPORT, headers=stage.auth)
    assert_refused(
        reply,
        404,
        f"no release file found at {relpath}: {mirror} is a mirror index, "
        "which keeps no tox results",
    )
    assert serial(stage) == before


# deletes


@pytest.mark.parametrize("deleted", ["file", "version", "project"])
def test_deleting_the_release_deletes_its_reports(stage: Stage, deleted: str) -> None:
    assert (
        upload(stage, dists.make_wheel("hello-pkg", "2.0"), "hello-pkg", "2.0").status_code == 200
    )
    relpath = posted_relpath(post_report(stage))
    href = release_href(stage)
    target = {
        "file": path_of(stage, href),
        "version": f"/{stage.path}/hello-pkg/1.0",
        "project": f"/{stage.path}/hello-pkg",
    }[deleted]
    reply = stage.api.http.delete(target, headers=stage.auth)
    assert reply.status_code == 200, reply.text
    assert stage.api.http.get(f"/{relpath}", headers=ANY).status_code == 410
    project = stage.api.http.get(f"/{stage.path}/hello-pkg")
    if deleted == "project":
        assert project.status_code == 404
        return
    remaining = [link for data in project.json()["result"].values() for link in data["+links"]]
    assert [link["rel"] for link in remaining] == ["releasefile"]
    assert "toxresult" not in json.dumps(remaining)
    again = post_report(stage, href=href)
    assert_refused(again, 404, f"no release file found at {path_of(stage, href).lstrip('/')}")


def test_deleting_a_report_keeps_its_release_file(stage: Stage) -> None:
    relpath = posted_relpath(post_report(stage))
    reply = stage.api.http.delete(f"/{relpath}", headers=stage.auth)
    assert reply.status_code == 200, reply.text
    assert links(stage, "toxresult") == []
    assert len(links(stage, "releasefile")) == 1
    again = posted_relpath(post_report(stage))
    assert again != relpath  # a deleted report's URL is never reused
    assert stage.api.http.get(f"/{relpath}", headers=ANY).status_code == 410


# a real tox report


TOX_INI = """\
[tox]
envlist = passing, failing
[testenv]
skip_install = true
[testenv:passing]
commands = python -c "print(1)"
[testenv:failing]
commands = python -c "raise SystemExit(3)"
"""


@pytest.fixture(scope="module")
def tox_report(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The ``--result-json`` of a real tox 4 run: offline, without this machine's config."""
    work = tmp_path_factory.mktemp("tox")
    (work / "tox.ini").write_text(TOX_INI)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "TOX_", "VIRTUALENV_", "UV_", "PYTHON"))
    }
    env.update(
        HOME=str(work / "home"),
        TOX_USER_CONFIG_FILE=str(work / "no-tox-config"),
        VIRTUALENV_CONFIG_FILE=str(work / "no-virtualenv-config"),
        VIRTUALENV_OVERRIDE_APP_DATA=str(work / "app-data"),
        VIRTUALENV_NO_PERIODIC_UPDATE="1",
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
    )
    command = [str(TOX), "-c", str(work / "tox.ini"), "--workdir", str(work / ".tox")]
    command += ["--result-json", str(work / "report.json")]
    run = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0, run.stdout  # the failing env fails the run
    assert "passing: OK" in run.stdout, run.stdout + run.stderr
    return (work / "report.json").read_bytes()


def test_a_real_tox_report_reads_back_as_devpi_list_shows_it(
    stage: Stage, tox_report: bytes
) -> None:
    relpath = posted_relpath(post_report(stage, tox_report))
    assert stage.api.http.get(f"/{relpath}", headers=ANY).content == tox_report
    tox_links = client_tox_links(stage, release_href(stage))

    def load(link: Any) -> Any:
        reply = httpx.get(link.href)  # as devpi-client's session does: no JSON Accept
        assert reply.status_code == 200
        return json.loads(reply.content.decode("utf8"))

    [(link, envs)] = list(iter_toxresults(tox_links, load))  # type: ignore[no-untyped-call]
    assert envs is not None
    assert link.href == f"{stage.api.url}/{relpath}"
    outcome = {env.envname: (bool(env.test["commands"]), env.test["failed"]) for env in envs}
    assert outcome == {"passing": (True, False), "failing": (True, True)}
    assert all(env.pyversion for env in envs)
