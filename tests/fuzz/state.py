"""The fuzzed server's contents, and what must not change under a refused or a foreign request.

``alice`` owns ``alice/dev`` with a release (wheel, sdist, docs) and ``root/pypi`` has cached a
project of the fake upstream. The fuzzer acts as ``mallory`` (who owns ``mallory/dev``), with
bad credentials, or anonymously: whatever it sends, what alice and the mirror serve must stay
byte for byte the same, and a refused request must leave every user and index as it was.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
from collections.abc import Iterator

import httpx
import orjson

from tests.support import dists
from tests.support.client import Api, basic
from tests.support.server import ROOT_PASSWORD, ServerProcess
from tests.support.uploading import zip_of

ALICE = ("alice", "alice-secret")
MALLORY = ("mallory", "mallory-secret")
PROJECT, VERSION = "victim", "1.0"
MIRRORED = "mirrored"
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
JSON = {"Accept": "application/json"}


@dataclasses.dataclass
class Seeded:
    server: ServerProcess
    http: httpx.Client  # the fuzzer's connection: kept alive, so a dropped one shows
    observer: httpx.Client  # the checks' own connection
    relpaths: list[str]  # alice's files, as +f paths below /alice/dev/
    baseline: dict[str, tuple[int, str]] = dataclasses.field(default_factory=dict)
    current: tuple[int, str] = (0, "")
    statuses: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)

    def protected(self) -> dict[str, tuple[int, str]]:
        """What alice and the mirror serve: status and sha256 of the body, per URL."""
        urls = [
            ("/alice", JSON),
            ("/alice/dev", JSON),
            (f"/alice/dev/{PROJECT}/{VERSION}", JSON),
            (f"/alice/dev/+simple/{PROJECT}/", SIMPLE_JSON),
            (f"/alice/dev/pypi/{PROJECT}/json", JSON),
            (f"/root/pypi/+simple/{MIRRORED}/", SIMPLE_JSON),
            *((f"/alice/dev/+f/{relpath}", {}) for relpath in self.relpaths),
        ]
        return {url: _seen(self.observer.get(url, headers=headers)) for url, headers in urls}

    def state(self) -> tuple[int, str]:
        """The serial (which every write moves) and every user and index as ``/`` shows them."""
        reply = self.observer.get("/", headers=JSON)
        return int(reply.headers["x-devpi-serial"]), _seen(reply)[1]


def _seen(reply: httpx.Response) -> tuple[int, str]:
    content = reply.content
    if reply.url.path.endswith("/json") and reply.status_code == 200:
        document = reply.json()
        del document["last_serial"]  # the global serial: anybody's write moves it
        content = orjson.dumps(document)
    return reply.status_code, hashlib.sha256(content).hexdigest()


@contextlib.contextmanager
def seed(server: ServerProcess) -> Iterator[Seeded]:
    api = Api(server.url)
    try:
        relpaths = _fill(api)
    finally:
        api.close()
    http = httpx.Client(base_url=server.url, timeout=30)
    observer = httpx.Client(base_url=server.url, timeout=30)
    with http, observer:
        seeded = Seeded(server, http, observer, relpaths)
        seeded.baseline = seeded.protected()
        seeded.current = seeded.state()
        yield seeded
        total = sum(seeded.statuses.values())
        print(f"\nfuzz: {total} generated requests, by status: {sorted(seeded.statuses.items())}")


def _fill(api: Api) -> list[str]:
    api.create_user(ALICE[0], ALICE[1], email="alice@example.org", custom_data={"team": "a"})
    api.create_index("alice/dev", auth=ALICE, acl_toxresult_upload=["alice"], title="Alice")
    for filename, data in (dists.make_wheel(PROJECT, VERSION), dists.make_sdist(PROJECT, VERSION)):
        reply = api.upload("alice/dev", filename, data, auth=ALICE)
        assert reply.status_code == 200, reply.text
    docs = zip_of({"index.html": b"<h1>victim docs</h1>"})
    reply = api.upload(
        "alice/dev",
        f"{PROJECT}-{VERSION}.doc.zip",
        docs,
        auth=ALICE,
        name=PROJECT,
        version=VERSION,
        action="doc_upload",
    )
    assert reply.status_code == 200, reply.text
    api.create_user(MALLORY[0], MALLORY[1])
    api.create_index("mallory/dev", auth=MALLORY, bases=["alice/dev", "root/pypi"])
    page = api.http.get(f"/root/pypi/+simple/{MIRRORED}/", headers=SIMPLE_JSON)
    assert page.status_code == 200, page.text
    wheel = next(f for f in page.json()["files"] if f["filename"].endswith(".whl"))
    page_url = api.http.base_url.join(f"/root/pypi/+simple/{MIRRORED}/")
    fetched = api.http.get(page_url.join(wheel["url"]))
    assert fetched.status_code == 200, fetched.text
    listed = api.http.get(f"/alice/dev/+simple/{PROJECT}/", headers=SIMPLE_JSON).json()
    relpaths = [f["url"].split("/+f/", 1)[1] for f in listed["files"]]
    assert len(relpaths) == 2, listed
    root = api.http.patch("/root", json={"email": "root@example.org"}, headers=api.as_root())
    assert root.status_code == 200, root.text
    return relpaths


def credentials() -> list[dict[str, str]]:
    """What the fuzzer authenticates with: nothing, mallory's password, or wrong ones."""
    return [
        {},
        basic(*MALLORY),
        {"X-Devpi-Auth": basic(*MALLORY)["Authorization"].removeprefix("Basic ")},
        basic("alice", "wrong"),
        basic("root", ROOT_PASSWORD + "x"),
    ]
