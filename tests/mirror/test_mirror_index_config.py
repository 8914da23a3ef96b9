"""Mirror indexes as the management API sees them: root/pypi at init, config keys, hidden
passwords, and refusals that change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.api_checks import assert_error, current_serial, result_of, snapshot
from tests.support.client import Api, basic
from tests.support.server import NOWHERE, ServerProcess

UPSTREAM = "http://127.0.0.1:9/mirrored/simple/"


def test_init_creates_root_pypi_as_a_non_volatile_mirror(api: Api) -> None:
    config = result_of(api.http.get("/root/pypi?no_projects="), "indexconfig")
    assert config["type"] == "mirror"
    assert config["volatile"] is False
    assert config["mirror_url"] == NOWHERE  # what the test server was started with
    assert config["mirror_cache_expiry"] == 1800
    assert config["mirror_no_project_list"] is False
    assert config["mirror_use_external_urls"] is False
    assert config["mirror_ignore_serial_header"] is False
    apiconfig = result_of(api.http.get("/root/pypi/+api"), "apiconfig")
    assert "pypisubmit" not in apiconfig  # nothing can be uploaded to a mirror
    assert apiconfig["simpleindex"].endswith("/root/pypi/+simple/")


def test_root_pypi_cannot_be_deleted_while_non_volatile(api: Api) -> None:
    reply = api.http.delete("/root/pypi", headers=api.as_root())
    assert_error(reply, 403, "non-volatile")
    assert api.http.get("/root/pypi").status_code == 200


def test_a_mirror_index_with_every_setting(api: Api, unique: Callable[[str], str]) -> None:
    user = unique("mirrorer")
    api.create_user(user)
    config = api.create_index(
        f"{user}/up",
        type="mirror",
        mirror_url=UPSTREAM,
        mirror_cache_expiry=60,
        mirror_no_project_list=True,
        mirror_use_external_urls="yes",
        mirror_ignore_serial_header=True,
        title="Upstream",
        description="what we install from",
        custom_data={"team": ["a", "b"]},
    )
    assert config == {
        "type": "mirror",
        "volatile": True,
        "mirror_url": UPSTREAM,
        "mirror_cache_expiry": 60,
        "mirror_no_project_list": True,
        "mirror_use_external_urls": True,
        "mirror_ignore_serial_header": True,
        "title": "Upstream",
        "description": "what we install from",
        "custom_data": {"team": ["a", "b"]},
    }
    assert result_of(api.http.get(f"/{user}/up?no_projects="), "indexconfig") == config


def test_mirror_url_is_kept_as_given(api: Api, unique: Callable[[str], str]) -> None:
    user = unique("mirrorer")
    api.create_user(user)
    config = api.create_index(f"{user}/up", type="mirror", mirror_url=UPSTREAM.rstrip("/"))
    assert config["mirror_url"] == UPSTREAM.rstrip("/")  # as devpi keeps it: no slash added
    shown = result_of(api.http.get(f"/{user}/up?no_projects="), "indexconfig")
    assert shown["mirror_url"] == UPSTREAM.rstrip("/")


def test_a_mirror_without_a_mirror_url_mirrors_what_root_pypi_does(
    api: Api, unique: Callable[[str], str]
) -> None:
    user = unique("mirrorer")
    api.create_user(user)
    config = api.create_index(f"{user}/default", type="mirror")
    assert config["mirror_url"] == NOWHERE  # root/pypi's, as the test server made it


@pytest.mark.parametrize("url", ["http://[::1", "http://host:port/", "http://host:99999/"])
def test_an_unparsable_mirror_url_is_400(api: Api, unique: Callable[[str], str], url: str) -> None:
    user = unique("mirrorer")
    api.create_user(user)
    before = current_serial(api)
    reply = api.http.put(
        f"/{user}/up", json={"type": "mirror", "mirror_url": url}, headers=basic(user, "secret")
    )
    assert_error(reply, 400, "mirror_url must be an http or https URL")
    assert current_serial(api) == before


def test_a_password_in_mirror_url_is_never_shown(api: Api, unique: Callable[[str], str]) -> None:
    user = unique("mirrorer")
    api.create_user(user)
    secret_url = "http://reader:s3cr3t-pw@127.0.0.1:9/simple/"
    shown_url = "http://reader:***@127.0.0.1:9/simple/"
    created = api.http.put(
        f"/{user}/up",
        json={"type": "mirror", "mirror_url": secret_url},
        headers=basic(user, "secret"),
    )
    assert created.status_code == 201
    for reply in (
        created,
        api.http.get(f"/{user}/up"),
        api.http.get(f"/{user}"),
        api.http.get("/"),
    ):
        assert "s3cr3t-pw" not in reply.text
    assert result_of(api.http.get(f"/{user}/up"), "indexconfig")["mirror_url"] == shown_url
    # devpi-client sends back what it was shown when it changes another key: the password stays
    patched = api.http.patch(
        f"/{user}/up",
        json={"mirror_url": shown_url, "mirror_cache_expiry": 5},
        headers=basic(user, "secret"),
    )
    assert result_of(patched, "indexconfig")["mirror_url"] == shown_url
    assert "s3cr3t-pw" not in patched.text
    listed = api.http.patch(f"/{user}/up", json=["title=changed"], headers=basic(user, "secret"))
    assert result_of(listed, "indexconfig")["title"] == "changed"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "mirror", "mirror_url": "ftp://127.0.0.1/simple/"}, "http or https URL"),
        ({"type": "mirror", "mirror_url": "not a url"}, "http or https URL"),
        ({"type": "mirror", "mirror_url": 5}, "mirror_url: expected `str | null`, got `int`"),
        ({"type": "mirror", "mirror_url": UPSTREAM, "mirror_cache_expiry": -1}, "seconds"),
        ({"type": "mirror", "mirror_url": UPSTREAM, "mirror_cache_expiry": "soon"}, "seconds"),
        ({"type": "mirror", "mirror_url": UPSTREAM, "mirror_cache_expiry": 10**12}, "at most"),
        ({"type": "mirror", "mirror_url": UPSTREAM, "mirror_no_project_list": "x"}, "true or"),
        ({"type": "mirror", "mirror_url": UPSTREAM, "bases": ["root/pypi"]}, "unexpected keys"),
        ({"type": "mirror", "mirror_url": UPSTREAM, "acl_upload": ["x"]}, "unexpected keys"),
        ({"mirror_url": UPSTREAM}, "unexpected keys"),  # a stage has no upstream
        ({"type": "replica"}, "unknown index type"),
    ],
)
def test_bad_mirror_configs_are_400_and_create_nothing(
    api: Api, unique: Callable[[str], str], config: dict[str, Any], message: str
) -> None:
    user = unique("mirrorer")
    api.create_user(user)
    serial = current_serial(api)
    reply = api.http.put(f"/{user}/up", json=config, headers=basic(user, "secret"))
    assert_error(reply, 400, message)
    assert api.http.get(f"/{user}/up").status_code == 404
    assert current_serial(api) == serial


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"type": "stage"}, "can't be changed"),
        ({"mirror_url": "gopher://x/"}, "http or https URL"),
        (["mirror_cache_expiry=never"], "seconds"),
        (["bases+=root/pypi"], "unexpected keys"),
        ({"mirror_url": None}, "Default values can't be removed"),
    ],
)
def test_bad_mirror_patches_are_400_and_change_nothing(
    api: Api, unique: Callable[[str], str], patch: object, message: str
) -> None:
    user = unique("mirrorer")
    api.create_user(user)
    api.create_index(f"{user}/up", type="mirror", mirror_url=UPSTREAM)
    before = snapshot(api, f"/{user}/up")
    reply = api.http.patch(f"/{user}/up", json=patch, headers=basic(user, "secret"))
    assert_error(reply, 400, message)
    assert snapshot(api, f"/{user}/up") == before


def test_uploads_to_a_mirror_are_refused(api: Api, unique: Callable[[str], str]) -> None:
    user = unique("mirrorer")
    api.create_user(user)
    api.create_index(f"{user}/up", type="mirror", mirror_url=UPSTREAM)
    serial = current_serial(api)
    reply = api.upload(f"{user}/up", "pkg-1.0.tar.gz", b"x", auth=(user, "secret"))
    assert 400 <= reply.status_code < 500, reply.text
    assert "mirror" in reply.json()["message"]
    assert current_serial(api) == serial


def test_serve_with_mirror_url_repoints_root_pypi(
    start_server: Callable[..., ServerProcess],
) -> None:
    first = start_server()
    directory = first.serverdir
    first.stop()
    other = "http://127.0.0.1:9/other/simple/"
    again = start_server(serverdir=directory, extra_args=["--mirror-url", other])
    api = Api(again.url)
    try:
        config = result_of(api.http.get("/root/pypi"), "indexconfig")
        assert config["mirror_url"] == other
        assert config["volatile"] is False
    finally:
        api.close()


def test_a_bad_mirror_url_setting_stops_the_server_with_a_message(
    start_server: Callable[..., ServerProcess],
) -> None:
    with pytest.raises(RuntimeError, match="mirror_url must be an http or https URL"):
        start_server(extra_args=["--mirror-url", "file:///etc/passwd"])
