"""Yanking and un-yanking a private release (PEP 592) with PATCH /USER/INDEX/PROJECT/VERSION."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.client import Api, basic
from tests.support.stages import (
    SIMPLE_HTML,
    SIMPLE_JSON,
    auth_of,
    new_user,
    sdist,
    snapshot,
    upload,
    versions,
    wheel,
)


@dataclasses.dataclass
class Setup:
    owner: str
    index: str
    other: str
    uploader: str


@pytest.fixture
def setup(api: Api, unique: Callable[[str], str]) -> Setup:
    owner = new_user(api, unique, "yank")
    other = new_user(api, unique, "other")
    uploader = new_user(api, unique, "upl")
    index = f"{owner}/ix"
    api.create_index(index, volatile=False, acl_upload=[owner, uploader])
    for version in ("1.0", "2.0"):
        upload(api, index, sdist("yank-me", version))
        upload(api, index, wheel("yank-me", version))
    return Setup(owner, index, other, uploader)


def yank(api: Api, setup: Setup, body: Any, version: str = "2.0", **kw: Any) -> Any:
    headers = kw.pop("headers", auth_of(setup.owner))
    return api.http.patch(f"/{setup.index}/yank-me/{version}", json=body, headers=headers)


def html_page(api: Api, index: str) -> str:
    reply = api.http.get(f"/{index}/+simple/yank-me/", headers=SIMPLE_HTML)
    assert reply.status_code == 200
    return reply.text


def json_files(api: Api, index: str) -> dict[str, dict[str, Any]]:
    reply = api.http.get(f"/{index}/+simple/yank-me/", headers=SIMPLE_JSON)
    assert reply.status_code == 200
    return {f["filename"]: f for f in reply.json()["files"]}


def release_urls(api: Api, index: str) -> dict[str, list[dict[str, Any]]]:
    reply = api.http.get(f"/{index}/pypi/yank-me/json")
    assert reply.status_code == 200
    releases: dict[str, list[dict[str, Any]]] = reply.json()["releases"]
    return releases


def test_yank_without_reason(api: Api, setup: Setup) -> None:
    reply = yank(api, setup, {"yanked": True})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": "yank-me 2.0 yanked"}
    page = html_page(api, setup.index)
    assert page.count('data-yanked=""') == 2
    for line in page.splitlines():
        if "yank_me-1.0" in line:
            assert "data-yanked" not in line
    files = json_files(api, setup.index)
    assert files["yank_me-2.0.tar.gz"]["yanked"] is True
    assert files["yank_me-2.0-py3-none-any.whl"]["yanked"] is True
    assert "yanked" not in files["yank_me-1.0.tar.gz"]
    links = versions(api, setup.index, "yank-me")["2.0"]["+links"]
    assert [link["yanked"] for link in links] == [True, True]
    assert all(
        "yanked" not in link for link in versions(api, setup.index, "yank-me")["1.0"]["+links"]
    )
    for entry in release_urls(api, setup.index)["2.0"]:
        assert entry["yanked"] is True
        assert entry["yanked_reason"] is None


def test_yank_with_reason_and_unyank(api: Api, setup: Setup) -> None:
    before = snapshot(api, setup.index, "yank-me")
    reason = 'broken <build> & "bad"'
    reply = yank(api, setup, {"yanked": reason})
    assert reply.status_code == 200, reply.text
    page = html_page(api, setup.index)
    assert page.count('data-yanked="broken &lt;build&gt; &amp; &quot;bad&quot;"') == 2
    assert json_files(api, setup.index)["yank_me-2.0.tar.gz"]["yanked"] == reason
    for entry in release_urls(api, setup.index)["2.0"]:
        assert entry["yanked"] is True
        assert entry["yanked_reason"] == reason
    detail = api.http.get(f"/{setup.index}/pypi/yank-me/2.0/json").json()["info"]
    assert detail["yanked"] is True
    assert detail["yanked_reason"] == reason

    reply = yank(api, setup, {"yanked": False})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": "yank-me 2.0 un-yanked"}
    assert "data-yanked" not in html_page(api, setup.index)
    assert all("yanked" not in f for f in json_files(api, setup.index).values())
    after = snapshot(api, setup.index, "yank-me")
    assert after[:4] == before[:4]  # index config and projectconfig are as before
    assert after[5] == before[5]  # and so is the simple page


def test_yank_is_visible_through_an_inheriting_index(api: Api, setup: Setup) -> None:
    child = f"{setup.owner}/child"
    api.create_index(child, bases=[setup.index])
    assert yank(api, setup, {"yanked": "old"}).status_code == 200
    assert html_page(api, child).count('data-yanked="old"') == 2
    # The release lives in the base: the child cannot yank it.
    reply = api.http.patch(
        f"/{child}/yank-me/2.0", json={"yanked": False}, headers=auth_of(setup.owner)
    )
    assert reply.status_code == 404
    assert html_page(api, child).count('data-yanked="old"') == 2


def test_yanking_twice_and_unyanking_a_release_that_is_not_yanked(api: Api, setup: Setup) -> None:
    assert yank(api, setup, {"yanked": True}).status_code == 200
    assert yank(api, setup, {"yanked": "now with a reason"}).status_code == 200
    assert json_files(api, setup.index)["yank_me-2.0.tar.gz"]["yanked"] == "now with a reason"
    assert yank(api, setup, {"yanked": False}, version="1.0").status_code == 200
    assert "yanked" not in json_files(api, setup.index)["yank_me-1.0.tar.gz"]


@pytest.mark.parametrize(
    "body",
    [
        {"yanked": 1},
        {"yanked": None},
        {"yanked": []},
        {"yanked": {"reason": "x"}},
        {},
        {"yanked": True, "other": 1},
        {"yank": True},
        [],
        ["yanked=true"],
        "yes",
        {"yanked": "x" * 2000},
        {"yanked": "two\nlines"},
    ],
    ids=lambda body: repr(body)[:40],
)
def test_bad_values_are_400_and_change_nothing(api: Api, setup: Setup, body: Any) -> None:
    before = snapshot(api, setup.index, "yank-me")
    reply = yank(api, setup, body)
    assert reply.status_code == 400, reply.text
    assert "yanked" in reply.json()["message"]
    assert snapshot(api, setup.index, "yank-me") == before


def test_body_that_is_not_json_is_400(api: Api, setup: Setup) -> None:
    before = snapshot(api, setup.index, "yank-me")
    reply = api.http.patch(
        f"/{setup.index}/yank-me/2.0", content=b"{yanked", headers=auth_of(setup.owner)
    )
    assert reply.status_code == 400
    assert "JSON" in reply.json()["message"]
    assert snapshot(api, setup.index, "yank-me") == before


def test_permissions(api: Api, setup: Setup) -> None:
    before = snapshot(api, setup.index, "yank-me")
    refused = [
        ({}, 401),
        (basic(setup.owner, "wrong"), 401),
        (auth_of(setup.other), 403),
    ]
    for headers, status in refused:
        for body in ({"yanked": True}, {"yanked": 7}):
            reply = yank(api, setup, body, headers=headers)
            assert reply.status_code == status, reply.text
            assert snapshot(api, setup.index, "yank-me") == before
    for headers in (auth_of(setup.uploader), api.as_root(), auth_of(setup.owner)):
        assert yank(api, setup, {"yanked": True}, headers=headers).status_code == 200
        assert yank(api, setup, {"yanked": False}, headers=headers).status_code == 200


def test_unknown_targets_are_404(api: Api, setup: Setup) -> None:
    before = snapshot(api, setup.index, "yank-me")
    owner = auth_of(setup.owner)
    cases = {
        f"/{setup.index}/yank-me/9.0": "9.0",
        f"/{setup.index}/nope/1.0": "nope",
        f"/{setup.owner}/nope/yank-me/1.0": f"{setup.owner}/nope",
    }
    for path, mentioned in cases.items():
        reply = api.http.patch(path, json={"yanked": True}, headers=owner)
        assert reply.status_code == 404, path
        assert mentioned in reply.json()["message"]
    assert snapshot(api, setup.index, "yank-me") == before


def test_unnormalised_name_is_accepted(api: Api, setup: Setup) -> None:
    reply = api.http.patch(
        f"/{setup.index}/Yank_Me/2.0/", json={"yanked": True}, headers=auth_of(setup.owner)
    )
    assert reply.status_code == 200, reply.text
    assert json_files(api, setup.index)["yank_me-2.0.tar.gz"]["yanked"] is True
