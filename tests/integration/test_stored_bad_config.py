"""A server already holding settings today's rules refuse (stored before a rule existed, or
written by other means) still answers about everybody, and ``pkgdepot fsck`` reports them and
``--repair`` resets them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from tests.support.client import Api
from tests.support.server import ServerProcess

StartServer = Callable[..., ServerProcess]


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


BAD_USER = {"email": 5, "title": "kept", "custom_data": nested(300)}
BAD_INDEX = {"volatile": "maybe", "bases": 7, "custom_data": nested(300), "title": "kept"}


def store_directly(server: ServerProcess) -> None:
    """Write the bad settings into the database of a stopped server, as an old version or a
    hand-made edit could have."""
    with sqlite3.connect(server.serverdir / "db.sqlite") as db:
        db.execute("UPDATE users SET config = ? WHERE name = 'dave'", [json.dumps(BAD_USER)])
        (config,) = db.execute(
            "SELECT config FROM indexes WHERE user = 'dave' AND name = 'dev'"
        ).fetchone()
        db.execute(
            "UPDATE indexes SET config = ? WHERE user = 'dave' AND name = 'dev'",
            [json.dumps({**json.loads(config), **BAD_INDEX})],
        )


def fsck(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pkgdepot", "fsck", "--serverdir", str(server.serverdir)]
    return subprocess.run([*command, *args], capture_output=True, text=True, check=False)


def test_bad_stored_settings_break_no_answer_and_fsck_resets_them(
    start_server: StartServer,
) -> None:
    server = start_server()
    api = Api(server.url)
    api.create_user("alice", email="alice@example.org")
    api.create_index("alice/dev", title="Alice's")
    api.create_user("dave")
    api.create_index("dave/dev", bases=["alice/dev"])
    api.close()
    server.stop()
    store_directly(server)
    server.start()
    api = Api(server.url)

    everyone = api.http.get("/")
    assert everyone.status_code == 200, everyone.text
    users = everyone.json()["result"]
    assert users["alice"]["email"] == "alice@example.org"
    assert users["alice"]["indexes"]["dev"]["title"] == "Alice's"
    assert users["dave"]["title"] == "kept"
    assert "email" not in users["dave"]
    assert "custom_data" not in users["dave"]
    index = api.http.get("/dave/dev")
    assert index.status_code == 200, index.text
    shown = index.json()["result"]
    assert shown["volatile"] is True  # the default instead of "maybe"
    assert shown["bases"] == []
    assert shown["title"] == "kept"
    assert "custom_data" not in shown
    assert api.http.get("/dave").status_code == 200
    assert api.http.get("/dave/dev/+simple/", headers={"Accept": "text/html"}).status_code == 200
    assert "ignoring stored settings that fail validation" in "".join(server.output)

    found = fsck(server)
    assert found.returncode == 1, found.stdout + found.stderr
    for line in [
        "CONFIG   user dave: custom_data is nested more than 16 levels deep",
        "CONFIG   user dave: email: expected `str | null`, got `int`",
        "CONFIG   index dave/dev: bases: expected `str | array | null`, got `int`",
        "CONFIG   index dave/dev: custom_data is nested more than 16 levels deep",
        "CONFIG   index dave/dev: volatile must be true or false, not 'maybe'",
        "5 stored settings fail validation",
    ]:
        assert line in found.stdout, found.stdout
    assert "alice" not in found.stdout

    repaired = fsck(server, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "RESET    index dave/dev: volatile" in repaired.stdout
    assert fsck(server).returncode == 0
    settings = api.http.get("/dave/dev").json()["result"]
    assert settings["volatile"] is True
    assert settings["title"] == "kept"
    after = api.http.get("/").json()["result"]
    assert after["dave"]["title"] == "kept"
    assert after["alice"] == users["alice"]
    api.close()
