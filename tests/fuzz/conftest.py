"""A server with something on it for every route family, and the fuzz budget.

The budget is a Hypothesis profile: ``ci`` (the default: a fixed number of examples per test,
derandomized, so a CI run is repeatable and bounded in time) or ``long`` (``scripts/fuzz``:
many more examples, random, the failures Hypothesis finds kept in ``.hypothesis/``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.state import Seeded, seed
from tests.support.fake_upstream import FakeUpstream, running
from tests.support.server import ServerProcess

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "5000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("FUZZ_PROFILE", "ci"))


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with running() as fake:
        fake.add_release("mirrored", "1.0")
        yield fake


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Seeded]:
    directory = tmp_path_factory.mktemp("fuzzed-server")
    server = ServerProcess(directory, extra_args=["--mirror-url", upstream.url]).start()
    try:
        with seed(server) as state:
            yield state
    finally:
        server.stop()
    assert "Traceback" not in "".join(server.output), "".join(server.output)
