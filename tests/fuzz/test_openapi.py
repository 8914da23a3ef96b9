"""The published OpenAPI description, and Schemathesis run over it against a live server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import httpx
import pytest

from tests.support import dists
from tests.support.client import Api
from tests.support.fake_upstream import FakeUpstream
from tests.support.server import ROOT_PASSWORD, ServerProcess

REPOSITORY = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "30")
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance"
# The server under test may only reach loopback: anything else goes to a closed port.
NO_NETWORK = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost,::1",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("openapi-server")
    with mock.patch.dict(os.environ, NO_NETWORK):
        server = ServerProcess(directory, extra_args=["--mirror-url", upstream.url]).start()
    api = Api(server.url)
    try:
        api.create_user("fuzz", "fuzz-secret")
        api.create_index("fuzz/dev", auth=("fuzz", "fuzz-secret"))
        for filename, data in (dists.make_wheel("hello-pkg", "1.0"),):
            reply = api.upload("fuzz/dev", filename, data, auth=("fuzz", "fuzz-secret"))
            assert reply.status_code == 200, reply.text
        yield server.url
    finally:
        api.close()
        server.stop()
    assert "Traceback" not in "".join(server.output), "".join(server.output)


def test_the_served_description_is_the_published_one(served: str) -> None:
    reply = httpx.get(f"{served}/+openapi.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["openapi"] == "3.1.0"
    published = (REPOSITORY / "docs" / "openapi.json").read_bytes()
    assert reply.content == published, (
        "docs/openapi.json is out of date: python -m pkgdepot.web.openapi > docs/openapi.json"
    )


def test_schemathesis_finds_no_server_error_and_no_wrong_reply(served: str, tmp_path: Path) -> None:
    command = [
        str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{served}/+openapi.json",
        "--auth", f"root:{ROOT_PASSWORD}", "--checks", CHECKS, "--max-examples", EXAMPLES,
        "--generation-deterministic", "--no-color", "--request-timeout", "30",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    generated = re.search(r"(\d+) generated, \1 passed", output)
    assert generated is not None, output
    assert int(generated.group(1)) > 500, output
    print(f"\nschemathesis: {generated.group(0)}")
