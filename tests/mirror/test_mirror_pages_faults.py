"""Mirrored project pages when the upstream fails: the stored page is served stale, marked
``Cache-Control: no-cache``, with one log line per fault and no new attempt for a while; with
nothing stored, a 502 that says why. Credentials in the mirror URL are sent and never shown."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.mirror.pages_site import SIMPLE_JSON, Site
from tests.support.api_checks import assert_error
from tests.support.fake_upstream import FakeUpstream, Fault, running
from tests.support.server import ServerProcess

pytestmark = pytest.mark.timeout(120)

REQUEST_TIMEOUT = 1  # seconds; SLOW answers after 30
EXPIRY = 3  # seconds; also how long a mirror backs off after a fault
FAULT_LINE = "upstream unavailable for"


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Short upstream timeout, one retry; logs at warning level, as test servers do."""
    process = ServerProcess(
        tmp_path_factory.mktemp("fault-server"),
        extra_args=["--request-timeout", str(REQUEST_TIMEOUT), "--upstream-retries", "1"],
    ).start()
    yield process
    process.stop()


@pytest.fixture
def make_site(
    fault_server: ServerProcess, unique: Callable[[str], str]
) -> Iterator[Callable[..., Site]]:
    made: list[Site] = []

    def make(upstream: FakeUpstream, **config: Any) -> Site:
        site = Site.create(fault_server, upstream, unique("faulty"), **config)
        made.append(site)
        return site

    yield make
    for site in made:
        site.close()


FAULTS = [Fault.DOWN, Fault.SLOW, Fault.ERROR_500, Fault.RESET, Fault.TRUNCATED]


@pytest.mark.parametrize("fault", [*FAULTS, Fault.OLDER_SERIAL], ids=lambda f: f.name)
def test_a_fault_serves_the_stored_page_stale_and_logs_one_line(
    upstream: FakeUpstream, make_site: Callable[..., Site], fault: Fault
) -> None:
    site = make_site(upstream, mirror_cache_expiry=EXPIRY)
    project = site.index.split("/")[1] + "-pkg"
    upstream.add_release(project, "1.0")
    fresh = site.page(project)
    assert fresh.status_code == 200
    assert "cache-control" not in fresh.headers
    upstream.set_fault(fault)
    upstream.add_release(project, "2.0")  # not seen: the upstream is broken
    time.sleep(EXPIRY + 0.1)

    stale = site.page(project)
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == "no-cache"
    assert stale.json() == fresh.json()  # nothing bad was stored
    lines = site.wait_for_log(FAULT_LINE, repr(project))
    assert len(lines) == 1, lines
    assert "serving the page cached" in lines[0]
    asked = site.page_requests(project)

    # Backing off (for the expiry): the next requests get the stored page without asking.
    for path in (f"/{site.index}/+simple/{project}/", f"/{site.index}/pypi/{project}/json"):
        again = site.http.get(path, headers=SIMPLE_JSON)
        assert again.status_code == 200
        assert again.headers["cache-control"] == "no-cache"
    devpi = site.http.get(f"/{site.index}/{project}", headers={"Accept": "application/json"})
    assert devpi.headers["cache-control"] == "no-cache"
    assert list(devpi.json()["result"]) == ["1.0"]
    assert site.page_requests(project) == asked
    assert len(site.log_lines(FAULT_LINE, repr(project))) == 1


def test_after_the_backoff_a_recovered_upstream_is_asked_again(
    json_upstream: FakeUpstream, make_site: Callable[..., Site]
) -> None:
    site = make_site(json_upstream, mirror_cache_expiry=EXPIRY)
    project = site.index.split("/")[1] + "-back"
    json_upstream.add_release(project, "1.0")
    assert site.page(project).status_code == 200
    json_upstream.set_fault(Fault.ERROR_500)
    time.sleep(EXPIRY + 0.1)
    assert site.page(project).headers["cache-control"] == "no-cache"
    json_upstream.set_fault(None)
    wheel, _ = json_upstream.add_release(project, "2.0")
    time.sleep(EXPIRY + 0.1)
    recovered = site.page(project)
    assert "cache-control" not in recovered.headers
    assert wheel.filename in {entry["filename"] for entry in recovered.json()["files"]}
    assert len(site.log_lines(FAULT_LINE, repr(project))) == 1


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_a_fault_with_nothing_stored_is_a_502_that_says_why(
    upstream: FakeUpstream, make_site: Callable[..., Site], fault: Fault
) -> None:
    site = make_site(upstream, mirror_cache_expiry=3600)
    project = site.index.split("/")[1] + "-new"
    upstream.add_release(project, "1.0")
    upstream.set_fault(fault)
    reply = site.page(project)
    text = assert_error(reply, 502, "upstream", f"/simple/{project}/")
    assert "unavailable" in text
    lines = site.wait_for_log(FAULT_LINE, repr(project))
    assert len(lines) == 1
    assert "nothing cached" in lines[0]
    upstream.set_fault(None)
    # The refresh route asks again at once, whatever the backoff says.
    refreshed = site.http.post(f"/{site.index}/+simple/{project}/refresh")
    assert refreshed.status_code == 302
    assert site.page(project).status_code == 200


def test_concurrent_requests_share_one_fetch_and_get_the_stored_page_while_it_hangs(
    json_upstream: FakeUpstream, make_site: Callable[..., Site]
) -> None:
    site = make_site(json_upstream, mirror_cache_expiry=1)
    project = site.index.split("/")[1] + "-slow"
    json_upstream.add_release(project, "1.0")
    fresh = site.page(project)
    json_upstream.set_fault(Fault.SLOW)
    time.sleep(1.1)
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(pool.map(lambda _: site.page(project), range(12)))
    assert [r.status_code for r in replies] == [200] * 12
    assert all(r.headers["cache-control"] == "no-cache" for r in replies)
    assert all(r.content == fresh.content for r in replies)
    assert len(site.wait_for_log(FAULT_LINE, repr(project))) == 1
    # One fetch: the first request and its one retry.
    assert site.page_requests(project) == 1 + 2


def test_credentials_in_the_mirror_url_are_sent_and_never_shown(
    make_site: Callable[..., Site], fault_server: ServerProcess
) -> None:
    with running("json", credentials=("mirroruser", "s3cret-pass")) as fake:
        site = make_site(fake, mirror_url=fake.url_with_credentials(), mirror_cache_expiry=3600)
        project = site.index.split("/")[1] + "-auth"
        wheel, _ = fake.add_release(project, "1.0")
        assert wheel.filename in site.files(project)
        assert (
            fake.requests_for(f"/simple/{project}/")[0]
            .headers["authorization"]
            .startswith("Basic ")
        )
        config = site.http.get(f"/{site.index}", headers={"Accept": "application/json"})
        assert "s3cret-pass" not in config.text
        fake.set_fault(Fault.DOWN)
        failed = site.page(project + "-other")
        assert failed.status_code == 502
        assert site.wait_for_log(FAULT_LINE, repr(project + "-other"))
        fake.set_fault(None)
        assert "s3cret-pass" not in failed.text
        assert "s3cret-pass" not in failed.reason_phrase
    assert not [line for line in fault_server.output if "s3cret-pass" in line]


def test_wrong_credentials_are_a_502_not_a_crash(make_site: Callable[..., Site]) -> None:
    with running("json", credentials=("mirroruser", "right")) as fake:
        site = make_site(fake, mirror_url=fake.url.replace("http://", "http://u:wrong@"))
        project = site.index.split("/")[1] + "-denied"
        fake.add_release(project, "1.0")
        text = assert_error(site.page(project), 502, "401")
        assert "wrong" not in text
