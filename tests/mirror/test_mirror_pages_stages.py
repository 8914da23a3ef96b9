"""Mirrored pages seen through a stage on top of the mirror (merging and the whitelist rule),
the refresh route, deletes that drop the cache, refused uploads, and offline mode."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.mirror.pages_site import ROOT, Site
from tests.support import dists
from tests.support.api_checks import assert_error, current_serial
from tests.support.client import Api, basic
from tests.support.fake_upstream import FakeUpstream, Fault
from tests.support.server import ROOT_PASSWORD, ServerProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def site(
    server: ServerProcess, json_upstream: FakeUpstream, unique: Callable[[str], str]
) -> Iterator[Site]:
    """A non-volatile mirror (like root/pypi) whose pages stay fresh for an hour."""
    created = Site.create(
        server, json_upstream, unique("staged"), mirror_cache_expiry=3600, volatile=False
    )
    yield created
    created.close()


@pytest.fixture
def stage(site: Site, api: Api, unique: Callable[[str], str]) -> str:
    """``USER/stage`` with the mirror as its base; the user's password is "secret"."""
    user = unique("stager")
    api.create_user(user)
    api.create_index(f"{user}/stage", bases=[site.index])
    return f"{user}/stage"


def _auth(stage: str) -> dict[str, str]:
    return basic(stage.split("/")[0], "secret")


def _upload(api: Api, stage: str, name: str, version: str) -> str:
    filename, data = dists.make_wheel(name, version)
    reply = api.upload(stage, filename, data, auth=(stage.split("/")[0], "secret"))
    assert reply.status_code == 200, reply.text
    return filename


def test_a_stage_merges_private_and_mirrored_releases_of_a_whitelisted_project(
    site: Site, api: Api, stage: str
) -> None:
    api.http.patch(f"/{stage}", json=["mirror_whitelist+=mixed-pkg"], headers=_auth(stage))
    mirrored, _ = site.upstream.add_release("mixed-pkg", "1.0")
    private = _upload(api, stage, "mixed-pkg", "2.0")
    assert set(site.files("mixed-pkg", index=stage)) == {
        private,
        mirrored.filename,
        mirrored.filename.replace("-py3-none-any.whl", ".tar.gz"),
    }
    assert site.page_requests("mixed-pkg") == 1
    versions = api.http.get(f"/{stage}/mixed-pkg").json()["result"]
    assert sorted(versions) == ["1.0", "2.0"]


def test_a_private_project_hides_the_mirrored_one_and_asks_no_upstream(
    site: Site, api: Api, stage: str
) -> None:
    site.upstream.add_release("taken-pkg", "9.0")  # the dependency-confusion attempt
    private = _upload(api, stage, "taken-pkg", "1.0")
    assert set(site.files("taken-pkg", index=stage)) == {private}
    html = site.http.get(f"/{stage}/+simple/taken-pkg/").text
    assert "in the mirror_whitelist, no releases from" in html
    assert site.http.get(f"/{stage}/pypi/taken-pkg/json").json()["info"]["version"] == "1.0"
    assert site.page_requests("taken-pkg") == 0


def test_a_stage_serves_a_project_only_the_mirror_has(site: Site, stage: str) -> None:
    wheel, sdist = site.upstream.add_release("only-mirrored", "1.0")
    assert set(site.files("only-mirrored", index=stage)) == {wheel.filename, sdist.filename}
    assert set(site.files("only-mirrored")) == {wheel.filename, sdist.filename}
    assert site.page_requests("only-mirrored") == 1
    assert_error(site.page("nowhere-pkg", index=stage), 404)


def test_a_private_project_is_served_when_the_mirror_has_nothing_and_its_upstream_is_down(
    site: Site, api: Api, stage: str
) -> None:
    api.http.patch(f"/{stage}", json=["mirror_whitelist+=*"], headers=_auth(stage))
    private = _upload(api, stage, "down-pkg", "1.0")
    site.upstream.set_fault(Fault.DOWN)
    try:
        reply = site.page("down-pkg", index=stage)
    finally:
        site.upstream.set_fault(None)
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-cache"  # what the mirror adds is missing
    assert [f["filename"] for f in reply.json()["files"]] == [private]


def test_refresh_fetches_the_page_again_at_once(site: Site, stage: str) -> None:
    wheel, _ = site.upstream.add_release("Fresh.Pkg", "1.0")
    assert wheel.filename in site.files("fresh-pkg")
    newer, _ = site.upstream.add_release("Fresh.Pkg", "2.0")
    assert newer.filename not in site.files("fresh-pkg")  # within the expiry
    reply = site.http.post(f"/{site.index}/+simple/Fresh.Pkg/refresh")
    assert reply.status_code == 302
    assert reply.headers["location"].endswith(f"/{site.index}/+simple/fresh-pkg/")
    assert newer.filename in site.files("fresh-pkg")
    assert site.page_requests("fresh-pkg") == 2
    # Through a stage, and under /simple/ as well: the stage's mirror is asked again.
    latest, _ = site.upstream.add_release("Fresh.Pkg", "3.0")
    reply = site.http.post(f"/{stage}/simple/fresh-pkg/refresh")
    assert reply.status_code == 302
    assert reply.headers["location"].endswith(f"/{stage}/simple/fresh-pkg/")
    assert latest.filename in site.files("fresh-pkg", index=stage)
    assert site.page_requests("fresh-pkg") == 3


