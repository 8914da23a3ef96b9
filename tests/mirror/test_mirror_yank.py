"""Yanking (``PATCH /USER/INDEX/PROJECT/VERSION``) on a mirror index is refused: a mirror's
releases, and whether they are yanked, are its upstream's. A yank stored here would be undone
by the next page sync, and an un-yank would hide what the upstream says. Nothing changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.mirror.pages_site import ROOT, SIMPLE_JSON, Site
from tests.support.api_checks import assert_error
from tests.support.client import Api, basic
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def site(
    server: ServerProcess, json_upstream: FakeUpstream, unique: Callable[[str], str]
) -> Iterator[Site]:
    made = Site.create(server, json_upstream, unique("yankmirror"))
    yield made
    made.close()


def project_of(site: Site) -> str:
    return site.index.split("/")[1] + "-pkg"


def everything(site: Site, project: str, *indexes: str) -> list[Any]:
    """All a yank could change, seen through each index: serial, pages, JSON."""
    http = site.http
    state: list[Any] = [http.get("/+status").json()["result"]["serial"]]
    for index in indexes:
        for path in (
            f"/{index}/+simple/{project}/",
            f"/{index}/{project}",
            f"/{index}/{project}/1.0",
            f"/{index}/pypi/{project}/json",
        ):
            reply = http.get(path, headers=SIMPLE_JSON if "+simple" in path else {})
            state.append((path, reply.status_code, reply.text))
    return state


def patch(site: Site, path: str, body: object, headers: dict[str, str]) -> httpx.Response:
    return site.http.patch(path, json=body, headers=headers)


def test_yanking_on_a_mirror_is_refused_and_changes_nothing(site: Site) -> None:
    project = project_of(site)
    site.upstream.add_release(project, "0.9", yanked="broken upstream")
    wheel, _ = site.upstream.add_release(project, "1.0")
    files = site.files(project)
    assert files[wheel.filename].get("yanked", False) is False
    before = everything(site, project, site.index)
    message = (
        f"cannot yank releases on mirror index {site.index}: "
        "its releases, and whether they are yanked, come from its upstream"
    )
    for version, body in (
        ("1.0", {"yanked": True}),
        ("1.0", {"yanked": "a reason"}),
        ("0.9", {"yanked": False}),  # un-yanking what the upstream yanked
        ("7.0", {"yanked": True}),  # a version the upstream does not have
    ):
        reply = patch(site, f"/{site.index}/{project}/{version}", body, ROOT)
        assert_error(reply, 400, message)
        assert reply.json() == {"message": message}
        assert reply.reason_phrase == message
        assert everything(site, project, site.index) == before
    assert site.files(project)[wheel.filename].get("yanked", False) is False


def test_who_may_not_yank_hears_that_first(
    site: Site, api: Api, unique: Callable[[str], str]
) -> None:
    project = project_of(site)
    site.upstream.add_release(project, "1.0")
    site.files(project)
    other = unique("notroot")
    api.create_user(other)
    before = everything(site, project, site.index)
    path = f"/{site.index}/{project}/1.0"
    assert_error(patch(site, path, {"yanked": True}, {}), 401, "authentication required")
    assert_error(
        patch(site, path, {"yanked": True}, basic(other, "secret")),
        403,
        f"user {other!r} has no permission to yank releases on {site.index}",
    )
    assert everything(site, project, site.index) == before


def test_a_stage_on_a_mirror_cannot_yank_the_mirrors_release(
    site: Site, api: Api, unique: Callable[[str], str]
) -> None:
    project = project_of(site)
    site.upstream.add_release(project, "1.0")
    owner = unique("yanker")
    api.create_user(owner)
    stage = f"{owner}/stage"
    api.create_index(stage, bases=[site.index])
    assert site.files(project, stage)
    before = everything(site, project, site.index, stage)
    reply = patch(site, f"/{stage}/{project}/1.0", {"yanked": True}, basic(owner, "secret"))
    assert_error(reply, 404, f"no release files of {project} 1.0 on {stage}")
    assert everything(site, project, site.index, stage) == before
