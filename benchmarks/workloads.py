"""The workloads, in the order a run takes them. Each runs on every server that supports it,
one server after the other, and adds its figures to the Bench.

The order matters: the pages come first (the first request for the 5,000-version page is its
cold time), then the list, the download, the uploads; install and start-up use servers of
their own.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.context import Bench
from benchmarks.pages import big_page, project_list, warm_pages
from benchmarks.startup import startup
from benchmarks.transfer import cold_install, download, upload

WORKLOADS: dict[str, Callable[[Bench], None]] = {
    "pages": warm_pages,
    "big-page": big_page,
    "list": project_list,
    "download": download,
    "upload": upload,
    "install": cold_install,
    "startup": startup,
}
