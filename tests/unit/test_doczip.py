"""The doc zip checker: every unsafe entry is refused by name, and a safe zip unpacks exactly."""

from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path

import pytest

from pkgdepot import doczip
from pkgdepot.doczip import Limits, UnsafeDocZip
from tests.support.doczips import (
    COMPRESSED_SIZE,
    FILE_SIZE,
    FLAGS,
    METHOD,
    Member,
    make_zip,
    patch_central,
    same_content_zip,
    sphinx_like,
    symlink,
    with_mode,
)


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "docs.zip"
    path.write_bytes(data)
    return path


def refused(tmp_path: Path, data: bytes, limits: Limits = doczip.DEFAULT_LIMITS) -> str:
    """check's message; unpack refuses the same zip with the same message."""
    path = write(tmp_path, data)
    with pytest.raises(UnsafeDocZip) as checked:
        doczip.check(path, limits)
    target = tmp_path / "tree"
    target.mkdir()
    with pytest.raises(UnsafeDocZip) as unpacked:
        doczip.unpack(path, target, limits)
    assert unpacked.value.message == checked.value.message
    return checked.value.message


# names


BAD_NAMES = [
    ("/etc/passwd", "is an absolute path"),
    ("//server/share/x", "is an absolute path"),
    ("C:\\Windows\\x.html", "is an absolute path"),
    ("c:x.html", "is an absolute path"),
    ("\\\\server\\share\\x", "is an absolute path"),
    ("\\x.html", "is an absolute path"),
    ("a\\..\\..\\x.html", "contains a backslash"),
    ("../x.html", "has a '..' segment that would escape its folder"),
    ("a/../../x.html", "has a '..' segment that would escape its folder"),
    ("a/b/..", "has a '..' segment that would escape its folder"),
    ("a/\x01.html", "contains a control character"),
    ("a\x00b.html", "contains a control character"),
    ("x" * 256 + ".html", "has a name longer than 255 bytes"),
    ("/".join(["d" * 200] * 6), "has a path longer than 1024 bytes"),
]


@pytest.mark.parametrize(("name", "problem"), BAD_NAMES)
def test_unsafe_names_are_refused(name: str, problem: str) -> None:
    with pytest.raises(UnsafeDocZip) as error:
        doczip.entry_parts(name)
    assert error.value.message.endswith(problem)
    assert error.value.message.startswith("documentation zip entry ")


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("index.html", ("index.html",)),
        ("./a/./b.html", ("a", "b.html")),
        ("a//b.html", ("a", "b.html")),
        ("a/", ("a",)),
        ("..x/y..html", ("..x", "y..html")),
        ("ünïcödé/página.html", ("ünïcödé", "página.html")),
    ],
)
def test_safe_names_become_segments(name: str, parts: tuple[str, ...]) -> None:
    assert doczip.entry_parts(name) == parts


def test_a_refused_zip_names_the_entry(tmp_path: Path) -> None:
    data = make_zip([("index.html", b"ok"), ("../../outside.html", b"x")])
    message = refused(tmp_path, data)
    assert message == (
        "documentation zip entry '../../outside.html' has a '..' segment that would escape "
        "its folder"
    )
    assert not (tmp_path.parent / "outside.html").exists()


def test_nul_in_a_name_is_refused(tmp_path: Path) -> None:
    """zipfile cuts a name at its NUL byte; the checker sees the name as stored."""
    data = make_zip([("index.htmlX.exe", b"x")]).replace(b"index.htmlX.exe", b"index.html\x00.exe")
    assert refused(tmp_path, data).endswith("contains a control character")


# kinds of entries


@pytest.mark.parametrize(
    ("info", "problem"),
    [
        (symlink("link.html"), "is a symbolic link"),
        (symlink("folder/"), "is a symbolic link"),
        (with_mode("fifo", stat.S_IFIFO | 0o644), "is not a regular file or folder"),
        (with_mode("dev", stat.S_IFCHR | 0o644), "is not a regular file or folder"),
        (with_mode("blk", stat.S_IFBLK | 0o644), "is not a regular file or folder"),
        (with_mode("sock", stat.S_IFSOCK | 0o644), "is not a regular file or folder"),
    ],
)
def test_links_and_devices_are_refused(tmp_path: Path, info: zipfile.ZipInfo, problem: str) -> None:
    data = make_zip([("index.html", b"ok"), (info, b"/etc/passwd")])
    assert refused(tmp_path, data) == f"documentation zip entry {info.filename!r} {problem}"


def test_a_folder_with_content_is_refused(tmp_path: Path) -> None:
    data = make_zip([(with_mode("folder", stat.S_IFDIR | 0o755), b"data")])
    assert refused(tmp_path, data) == "documentation zip entry 'folder' is a folder with content"


def test_encrypted_entries_are_refused(tmp_path: Path) -> None:
    data = make_zip([("secret.html", b"not really encrypted")])
    data = patch_central(data, "secret.html", FLAGS, 0x1)
    assert refused(tmp_path, data) == "documentation zip entry 'secret.html' is encrypted"


def test_unknown_compression_is_refused(tmp_path: Path) -> None:
    data = patch_central(make_zip([("index.html", b"ok")]), "index.html", METHOD, 99)
    assert refused(tmp_path, data) == (
        "documentation zip entry 'index.html' uses compression method 99, which is not supported"
    )


# the tree


