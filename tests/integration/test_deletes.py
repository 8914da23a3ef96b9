"""DELETE of projects, versions and files: volatile rules, ``?force``, permissions, 410."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from tests.support.client import Api, basic
from tests.support.stages import (
    SIMPLE_HTML,
    auth_of,
    new_user,
    sdist,
    simple_files,
    simple_projects,
    snapshot,
    upload,
    versions,
    wheel,
)

ANY = {"Accept": "*/*"}


@dataclasses.dataclass
class Setup:
    owner: str
    index: str
    other: str  # a user with no rights on the index
    uploader: str  # a user in acl_upload

    def file_url(self, api: Api, version: str = "1.0") -> str:
        links = versions(api, self.index, "del-pkg")[version]["+links"]
        href: str = sorted(link["href"] for link in links)[0]
        return href.removeprefix(api.url)


def make(api: Api, unique: Callable[[str], str], *, volatile: bool) -> Setup:
    owner = new_user(api, unique, "del")
    other = new_user(api, unique, "other")
    uploader = new_user(api, unique, "upl")
    index = f"{owner}/ix"
    api.create_index(index, volatile=volatile, acl_upload=[owner, uploader])
    for version in ("1.0", "2.0"):
        upload(api, index, sdist("del-pkg", version))
        upload(api, index, wheel("del-pkg", version))
    return Setup(owner, index, other, uploader)


@pytest.fixture
def volatile(api: Api, unique: Callable[[str], str]) -> Setup:
    return make(api, unique, volatile=True)


@pytest.fixture
def fixed(api: Api, unique: Callable[[str], str]) -> Setup:
    return make(api, unique, volatile=False)


def test_delete_file_on_volatile_index(api: Api, volatile: Setup) -> None:
    url = volatile.file_url(api)
    filename = url.rsplit("/", 1)[1]
    assert api.http.get(url, headers=ANY).status_code == 200
    reply = api.http.delete(url, headers=auth_of(volatile.owner))
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": f"package {url.lstrip('/')!r} deleted"}
    gone = api.http.get(url, headers=ANY)
    assert gone.status_code == 410
    assert "deleted" in gone.json()["message"]
    assert api.http.head(url).status_code == 410
    assert filename not in simple_files(api, volatile.index, "del-pkg")
    assert len(simple_files(api, volatile.index, "del-pkg")) == 3
    hrefs = [link["href"] for link in versions(api, volatile.index, "del-pkg")["1.0"]["+links"]]
    assert len(hrefs) == 1
    assert not hrefs[0].endswith(url)
    again = api.http.delete(url, headers=auth_of(volatile.owner))
    assert again.status_code == 410


def test_delete_version_on_volatile_index(api: Api, volatile: Setup) -> None:
    url = volatile.file_url(api, "1.0")
    reply = api.http.delete(f"/{volatile.index}/del-pkg/1.0", headers=auth_of(volatile.owner))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == {"message": "project 'del-pkg' version '1.0' deleted"}
    assert sorted(versions(api, volatile.index, "del-pkg")) == ["2.0"]
    assert sorted(simple_files(api, volatile.index, "del-pkg")) == [
        "del_pkg-2.0-py3-none-any.whl",
        "del_pkg-2.0.tar.gz",
    ]
    assert api.http.get(url, headers=ANY).status_code == 410
    missing = api.http.get(f"/{volatile.index}/del-pkg/1.0")
    assert missing.status_code == 404
    again = api.http.delete(f"/{volatile.index}/del-pkg/1.0", headers=auth_of(volatile.owner))
    assert again.status_code == 404
    assert "1.0" in again.json()["message"]


def test_deleting_the_last_version_removes_the_project(api: Api, volatile: Setup) -> None:
    for version in ("1.0", "2.0"):
        reply = api.http.delete(
            f"/{volatile.index}/del-pkg/{version}/", headers=auth_of(volatile.owner)
        )
        assert reply.status_code == 200, reply.text
    assert api.http.get(f"/{volatile.index}/del-pkg").status_code == 404
    page = api.http.get(f"/{volatile.index}/+simple/del-pkg/", headers=SIMPLE_HTML)
    assert page.status_code == 404
    assert simple_projects(api, volatile.index) == []
    assert api.http.get(f"/{volatile.index}").json()["result"]["projects"] == []
    assert api.http.get(f"/{volatile.index}/pypi/del-pkg/json").status_code == 404
    # The same files can be uploaded again.
    upload(api, volatile.index, sdist("del-pkg", "1.0"))
    assert sorted(versions(api, volatile.index, "del-pkg")) == ["1.0"]


def test_delete_project_on_volatile_index(api: Api, volatile: Setup) -> None:
    urls = [volatile.file_url(api, v) for v in ("1.0", "2.0")]
    reply = api.http.delete(f"/{volatile.index}/del-pkg", headers=auth_of(volatile.owner))
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": f"project del-pkg deleted from stage {volatile.index}"}
    assert api.http.get(f"/{volatile.index}/del-pkg").status_code == 404
    assert simple_projects(api, volatile.index) == []
    for url in urls:
        assert api.http.get(url, headers=ANY).status_code == 410
    again = api.http.delete(f"/{volatile.index}/del-pkg", headers=auth_of(volatile.owner))
    assert again.status_code == 404


def test_delete_with_unnormalised_name(api: Api, volatile: Setup) -> None:
    reply = api.http.delete(f"/{volatile.index}/Del_Pkg/1.0/", headers=auth_of(volatile.owner))
    assert reply.status_code == 200, reply.text
    reply = api.http.delete(f"/{volatile.index}/DEL.pkg", headers=auth_of(volatile.owner))
    assert reply.status_code == 200, reply.text
    assert simple_projects(api, volatile.index) == []


def deletes(setup: Setup, api: Api) -> dict[str, str]:
    return {
        "file": setup.file_url(api),
        "version": f"/{setup.index}/del-pkg/1.0",
        "project": f"/{setup.index}/del-pkg",
    }


@pytest.mark.parametrize("what", ["file", "version", "project"])
def test_non_volatile_needs_force(api: Api, fixed: Setup, what: str) -> None:
    path = deletes(fixed, api)[what]
    before = snapshot(api, fixed.index, "del-pkg")
    for query in ("", "?force=false", "?force=0"):
        refused = api.http.delete(path + query, headers=auth_of(fixed.owner))
        assert refused.status_code == 403, query
        message = refused.json()["message"]
        assert "non-volatile" in message
        assert "force" in message
        assert snapshot(api, fixed.index, "del-pkg") == before
    assert api.http.get(fixed.file_url(api), headers=ANY).status_code == 200
    reply = api.http.delete(path + "?force", headers=auth_of(fixed.owner))
    assert reply.status_code == 200, reply.text
    assert snapshot(api, fixed.index, "del-pkg") != before


def test_non_volatile_force_true_spelling(api: Api, fixed: Setup) -> None:
    reply = api.http.delete(f"/{fixed.index}/del-pkg/2.0?force=true", headers=auth_of(fixed.owner))
    assert reply.status_code == 200, reply.text
    assert sorted(versions(api, fixed.index, "del-pkg")) == ["1.0"]


def refusals(setup: Setup) -> list[tuple[str, dict[str, str], int]]:
    return [
        ("anonymous", {}, 401),
        ("wrong password", basic(setup.owner, "wrong"), 401),
        ("other user", auth_of(setup.other), 403),
    ]


@pytest.mark.parametrize("what", ["file", "version", "project"])
def test_delete_permissions_refused(api: Api, volatile: Setup, what: str) -> None:
    path = deletes(volatile, api)[what]
    before = snapshot(api, volatile.index, "del-pkg")
    for name, headers, status in refusals(volatile):
        for query in ("", "?force"):
            reply = api.http.delete(path + query, headers=headers)
            assert reply.status_code == status, (name, reply.text)
            assert reply.json()["message"], name
            if status == 401:
                assert "www-authenticate" in reply.headers
            assert snapshot(api, volatile.index, "del-pkg") == before, name


@pytest.mark.parametrize("who", ["owner", "root", "uploader"])
@pytest.mark.parametrize("what", ["file", "version", "project"])
def test_delete_permissions_granted(api: Api, volatile: Setup, what: str, who: str) -> None:
    headers = {
        "owner": auth_of(volatile.owner),
        "root": api.as_root(),
        "uploader": auth_of(volatile.uploader),
    }[who]
    path = deletes(volatile, api)[what]
    reply = api.http.delete(path, headers=headers)
    assert reply.status_code == 200, reply.text


def test_unknown_targets_are_404(api: Api, volatile: Setup) -> None:
    owner = auth_of(volatile.owner)
    before = snapshot(api, volatile.index, "del-pkg")
    file_url = volatile.file_url(api)
    cases = {
        f"/{volatile.index}/nope": 404,
        f"/{volatile.index}/nope/1.0": 404,
        f"/{volatile.index}/del-pkg/9.9": 404,
        file_url.rsplit("/", 1)[0] + "/del_pkg-9.9.tar.gz": 404,
        f"/{volatile.index}/+f/aaa/bbbbbbbbbbbbb/del_pkg-1.0.tar.gz": 404,
        f"/{volatile.owner}/nope/del-pkg": 404,
        f"/{volatile.owner}/nope/del-pkg/1.0": 404,
        f"/{volatile.owner}/nope/+f/aaa/bbbbbbbbbbbbb/x-1.0.tar.gz": 404,
    }
    for path, status in cases.items():
        reply = api.http.delete(path, headers=owner)
        assert reply.status_code == status, (path, reply.text)
        assert reply.json()["message"], path
    assert snapshot(api, volatile.index, "del-pkg") == before


def test_inherited_project_is_not_deleted_through_the_child(
    api: Api, volatile: Setup, unique: Callable[[str], str]
) -> None:
    child = f"{volatile.owner}/child"
    api.create_index(child, bases=[volatile.index])
    before = snapshot(api, volatile.index, "del-pkg")
    for path in (f"/{child}/del-pkg", f"/{child}/del-pkg/1.0"):
        reply = api.http.delete(path, headers=auth_of(volatile.owner))
        assert reply.status_code == 404, reply.text
    assert snapshot(api, volatile.index, "del-pkg") == before
    assert sorted(versions(api, child, "del-pkg")) == ["1.0", "2.0"]


def test_deleted_file_in_base_disappears_from_child(api: Api, volatile: Setup) -> None:
    child = f"{volatile.owner}/child2"
    api.create_index(child, bases=[volatile.index])
    url = volatile.file_url(api)
    assert url.rsplit("/", 1)[1] in simple_files(api, child, "del-pkg")
    reply = api.http.delete(url, headers=auth_of(volatile.owner))
    assert reply.status_code == 200
    assert url.rsplit("/", 1)[1] not in simple_files(api, child, "del-pkg")
