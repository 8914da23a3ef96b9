"""Fixtures for mirror tests: fake upstream indexes on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_upstream import FakeUpstream, running


@pytest.fixture(params=["json", "html"])
def upstream(request: pytest.FixtureRequest) -> Iterator[FakeUpstream]:
    """A fake upstream in each flavour: PEP 691 JSON and PEP 503 HTML."""
    with running(request.param) as fake:
        yield fake


@pytest.fixture
def json_upstream() -> Iterator[FakeUpstream]:
    with running("json") as fake:
        yield fake
