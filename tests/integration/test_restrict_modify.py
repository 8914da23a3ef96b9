"""``--restrict-modify``: only the named principals manage users and indexes (devpi-api.md 3.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support import dists
from tests.support.api_checks import assert_error, result_of, snapshot
from tests.support.client import Api, basic
from tests.support.server import ServerProcess


def user_of(api: Api, name: str) -> dict[str, Any]:
    result: dict[str, Any] = result_of(api.http.get(f"/{name}"), "userconfig")
    return result


def test_restrict_modify_root_leaves_users_to_root(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(extra_args=["--restrict-modify", "root"])
    api = Api(server.url)
    try:
        alice, bob = basic("alice", "secret"), basic("bob", "secret")
        assert_error(api.http.put("/alice", json={"password": "secret"}), 403, "create users")
        assert api.http.get("/alice").status_code == 404
        for name in ("alice", "bob"):
            reply = api.http.put(f"/{name}", json={"password": "secret"}, headers=api.as_root())
            assert reply.status_code == 201, reply.text
        reply = api.http.put("/carol", json={"password": "x"}, headers=alice)
        assert_error(reply, 403, "no permission to create users")
        assert api.http.get("/carol").status_code == 404

        before = snapshot(api, "/alice")
        reply = api.http.patch("/alice", json={"email": "a@example.org"}, headers=alice)
        assert_error(reply, 403, "no permission to modify user 'alice'")
        reply = api.http.patch("/alice", json={"password": "stolen"}, headers=bob)
        assert_error(reply, 403, "no permission to modify user 'alice'")
        for who in (alice, bob, {}):
            assert_error(api.http.delete("/alice", headers=who), 403, "no permission to delete")
        assert snapshot(api, "/alice") == before

        # a user may still change their own password
        reply = api.http.patch("/alice", json={"password": "new"}, headers=alice)
        assert result_of(reply, "userpassword")["password"]
        assert api.login("alice", "new")
        reply = api.http.patch("/alice", json={"email": "a@example.org"}, headers=api.as_root())
        assert reply.status_code == 200, reply.text
        assert user_of(api, "alice")["email"] == "a@example.org"
        assert api.http.delete("/alice", headers=api.as_root()).status_code == 200
        assert api.http.get("/alice").status_code == 404
    finally:
        api.close()


def test_restrict_modify_can_name_several_managers(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(extra_args=["--restrict-modify", "root,admin"])
    api = Api(server.url)
    try:
        admin = basic("admin", "secret")
        reply = api.http.put("/admin", json={"password": "secret"}, headers=api.as_root())
        assert reply.status_code == 201, reply.text
        reply = api.http.put("/alice", json={"password": "secret"}, headers=admin)
        assert reply.status_code == 201, reply.text
        reply = api.http.patch("/alice", json={"title": "managed"}, headers=admin)
        assert reply.status_code == 200, reply.text
        assert user_of(api, "alice")["title"] == "managed"
        before = snapshot(api, "/admin")
        assert_error(api.http.delete("/admin", headers=admin), 403, "no permission to delete")
        assert snapshot(api, "/admin") == before
        assert api.http.delete("/alice", headers=admin).status_code == 200
        assert api.http.delete("/admin", headers=api.as_root()).status_code == 200
    finally:
        api.close()


def test_restrict_modify_root_leaves_indexes_to_root(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(extra_args=["--restrict-modify", "root"])
    api = Api(server.url)
    try:
        reply = api.http.put("/alice", json={"password": "secret"}, headers=api.as_root())
        assert reply.status_code == 201, reply.text
        alice = basic("alice", "secret")
        reply = api.http.put("/alice/dev", json={}, headers=alice)
        assert_error(reply, 403, "no permission to create an index for user 'alice'")
        assert api.http.get("/alice/dev").status_code == 404

        reply = api.http.put("/alice/dev", json={}, headers=api.as_root())
        assert result_of(reply, "indexconfig", status=201)["acl_upload"] == ["alice"]
        before = snapshot(api, "/alice/dev")
        assert_error(api.http.patch("/alice/dev", json=["title=x"], headers=alice), 403, "modify")
        assert_error(api.http.delete("/alice/dev", headers=alice), 403, "delete")
        assert snapshot(api, "/alice/dev") == before

        # acl_upload still decides who uploads
        filename, data = dists.make_wheel("restricted-pkg", "1.0")
        assert api.upload("alice/dev", filename, data, auth=("alice", "secret")).status_code == 200

        reply = api.http.patch("/alice/dev", json=["title=x"], headers=api.as_root())
        assert result_of(reply, "indexconfig")["title"] == "x"
        assert api.http.delete("/alice/dev", headers=api.as_root()).status_code == 200
    finally:
        api.close()
