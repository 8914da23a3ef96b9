"""Inheritance over real indexes: merged pages, cycles, deleted bases, shadowing, ignore_bases."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.client import Api
from tests.support.stages import (
    SIMPLE_HTML,
    auth_of,
    new_user,
    sdist,
    simple_files,
    simple_projects,
    upload,
    versions,
    wheel,
)


def three(api: Api, unique: Callable[[str], str]) -> tuple[str, str, str]:
    """Indexes a -> b -> c of one user, all volatile."""
    user = new_user(api, unique, "inh")
    a, b, c = f"{user}/a", f"{user}/b", f"{user}/c"
    api.create_index(c)
    api.create_index(b, bases=[c])
    api.create_index(a, bases=[b])
    return a, b, c


def patch_bases(api: Api, index: str, *bases: str) -> None:
    user = index.split("/")[0]
    reply = api.http.patch(f"/{index}", json={"bases": list(bases)}, headers=auth_of(user))
    assert reply.status_code == 200, reply.text
    assert reply.json()["result"]["bases"] == list(bases)


def test_three_indexes_merge_projects_and_files(api: Api, unique: Callable[[str], str]) -> None:
    a, b, c = three(api, unique)
    in_c = upload(api, c, sdist("from-c", "1.0"))
    in_b = upload(api, b, wheel("from-b", "1.0"))
    in_a = upload(api, a, sdist("from-a", "1.0"))
    assert simple_projects(api, a) == ["from-a", "from-b", "from-c"]
    assert simple_projects(api, b) == ["from-b", "from-c"]
    assert simple_projects(api, c) == ["from-c"]
    assert simple_files(api, a, "from-c") == {"from_c-1.0.tar.gz": in_c}
    assert simple_files(api, a, "from-b") == {"from_b-1.0-py3-none-any.whl": in_b}
    assert simple_files(api, a, "from-a") == {"from_a-1.0.tar.gz": in_a}
    # Nothing flows upwards: a base does not see what inherits from it.
    assert api.http.get(f"/{c}/+simple/from-a/", headers=SIMPLE_HTML).status_code == 404
    assert simple_files(api, b, "from-a") == {}
    html = api.http.get(f"/{a}/+simple/", headers=SIMPLE_HTML).text
    assert all(f'href="{name}/"' in html for name in ("from-a", "from-b", "from-c"))


def test_first_index_in_order_wins_per_filename(api: Api, unique: Callable[[str], str]) -> None:
    a, b, c = three(api, unique)
    only_in_c = upload(api, c, sdist("shared", "2.0"))
    hash_c = upload(api, c, sdist("shared", "1.0", summary="the one in c"))
    hash_a = upload(api, a, sdist("shared", "1.0", summary="the one in a"))
    assert hash_a != hash_c
    assert simple_files(api, a, "shared") == {
        "shared-1.0.tar.gz": hash_a,
        "shared-2.0.tar.gz": only_in_c,
    }
    assert simple_files(api, b, "shared") == {
        "shared-1.0.tar.gz": hash_c,
        "shared-2.0.tar.gz": only_in_c,
    }
    page = api.http.get(f"/{a}/+simple/shared/", headers=SIMPLE_HTML).text
    assert page.count("shared-1.0.tar.gz</a>") == 1
    assert f"#sha256={hash_a}" in page
    assert f"#sha256={hash_c}" not in page
    # The link points at the index the file lives in.
    assert f"{a}/+f/{hash_a[:3]}/{hash_a[3:16]}/shared-1.0.tar.gz" in page
    assert f"{c}/+f/{only_in_c[:3]}/{only_in_c[3:16]}/shared-2.0.tar.gz" in page


def test_version_json_shadowing_and_ignore_bases(api: Api, unique: Callable[[str], str]) -> None:
    a, b, c = three(api, unique)
    upload(api, c, sdist("Shadow.Pkg", "1.0", summary="from c"), name="Shadow.Pkg")
    upload(api, c, sdist("Shadow.Pkg", "0.9", summary="old"), name="Shadow.Pkg")
    upload(api, a, sdist("Shadow.Pkg", "1.0", summary="from a"), name="Shadow.Pkg")
    merged = versions(api, a, "shadow-pkg")
    assert sorted(merged) == ["0.9", "1.0"]
    top = merged["1.0"]
    assert [link["href"].split("/+f/")[0] for link in top["+links"]] == [f"{api.url}/{a}"]
    assert len(top["+shadowing"]) == 1
    shadowed = top["+shadowing"][0]
    assert shadowed["version"] == "1.0"
    assert shadowed["+links"][0]["href"].startswith(f"{api.url}/{c}/+f/")
    assert "+shadowing" not in merged["0.9"]
    assert merged["0.9"]["+links"][0]["href"].startswith(f"{api.url}/{c}/+f/")

    own = versions(api, a, "shadow-pkg", "?ignore_bases")
    assert sorted(own) == ["1.0"]
    assert "+shadowing" not in own["1.0"]
    one = api.http.get(f"/{a}/shadow-pkg/1.0").json()
    assert one["type"] == "versiondata"
    assert one["result"] == top
    assert api.http.get(f"/{a}/shadow-pkg/0.9").json()["result"] == merged["0.9"]
    gone = api.http.get(f"/{a}/shadow-pkg/0.9?ignore_bases")
    assert gone.status_code == 404
    assert gone.json()["message"] == "The version 0.9 of project shadow-pkg does not exist."
    # A project that only a base has is unknown to the index itself.
    upload(api, b, sdist("only-b", "1.0"))
    assert sorted(versions(api, a, "only-b")) == ["1.0"]
    reply = api.http.get(f"/{a}/only-b?ignore_bases")
    assert reply.status_code == 404
    assert reply.json()["message"] == "The project only-b does not exist."


def test_cycle_of_three_indexes_still_serves(api: Api, unique: Callable[[str], str]) -> None:
    a, b, c = three(api, unique)
    hash_a = upload(api, a, sdist("cyc", "1.0", summary="a"))
    hash_c = upload(api, c, sdist("cyc", "1.0", summary="c"))
    upload(api, b, sdist("cyc", "2.0"))
    patch_bases(api, c, a)  # a -> b -> c -> a
    # Each index sees all three, itself first; the first in its own order wins per filename.
    assert simple_files(api, a, "cyc")["cyc-1.0.tar.gz"] == hash_a
    assert simple_files(api, b, "cyc")["cyc-1.0.tar.gz"] == hash_c  # b -> c -> a
    assert simple_files(api, c, "cyc")["cyc-1.0.tar.gz"] == hash_c
    for index in (a, b, c):
        assert sorted(simple_files(api, index, "cyc")) == ["cyc-1.0.tar.gz", "cyc-2.0.tar.gz"]
        assert simple_projects(api, index) == ["cyc"]
        assert sorted(versions(api, index, "cyc")) == ["1.0", "2.0"]
        json_api = api.http.get(f"/{index}/pypi/cyc/json")
        assert json_api.status_code == 200
        assert json_api.json()["info"]["version"] == "2.0"
    # The 1.0 of c shadows a's when seen from b, exactly once.
    from_b = versions(api, b, "cyc")["1.0"]
    assert from_b["+links"][0]["href"].startswith(f"{api.url}/{c}/")
    assert [s["+links"][0]["href"].split("/+f/")[0] for s in from_b["+shadowing"]] == [
        f"{api.url}/{a}"
    ]


def test_self_reference_is_harmless(api: Api, unique: Callable[[str], str]) -> None:
    a, b, _c = three(api, unique)
    patch_bases(api, b, b, a)
    own = upload(api, b, sdist("selfish", "1.0"))
    assert simple_files(api, b, "selfish") == {"selfish-1.0.tar.gz": own}
    assert simple_files(api, a, "selfish") == {"selfish-1.0.tar.gz": own}


def test_deleted_base_is_skipped(api: Api, unique: Callable[[str], str]) -> None:
    a, b, c = three(api, unique)
    upload(api, c, sdist("lost", "1.0"))
    upload(api, c, sdist("kept", "1.0"))
    kept_in_b = upload(api, b, sdist("kept", "2.0"))
    own = upload(api, a, sdist("own", "1.0"))
    assert simple_projects(api, a) == ["kept", "lost", "own"]
    user = c.split("/")[0]
    reply = api.http.delete(f"/{c}", headers=auth_of(user))
    assert reply.status_code in (200, 201), reply.text
    # b still names c as a base; both b and a keep serving what they have.
    assert api.http.get(f"/{b}").json()["result"]["bases"] == [c]
    assert simple_projects(api, a) == ["kept", "own"]
    assert simple_projects(api, b) == ["kept"]
    assert simple_files(api, a, "kept") == {"kept-2.0.tar.gz": kept_in_b}
    assert simple_files(api, a, "own") == {"own-1.0.tar.gz": own}
    lost = api.http.get(f"/{a}/+simple/lost/", headers=SIMPLE_HTML)
    assert lost.status_code == 404
    assert sorted(versions(api, a, "kept")) == ["2.0"]
    assert api.http.get(f"/{a}/lost").status_code == 404
    assert api.http.get(f"/{a}/pypi/kept/json").json()["info"]["version"] == "2.0"


def test_diamond_lists_the_shared_base_once(api: Api, unique: Callable[[str], str]) -> None:
    user = new_user(api, unique, "dia")
    top, left, right, tip = (f"{user}/{n}" for n in ("top", "left", "right", "tip"))
    api.create_index(tip)
    api.create_index(left, bases=[tip])
    api.create_index(right, bases=[tip])
    api.create_index(top, bases=[left, right])
    upload(api, tip, sdist("dia", "1.0", summary="tip"))
    upload(api, right, sdist("dia", "1.0", summary="right"))
    upload(api, left, sdist("dia", "1.0", summary="left"))
    data = versions(api, top, "dia")["1.0"]
    where = [data["+links"][0]["href"]] + [s["+links"][0]["href"] for s in data["+shadowing"]]
    assert [href.split("/+f/")[0] for href in where] == [
        f"{api.url}/{left}",
        f"{api.url}/{right}",
        f"{api.url}/{tip}",
    ]


def test_changing_bases_changes_the_cached_page(api: Api, unique: Callable[[str], str]) -> None:
    a, b, c = three(api, unique)
    in_c = upload(api, c, sdist("moving", "1.0"))
    in_b = upload(api, b, sdist("moving", "2.0"))
    assert simple_files(api, a, "moving") == {
        "moving-1.0.tar.gz": in_c,
        "moving-2.0.tar.gz": in_b,
    }
    patch_bases(api, a, c)
    assert simple_files(api, a, "moving") == {"moving-1.0.tar.gz": in_c}
    patch_bases(api, a)
    assert simple_files(api, a, "moving") == {}
    assert simple_projects(api, a) == []
    patch_bases(api, a, b)
    assert len(simple_files(api, a, "moving")) == 2


def test_whitelist_settings_are_stored_and_private_projects_served(
    api: Api, unique: Callable[[str], str]
) -> None:
    user = new_user(api, unique, "wl")
    base, child = f"{user}/base", f"{user}/child"
    created = api.create_index(base, mirror_whitelist=["Six", "Hello.Pkg"])
    assert created["mirror_whitelist"] == ["six", "hello-pkg"]
    assert created["mirror_whitelist_inheritance"] == "intersection"
    created = api.create_index(
        child, bases=[base], mirror_whitelist="*", mirror_whitelist_inheritance="union"
    )
    assert created["mirror_whitelist"] == ["*"]
    assert created["mirror_whitelist_inheritance"] == "union"
    stored = api.http.get(f"/{child}").json()["result"]
    assert stored["mirror_whitelist"] == ["*"]
    assert stored["mirror_whitelist_inheritance"] == "union"
    reply = api.http.patch(
        f"/{child}", json=["mirror_whitelist_inheritance=intersection"], headers=auth_of(user)
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["result"]["mirror_whitelist_inheritance"] == "intersection"
    bad = api.http.patch(
        f"/{child}", json={"mirror_whitelist_inheritance": "both"}, headers=auth_of(user)
    )
    assert bad.status_code == 400
    assert api.http.get(f"/{child}").json()["result"] == {**stored, **reply.json()["result"]}
    six = upload(api, base, wheel("six", "1.0"))
    assert simple_files(api, child, "six") == {"six-1.0-py3-none-any.whl": six}
    assert simple_files(api, base, "six") == {"six-1.0-py3-none-any.whl": six}
    page = api.http.get(f"/{child}/+simple/six/", headers=SIMPLE_HTML).text
    assert "mirror_whitelist" not in page  # nothing was hidden: there is no mirror
