"""Generated requests over every route family, against a real server on one kept-alive
connection: never a 5xx, never a dropped connection, a refused request changes nothing, and
no request changes what another user's index serves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import strategies as fuzz
from tests.fuzz.state import Seeded

READS = ["GET", "HEAD"]
WRITES = ["PUT", "PATCH", "POST", "DELETE", "PUSH"]
MANAGEMENT = ["/{user}", "/{user}/{index}", "/{user}/{index}/", "/+login"]
RELEASES = [
    "/{user}/{index}/{project}",
    "/{user}/{index}/{project}/{version}",
    "/{user}/{index}/+f/{rest}",
    "/{user}/{index}/+simple/{project}/refresh",
]


def exchange(seeded: Seeded, request: fuzz.Fuzzed) -> None:
    url = seeded.http.base_url.copy_with(raw_path=request.path.encode())  # "//" too
    reply = seeded.http.request(request.method, url, headers=request.headers, content=request.body)
    seeded.statuses[reply.status_code] += 1
    shown = f"{request} -> {reply.status_code} {reply.text[:300]!r}"
    assert reply.status_code < 500, shown
    after = seeded.state()
    if reply.status_code >= 400:
        assert after == seeded.current, f"a refused request changed the state: {shown}"
    seeded.current = after
    assert seeded.protected() == seeded.baseline, f"alice's or the mirror's pages: {shown}"


@given(request=fuzz.requests(methods=READS, bodies=st.none()))
def test_reads(seeded: Seeded, request: fuzz.Fuzzed) -> None:
    exchange(seeded, request)


@given(request=fuzz.requests(methods=WRITES, routes=MANAGEMENT))
def test_users_indexes_and_login(seeded: Seeded, request: fuzz.Fuzzed) -> None:
    exchange(seeded, request)


@given(request=fuzz.requests(methods=WRITES, routes=RELEASES))
def test_releases_files_yanks_and_tox_results(seeded: Seeded, request: fuzz.Fuzzed) -> None:
    exchange(seeded, request)


@given(request=fuzz.uploads())
def test_uploads(seeded: Seeded, request: fuzz.Fuzzed) -> None:
    exchange(seeded, request)


@given(request=fuzz.requests())
def test_anything(seeded: Seeded, request: fuzz.Fuzzed) -> None:
    exchange(seeded, request)
