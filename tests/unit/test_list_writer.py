"""A mirror's stored project list: every valid name once, where it first came, in the names
file and both documents, whatever the Bloom filter that keeps memory flat guesses."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from pkgdepot.mirror.lists import MaybeSeen, _ListWriter


def test_maybe_seen_never_forgets_a_name() -> None:
    seen = MaybeSeen()
    names = [f"name-{n}" for n in range(50_000)]
    new = [seen.add(name) for name in names]
    assert all(seen.add(name) for name in names)
    assert new.count(True) < 50  # few false alarms among new names


def test_each_name_once_in_upstream_order(tmp_path: Path) -> None:
    rng = random.Random(6)
    unique = [f"project-{n}" for n in range(60_000)]
    upstream = list(unique)
    for _ in range(5_000):  # repeats, also spelled otherwise, after their first place
        at = rng.randrange(len(upstream))
        name = upstream[at]
        spelled = name.upper().replace("-", rng.choice(["_", ".", "-"]))
        upstream.insert(rng.randrange(at + 1, len(upstream) + 1), spelled)
    upstream.insert(10, "not a name!")
    expected = list(dict.fromkeys(name.lower().replace("_", "-").replace(".", "-")
                                  for name in upstream if name != "not a name!"))  # fmt: skip
    assert expected == unique

    writer = _ListWriter(tmp_path, "Simple index of root/pypi")
    for name in upstream:
        writer.add(name)
    stored = writer.finish("etag", 7, None)

    assert stored.count == len(unique)
    assert stored.names.read_text().splitlines() == unique
    document = json.loads(stored.document("json").read_bytes())
    assert [entry["name"] for entry in document["projects"]] == unique
    html = stored.document("html").read_text()
    assert re.findall(r'<a href="([^"]+)/">\1</a>', html) == unique
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["state.json", stored.names.name, *(stored.document(f).name for f in ("html", "json"))]
    )  # no scratch or temporary file left
