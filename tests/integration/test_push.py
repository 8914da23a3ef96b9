"""Push to another index of the server (``targetindex``), as devpi-client's ``devpi push``
asks: metadata, release files, tox results and docs in one transaction, or nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.fake_upstream import FakeUpstream, Fault, running
from tests.support.pushing import (  # noqa: F401 - the pair fixture too
    ANY,
    PROJECT,
    Pair,
    assert_refused,
    fixture_pair,
    links,
    make_pair,
    push,
    release,
    relpath,
    serial,
    state,
    to_prod,
    upload,
    upload_docs,
    version_data,
)
from tests.support.server import ROOT_PASSWORD
from tests.support.stages import SIMPLE_JSON, simple_files
from tests.support.uploading import DOCS, zip_of

# a push to another index of the server


@pytest.mark.parametrize(
    ("method", "suffix"), [("PUSH", ""), ("POST", ""), ("POST", "/")], ids=["PUSH", "POST", "POST/"]
)
def test_a_push_copies_metadata_and_files_with_a_push_log_entry(
    pair: Pair, method: str, suffix: str
) -> None:
    files = release(pair, summary="pushed along")
    reply = push(pair, to_prod(pair), method=method, path=f"/{pair.dev}{suffix}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["type"] == "actionlog"
    assert body["result"][0] == [200, "register", PROJECT, "1.0", "->", pair.prod]
    stored = sorted(body["result"][1:])
    assert stored == sorted(
        [200, "store_releasefile", relpath(p, pair.prod)] for p in files.values()
    )
    api = pair.api
    for url_path in files.values():
        source = api.http.get(url_path, headers=ANY)
        copied = api.http.get("/" + relpath(url_path, pair.prod), headers=ANY)
        assert copied.status_code == 200
        assert copied.content == source.content
        assert copied.headers["etag"] == source.headers["etag"]
    assert simple_files(api, pair.prod, PROJECT) == simple_files(api, pair.dev, PROJECT)
    data = version_data(api, pair.prod)
    assert data["summary"] == "pushed along"
    for link in links(api, pair.prod, "releasefile"):
        upload_entry, push_entry = link["log"]
        assert upload_entry["what"] == "upload"
        assert push_entry == {
            "what": "push",
            "who": pair.user,
            "when": push_entry["when"],
            "src": pair.dev,
            "dst": pair.prod,
        }
        assert len(push_entry["when"]) == 6


def test_the_pushed_release_is_on_the_target_project_list_and_installable_page(pair: Pair) -> None:
    release(pair)
    assert push(pair, to_prod(pair)).status_code == 200
    names = pair.api.http.get(f"/{pair.prod}/+simple/", headers=SIMPLE_JSON).json()["projects"]
    assert [p["name"] for p in names] == [PROJECT]
    page = pair.api.http.get(f"/{pair.prod}/+simple/{PROJECT}/", headers={"Accept": "text/html"})
    assert page.text.count(f"/{pair.prod}/+f/") == 2


def test_only_the_named_version_is_pushed(pair: Pair) -> None:
    release(pair, "1.0")
    release(pair, "2.0")
    assert push(pair, to_prod(pair, "2.0")).status_code == 200
    versions = pair.api.http.get(f"/{pair.prod}/{PROJECT}").json()["result"]
    assert list(versions) == ["2.0"]


def test_docs_travel_with_the_release_unless_no_docs(
    pair: Pair, unique: Callable[[str], str]
) -> None:
    release(pair)
    upload_docs(pair, "1.0")
    reply = push(pair, to_prod(pair))
    assert reply.status_code == 200, reply.text
    assert reply.json()["result"][-1] == [200, "store_doczip", PROJECT, "1.0", "->", pair.prod]
    [doczip] = links(pair.api, pair.prod, "doczip")
    [original] = links(pair.api, pair.dev, "doczip")
    assert doczip["hashes"] == original["hashes"]
    assert [e["what"] for e in doczip["log"]] == ["upload", "push"]
    assert pair.api.http.get(doczip["href"], headers=ANY).content == DOCS
    page = pair.api.http.get(f"/{pair.prod}/{PROJECT}/1.0/+doc/index.html", headers=ANY)
    assert (page.status_code, page.content) == (200, b"<h1>docs</h1>")

    other = make_pair(pair.api, unique)
    release(other)
    upload_docs(other, "1.0")
    reply = push(other, to_prod(other, no_docs=True))
    assert reply.status_code == 200, reply.text
    assert [a[1] for a in reply.json()["result"]] == ["register", *["store_releasefile"] * 2]
    assert links(other.api, other.prod, "doczip") == []
    assert len(links(other.api, other.prod, "releasefile")) == 2


def test_only_docs_pushes_just_the_doc_zip(pair: Pair) -> None:
    release(pair)
    upload_docs(pair, "1.0")
    reply = push(pair, to_prod(pair, only_docs=True))
    assert reply.status_code == 200, reply.text
    assert reply.json()["result"] == [
        [200, "register", PROJECT, "1.0", "->", pair.prod],
        [200, "store_doczip", PROJECT, "1.0", "->", pair.prod],
    ]
    assert [link["rel"] for link in version_data(pair.api, pair.prod)["+links"]] == ["doczip"]
    # Once the version is there, only the docs change: new docs replace the old ones.
    upload_docs(pair, "1.0", zip_of({"index.html": b"<h1>second</h1>"}))
    reply = push(pair, to_prod(pair, only_docs=True))
    assert reply.json()["result"] == [[200, "store_doczip", PROJECT, "1.0", "->", pair.prod]]
    [doczip] = links(pair.api, pair.prod, "doczip")
    assert b"second" in pair.api.http.get(doczip["href"], headers=ANY).content


def test_tox_results_travel_with_their_release_file(pair: Pair) -> None:
    url_path = upload(pair, dists.make_wheel(PROJECT, "1.0"))
    report = b'{"reportversion": "1", "testenvs": {"py3": {}}}'
    posted = pair.api.http.post(
        url_path, content=report, headers={**pair.auth, "Content-Type": "application/json"}
    )
    assert posted.status_code == 200, posted.text
    reply = push(pair, to_prod(pair))
    assert reply.status_code == 200, reply.text
    [toxresult] = links(pair.api, pair.prod, "toxresult")
    [wheel] = links(pair.api, pair.prod, "releasefile")
    assert toxresult["for_href"] == wheel["href"]
    assert toxresult["href"].startswith(f"{pair.api.url}/{pair.prod}/+f/")
    assert [e["what"] for e in toxresult["log"]][-1] == "push"
    assert pair.api.http.get(toxresult["href"], headers=ANY).content == report
    actions = reply.json()["result"]
    assert actions[2] == [200, "store_toxresult", toxresult["href"].split("/", 3)[3]]


def test_a_push_of_what_the_target_already_has_changes_nothing(
    api: Api, unique: Callable[[str], str]
) -> None:
    pair = make_pair(api, unique, volatile=False)
    release(pair)
    assert push(pair, to_prod(pair)).status_code == 200
    before = state(api, pair.prod)
    reply = push(pair, to_prod(pair))
    assert reply.status_code == 200, reply.text
    assert state(api, pair.prod) == before


def test_a_volatile_target_takes_other_content_under_the_same_name(pair: Pair) -> None:
    wheel = dists.make_wheel(PROJECT, "1.0", payload=b"# on prod\n")
    upload(pair, wheel, index=pair.prod)
    release(pair)
    reply = push(pair, to_prod(pair))
    assert reply.status_code == 200, reply.text
    assert simple_files(pair.api, pair.prod, PROJECT) == simple_files(pair.api, pair.dev, PROJECT)


def test_a_push_to_an_index_of_another_user_needs_its_upload_permission(
    pair: Pair, unique: Callable[[str], str]
) -> None:
    other = make_pair(pair.api, unique)
    release(pair)
    body = {"name": PROJECT, "version": "1.0", "targetindex": other.prod}
    before = state(pair.api, other.prod)
    assert_refused(push(pair, body), 401, f"user {pair.user!r} cannot upload to {other.prod!r}")
    assert_refused(
        push(pair, body, headers={}), 401, f"authentication required to upload to {other.prod!r}"
    )
    assert state(pair.api, other.prod) == before
    patched = pair.api.http.patch(
        f"/{other.prod}", json=[f"acl_upload+={pair.user}"], headers=other.auth
    )
    assert patched.status_code == 200, patched.text
    assert push(pair, body).status_code == 200
    assert len(simple_files(pair.api, other.prod, PROJECT)) == 2


# refusals


BOTH_DOCS = "can't use 'no_docs' and 'only_docs' together"
MIXED = "username: only for a push to a 'posturl', not to a 'targetindex'"
BAD_POSTURL = "posturl 'ftp://x/' is not an http or https URL"
NO_TARGET = "a push needs a 'targetindex' (user/index) or a 'posturl'"
BAD_BODIES = [
    ("unknown-key", {"foo": 1}, "unknown additional options: foo"),
    ("unknown-keys", {"foo": 1, "bar": 2}, "unknown additional options: bar, foo"),
    ("no-version", {"version": None}, "no name/version specified in json"),
    ("no-name", {"name": ""}, "no name/version specified in json"),
    ("both-docs", {"no_docs": True, "only_docs": True}, BOTH_DOCS),
    ("target-format", {"targetindex": "just-one"}, "targetindex not in format user/index"),
    ("target-three", {"targetindex": "a/b/c"}, "targetindex not in format user/index"),
    ("target-type", {"targetindex": 3}, "targetindex: expected `str | null`, got `int`"),
    ("flag-type", {"no_docs": "yes"}, "no_docs: expected `bool | null`, got `str`"),
    ("no-files", {"version": "7.0"}, "there are no files for hello-pkg 7.0 on stage {dev}"),
    ("bad-version", {"version": "not a version"}, "invalid version 'not a version' (not PEP 440)"),
    ("mixed", {"username": "x"}, MIXED),
    ("no-target", {"targetindex": None}, NO_TARGET),
    ("bad-posturl", {"targetindex": None, "posturl": "ftp://x/"}, BAD_POSTURL),
    ("long-name", {"name": "n" * 1001}, "name: expected `str` of length <= 1000"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"), [c[1:] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES]
)
def test_a_bad_push_is_400_and_changes_nothing(
    pair: Pair, change: dict[str, Any], message: str
) -> None:
    release(pair)
    body = {k: v for k, v in {**to_prod(pair), **change}.items() if v is not None}
    before = state(pair.api, pair.prod)
    assert_refused(push(pair, body), 400, message.format(dev=pair.dev))
    assert state(pair.api, pair.prod) == before


def test_a_body_that_is_not_json_is_400(pair: Pair) -> None:
    reply = pair.api.http.request(
        "PUSH",
        f"/{pair.dev}",
        content=b"{nope",
        headers={**pair.auth, "Content-Type": "application/json"},
    )
    assert reply.status_code == 400
    assert reply.json()["message"].startswith("could not decode JSON")


@pytest.mark.parametrize("content", [b"[]", b'["name", "version"]', b'"hello-pkg"', b"42", b"null"])
def test_a_body_that_is_json_but_not_an_object_is_400(pair: Pair, content: bytes) -> None:
    release(pair)
    before = state(pair.api, pair.prod)
    reply = pair.api.http.request(
        "PUSH",
        f"/{pair.dev}",
        content=content,
        headers={**pair.auth, "Content-Type": "application/json"},
    )
    assert_refused(reply, 400, "a push expects a JSON object")
    assert state(pair.api, pair.prod) == before


def test_a_push_to_an_unknown_index_or_from_one_is_404(pair: Pair) -> None:
    release(pair)
    before = serial(pair.api)
    reply = push(pair, to_prod(pair) | {"targetindex": f"{pair.user}/nothing"})
    assert_refused(reply, 404, f"The stage {pair.user}/nothing could not be found.")
    reply = push(pair, to_prod(pair), path=f"/{pair.user}/nothing")
    assert_refused(reply, 404, f"The stage {pair.user}/nothing could not be found.")
    assert serial(pair.api) == before


def test_a_push_to_a_mirror_is_refused(pair: Pair) -> None:
    release(pair)
    before = serial(pair.api)
    reply = push(
        pair, to_prod(pair) | {"targetindex": "root/pypi"}, headers=basic("root", ROOT_PASSWORD)
    )
    assert_refused(
        reply, 400, "cannot push to mirror index root/pypi: it only holds what its upstream has"
    )
    assert serial(pair.api) == before


def test_a_version_with_only_docs_has_no_release_files_to_push(pair: Pair) -> None:
    release(pair, "1.0")
    upload_docs(pair, "2.0")
    before = state(pair.api, pair.prod)
    message = f"no release files found for hello-pkg 2.0 on stage {pair.dev}"
    assert_refused(push(pair, to_prod(pair, "2.0")), 404, message)
    message = f"there is no documentation for hello-pkg 1.0 on stage {pair.dev}"
    assert_refused(push(pair, to_prod(pair, "1.0", only_docs=True)), 400, message)
    assert state(pair.api, pair.prod) == before


def test_an_inherited_release_is_not_pushed(pair: Pair) -> None:
    release(pair)
    child = f"{pair.user}/child"
    pair.api.create_index(child, bases=[pair.dev])
    before = state(pair.api, pair.prod)
    reply = push(pair, to_prod(pair), path=f"/{child}")
    assert_refused(reply, 400, f"there are no files for hello-pkg 1.0 on stage {child}")
    assert state(pair.api, pair.prod) == before


def test_other_content_under_a_name_a_non_volatile_target_has_is_409_and_nothing_changes(
    api: Api, unique: Callable[[str], str]
) -> None:
    pair = make_pair(api, unique, volatile=False)
    # prod has the sdist already, with other bytes; the wheel would be new there.
    upload(pair, dists.make_sdist(PROJECT, "1.0", summary="other bytes"), index=pair.prod)
    release(pair, summary="from dev")
    upload_docs(pair, "1.0")
    before = state(api, pair.prod)
    sdist = dists.make_sdist(PROJECT, "1.0")[0]
    assert_refused(push(pair, to_prod(pair)), 409, f"{sdist} already exists in non-volatile index")
    assert state(api, pair.prod) == before
    assert version_data(api, pair.prod)["summary"] == "other bytes"


# a push from a mirror


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with running("json") as fake:
        yield fake


def make_mirror(api: Api, upstream: FakeUpstream, unique: Callable[[str], str]) -> str:
    path = f"root/{unique('pushmirror')}"
    config = {"type": "mirror", "mirror_url": upstream.url, "mirror_cache_expiry": 3600}
    reply = api.http.put(f"/{path}", json=config, headers=api.as_root())
    assert reply.status_code == 201, reply.text
    return path


def test_a_release_on_a_mirror_is_fetched_once_and_pushed(
    pair: Pair, upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    mirror = make_mirror(pair.api, upstream, unique)
    project = unique("mirrored-pkg")
    built = upstream.add_release(project, "1.0", requires_python=">=3.8")
    body = {"name": project, "version": "1.0", "targetindex": pair.prod}
    for _ in range(2):  # the second push finds both files cached on the mirror
        reply = push(pair, body, path=f"/{mirror}")
        assert reply.status_code == 200, reply.text
    expected = {f.filename: hashlib.sha256(f.data).hexdigest() for f in built}
    assert simple_files(pair.api, pair.prod, project) == expected
    for file in built:
        assert upstream.downloads_of(file.filename) == 1
        sha256 = expected[file.filename]
        url = f"/{pair.prod}/+f/{sha256[:3]}/{sha256[3:16]}/{file.filename}"
        assert pair.api.http.get(url, headers=ANY).content == file.data
    data = pair.api.http.get(f"/{pair.prod}/{project}/1.0").json()["result"]
    assert (data["version"], data["requires_python"]) == ("1.0", ">=3.8")
    for link in data["+links"]:
        assert [e["what"] for e in link["log"]] == ["push"]
        assert link["log"][0]["src"] == mirror


def test_a_mirrored_file_that_cannot_be_fetched_is_502_and_nothing_is_pushed(
    pair: Pair, upstream: FakeUpstream, unique: Callable[[str], str]
) -> None:
    mirror = make_mirror(pair.api, upstream, unique)
    project = unique("unfetched-pkg")
    upstream.add_release(project, "1.0")
    page = pair.api.http.get(f"/{mirror}/+simple/{project}/", headers=SIMPLE_JSON)
    assert page.status_code == 200, page.text  # the links are stored, no file is
    upstream.set_fault(Fault.DOWN)
    before = state(pair.api, pair.prod, project)
    reply = push(
        pair, {"name": project, "version": "1.0", "targetindex": pair.prod}, path=f"/{mirror}"
    )
    assert reply.status_code == 502, reply.text
    assert reply.json()["message"].startswith(f"upstream {upstream.base}/files/")
    assert state(pair.api, pair.prod, project) == before