def test_refresh_refuses_bad_requests_precisely_and_changes_nothing(site: Site, api: Api) -> None:
    site.upstream.add_release("kept-pkg", "1.0")
    before = site.files("kept-pkg")
    serial = current_serial(api)
    assert_error(site.http.post("/root/no-such-index/+simple/kept-pkg/refresh"), 404)
    assert_error(site.http.post(f"/{site.index}/+simple/bad name!/refresh"), 400)
    assert_error(site.http.get(f"/{site.index}/+simple/kept-pkg/refresh"), 405, "POST")
    assert current_serial(api) == serial
    assert site.files("kept-pkg") == before
    assert site.page_requests("kept-pkg") == 1


def test_deleting_a_mirrored_project_drops_its_cache(site: Site, api: Api) -> None:
    old, _ = site.upstream.add_release("dropped-pkg", "1.0")
    assert old.filename in site.files("dropped-pkg")
    newer, _ = site.upstream.add_release("dropped-pkg", "2.0")
    refused = site.http.delete(f"/{site.index}/dropped-pkg", headers=ROOT)
    assert_error(refused, 403, "non-volatile")
    assert newer.filename not in site.files("dropped-pkg")  # still the cached page
    assert site.page_requests("dropped-pkg") == 1
    deleted = site.http.delete(f"/{site.index}/dropped-pkg?force", headers=ROOT)
    assert deleted.status_code == 200, deleted.text
    assert {old.filename, newer.filename} <= set(site.files("dropped-pkg"))
    assert site.page_requests("dropped-pkg") == 2


def test_deleting_a_mirrored_version_or_file_drops_the_page_cache(site: Site) -> None:
    wheel, sdist = site.upstream.add_release("trimmed-pkg", "1.0")
    site.upstream.add_release("trimmed-pkg", "2.0")
    files = site.files("trimmed-pkg")
    deleted = site.http.delete(f"/{site.index}/trimmed-pkg/1.0?force", headers=ROOT)
    assert deleted.status_code == 200, deleted.text
    assert set(site.files("trimmed-pkg")) == set(files)  # fetched again: links are back
    assert site.page_requests("trimmed-pkg") == 2
    file_url = httpx.URL(files[wheel.filename]["url"]).path
    assert site.http.get(file_url).content == wheel.data
    deleted = site.http.delete(f"{file_url}?force", headers=ROOT)
    assert deleted.status_code == 200, deleted.text
    assert wheel.filename in site.files("trimmed-pkg")
    assert site.page_requests("trimmed-pkg") == 3
    assert sdist.filename in files


def test_uploads_to_a_mirror_are_refused_whatever_the_action(site: Site, api: Api) -> None:
    site.upstream.add_release("upload-pkg", "1.0")
    before = site.files("upload-pkg")
    filename, data = dists.make_wheel("upload-pkg", "3.0")
    serial = current_serial(api)
    for action in ("file_upload", "submit", "doc_upload"):
        reply = api.upload(site.index, filename, data, auth=("root", ROOT_PASSWORD), action=action)
        assert_error(reply, 404, "cannot submit to mirror index")
    assert current_serial(api) == serial
    assert site.files("upload-pkg") == before


def test_offline_mode_lists_only_cached_files_and_asks_no_upstream(
    start_server: Callable[..., ServerProcess], json_upstream: FakeUpstream
) -> None:
    online = start_server()
    site = Site.create(online, json_upstream, "offmirror", mirror_cache_expiry=1)
    wheel, sdist = json_upstream.add_release("cached-pkg", "1.0")
    files = site.files("cached-pkg")
    fetched = site.http.get(httpx.URL(files[wheel.filename]["url"]).path)
    assert fetched.content == wheel.data
    json_upstream.add_release("empty-pkg", "1.0")
    assert set(site.files("empty-pkg"))  # page fetched, no file
    site.close()
    online.stop()
    time.sleep(1.1)  # every stored page has expired: an online server would ask again
    offline = start_server(serverdir=online.serverdir, extra_args=["--offline-mode"])
    asked = len(json_upstream.requests)
    site.http = httpx.Client(base_url=offline.url, timeout=60)
    try:
        assert set(site.files("cached-pkg")) == {wheel.filename}
        assert sdist.filename not in site.http.get(f"/{site.index}/+simple/cached-pkg/").text
        assert site.files("empty-pkg") == {}
        message = assert_error(site.page("never-fetched"), 404, "offline mode")
        assert "never-fetched" in message
        refresh = site.http.post(f"/{site.index}/+simple/cached-pkg/refresh")
        assert refresh.status_code == 302
        devpi = site.http.get(f"/{site.index}/cached-pkg", headers={"Accept": "application/json"})
        assert [
            link["href"].rsplit("/", 1)[1] for link in devpi.json()["result"]["1.0"]["+links"]
        ] == [wheel.filename]
        assert len(json_upstream.requests) == asked
    finally:
        site.close()
