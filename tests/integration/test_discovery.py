"""Discovery and bookkeeping: ``/+api``, ``/+status``, the X-Devpi-* headers and the serial."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.support.api_checks import assert_devpi_headers, assert_error, current_serial, result_of
from tests.support.client import Api, basic

Unique = Callable[[str], str]


def owner_with_index(api: Api, unique: Unique) -> tuple[str, str]:
    owner = unique("owner")
    api.create_user(owner)
    api.create_index(f"{owner}/dev")
    return owner, f"{owner}/dev"


def test_root_api_has_absolute_urls_and_no_index(api: Api) -> None:
    reply = api.http.get("/+api", headers={"Accept": "text/html"})
    result = result_of(reply, "apiconfig")
    assert result["login"] == f"{api.url}/+login"
    assert result["authstatus"] == ["noauth", "", []]
    assert "server-keyvalue-parsing" in result["features"]
    assert not {"index", "simpleindex", "pypisubmit"} & set(result)


def test_index_api_has_absolute_urls(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique)
    reply = api.http.get(f"/{path}/+api", headers=basic(owner, "secret"))
    result = result_of(reply, "apiconfig")
    assert result["login"] == f"{api.url}/+login"
    assert result["index"] == f"{api.url}/{path}"
    assert result["simpleindex"] == f"{api.url}/{path}/+simple/"
    assert result["pypisubmit"] == f"{api.url}/{path}/"
    assert result["authstatus"] == ["ok", owner, []]
    user_api = result_of(api.http.get(f"/{owner}/+api"), "apiconfig")
    assert user_api["login"] == f"{api.url}/+login"
    assert "index" not in user_api


def test_api_of_unknown_indexes_and_users_is_404(api: Api, unique: Unique) -> None:
    owner = unique("owner")
    api.create_user(owner)
    assert_error(api.http.get(f"/{owner}/nope/+api"), 404, f"The stage {owner}/nope could not")
    ghost = unique("ghost")
    assert_error(api.http.get(f"/{ghost}/+api"), 404, f"no user {ghost!r}")
    assert_error(api.http.get(f"/{ghost}/dev/+api"), 404, "could not be found")


def test_status_fields(api: Api) -> None:
    result = result_of(api.http.get("/+status"), "status")
    assert {"serverdir", "uuid", "versioninfo", "serial", "role", "uptime", "workers"} <= set(
        result
    )
    assert isinstance(result["serial"], int)
    assert result["serial"] >= 1
    assert len(result["uuid"]) == 32
    assert result["role"] == "MASTER"
    assert result["uptime"] >= 0
    assert "pkgdepot" in result["versioninfo"]


def test_every_reply_carries_the_devpi_headers(api: Api, unique: Unique) -> None:
    owner, path = owner_with_index(api, unique)
    replies = [
        api.http.get("/+api"),
        api.http.get("/+status"),
        api.http.get("/"),
        api.http.get(f"/{owner}"),
        api.http.get(f"/{path}"),
        api.http.get(f"/{path}/+simple/", headers={"Accept": "text/html"}),
        api.http.get(f"/{path}/nope/+api"),  # 404
        api.http.put(f"/{path}", json={}, headers=basic(owner, "secret")),  # 409
        api.http.patch(f"/{path}", json={"foo": 1}, headers=basic(owner, "secret")),  # 400
        api.http.patch(f"/{path}", json={"title": "x"}),  # 403
        api.http.patch(f"/{path}", json={"title": "x"}, headers=basic(owner, "bad")),  # 401
        api.http.get("/+login"),  # 405
        api.http.post("/+login", content=b"{"),  # 400
    ]
    for reply in replies:
        assert_devpi_headers(reply)
        assert reply.headers["x-devpi-uuid"]
    assert [r.status_code for r in replies[6:]] == [404, 409, 400, 403, 401, 405, 400]


def test_each_write_moves_the_serial(api: Api, unique: Unique) -> None:
    owner = unique("owner")
    writes: list[Callable[[], httpx.Response]] = [
        lambda: api.http.put(f"/{owner}", json={"password": "secret"}),
        lambda: api.http.put(f"/{owner}/dev", json={}, headers=basic(owner, "secret")),
        lambda: api.http.patch(f"/{owner}/dev", json=["title=x"], headers=basic(owner, "secret")),
        lambda: api.http.patch(f"/{owner}", json={"title": "y"}, headers=basic(owner, "secret")),
        lambda: api.http.delete(f"/{owner}/dev", headers=basic(owner, "secret")),
    ]
    serial = current_serial(api)
    for write in writes:
        reply = write()
        assert reply.status_code in (200, 201), reply.text
        written = assert_devpi_headers(reply)
        assert written == serial + 1
        serial = written
        assert current_serial(api) == serial
        assert assert_devpi_headers(api.http.get("/+api")) == serial