@pytest.mark.parametrize(
    ("members", "name", "problem"),
    [
        ([("a.html", b"1"), ("a.html", b"2")], "a.html", "appears more than once"),
        ([("a.html", b"1"), ("./a.html", b"2")], "./a.html", "appears more than once"),
        ([("d/", b""), ("d/", b"")], "d/", "appears more than once"),
        (
            [("a", b"file"), ("a/b.html", b"x")],
            "a",
            "is a file and also a folder of other entries",
        ),
        ([("a/", b""), ("a", b"file")], "a", "appears more than once"),
    ],
)
def test_paths_are_unique(tmp_path: Path, members: list[Member], name: str, problem: str) -> None:
    assert refused(tmp_path, make_zip(members)) == f"documentation zip entry {name!r} {problem}"


# sizes


def test_too_many_entries(tmp_path: Path) -> None:
    data = make_zip([(f"{n}.html", b"x") for n in range(4)])
    assert refused(tmp_path, data, Limits(entries=3)) == (
        "documentation zip has 4 entries, more than the limit of 3"
    )
    doczip.check(write(tmp_path, data), Limits(entries=4))


def test_the_entry_limit_is_twenty_thousand() -> None:
    assert doczip.MAX_ENTRIES == 20_000
    assert doczip.MAX_TOTAL_SIZE == 1024**3


def test_total_size_over_the_limit(tmp_path: Path) -> None:
    data = make_zip([("a.html", b"a" * 60), ("b.html", b"b" * 60)], zipfile.ZIP_STORED)
    assert refused(tmp_path, data, Limits(total_size=100)) == (
        "documentation zip unpacks to 120 bytes, more than the limit of 100 bytes"
    )
    doczip.check(write(tmp_path, data), Limits(total_size=120))


def test_a_gibibyte_of_small_entries_is_too_much(tmp_path: Path) -> None:
    """1025 entries of 1 MiB each: no entry is a bomb, together they are over 1 GiB."""
    data = same_content_zip([f"{n}.html" for n in range(1025)], bytes(1024 * 1024))
    assert refused(tmp_path, data) == (
        "documentation zip unpacks to 1074790400 bytes, more than the limit of 1073741824 bytes"
    )


def test_a_zip_bomb_is_refused_by_its_ratio(tmp_path: Path) -> None:
    data = make_zip([("bomb.html", bytes(2 * 1024 * 1024))])
    message = refused(tmp_path, data)
    assert message.startswith("documentation zip entry 'bomb.html' expands from ")
    assert message.endswith(" to 2097152 bytes, more than 200:1 (a zip bomb?)")


def test_small_entries_may_compress_well(tmp_path: Path) -> None:
    data = make_zip([("blank.html", bytes(1024 * 1024))])  # about 1000:1, but only 1 MiB
    doczip.check(write(tmp_path, data))


def test_an_entry_may_not_hold_more_than_it_declares(tmp_path: Path) -> None:
    """The sizes in the central directory are a claim: unpacking writes no more than that."""
    real = b"<p>docs</p>" * 1000
    data = patch_central(make_zip([("index.html", real)]), "index.html", FILE_SIZE, 100)
    message = refused(tmp_path, data)
    assert message.startswith("documentation zip entry 'index.html' is damaged: ")
    assert (tmp_path / "tree" / "index.html").stat().st_size <= 100


def test_a_lying_compressed_size_is_refused(tmp_path: Path) -> None:
    data = make_zip([("a.html", b"<p>a</p>" * 100), ("b.html", b"<p>b</p>" * 100)])
    data = patch_central(data, "a.html", COMPRESSED_SIZE, 5)
    message = refused(tmp_path, data)
    assert message.startswith("documentation zip entry 'a.html' ")


def test_damaged_data_is_refused(tmp_path: Path) -> None:
    page = zlib.compress(bytes(range(256)) * 64)  # data that does not compress to nothing
    data = bytearray(make_zip([("index.html", page)]))
    middle = data.find(b"index.html") + len("index.html") + 200  # inside the compressed bytes
    data[middle] ^= 0xFF
    message = refused(tmp_path, bytes(data))
    assert message.startswith("documentation zip entry 'index.html' is damaged: ")


def test_a_damaged_central_directory_is_refused(tmp_path: Path) -> None:
    data = make_zip([("index.html", b"ok")])
    cut = data[: data.find(b"PK\x01\x02") + 10] + data[-22:]
    with pytest.raises(UnsafeDocZip) as error:
        doczip.check(write(tmp_path, cut))
    assert error.value.message.startswith("documentation zip is damaged: ")


# a good zip


def test_a_safe_zip_unpacks_exactly(tmp_path: Path) -> None:
    pages = sphinx_like()
    members: list[Member] = [("./", b""), ("empty/", b""), *pages.items()]
    path = write(tmp_path, make_zip(members))
    doczip.check(path)
    target = tmp_path / "tree"
    target.mkdir()
    doczip.unpack(path, target)
    unpacked = {
        p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()
    }
    assert unpacked == pages
    assert (target / "empty").is_dir()
    assert not any(p.is_symlink() for p in target.rglob("*"))


def test_a_zip_made_on_windows_has_no_unix_modes(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("page.html")
    info.create_system = 0
    info.external_attr = 0x20  # the DOS "archive" attribute
    folder = zipfile.ZipInfo("folder/")
    folder.create_system = 0
    folder.external_attr = 0x10  # the DOS "directory" attribute
    path = write(tmp_path, make_zip([(info, b"page"), (folder, b"")]))
    doczip.check(path)
    target = tmp_path / "tree"
    target.mkdir()
    doczip.unpack(path, target)
    assert (target / "page.html").read_bytes() == b"page"
    assert (target / "folder").is_dir()
