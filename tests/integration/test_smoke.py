from __future__ import annotations

from collections.abc import Callable

from tests.support import dists
from tests.support.client import Api


def test_upload_then_simple_page_lists_the_file(api: Api, unique: Callable[[str], str]) -> None:
    user = unique("smoke")
    api.create_user(user)
    api.create_index(f"{user}/dev")
    filename, data = dists.make_wheel("hello-pkg", "1.0", requires_python=">=3.8")
    reply = api.upload(f"{user}/dev", filename, data, auth=(user, "secret"))
    assert reply.status_code == 200, reply.text
    page = api.http.get(f"/{user}/dev/+simple/hello-pkg/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert filename in page.text
    assert 'data-requires-python="&gt;=3.8"' in page.text
    as_json = api.http.get(f"/{user}/dev/+simple/hello-pkg/")
    assert as_json.status_code == 406
