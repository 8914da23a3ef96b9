"""The default upstream is whatever pip would use here, read from pip at runtime."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pip._internal.models.index import PyPI

from pkgdepot.mirror.default_upstream import (
    config_file_locations,
    default_upstream_url,
    from_config_files,
)


@pytest.fixture
def clean_pip_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PIP_* variables and a home without pip configuration."""
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    return tmp_path


def test_without_any_setting_it_is_pips_builtin_default(
    clean_pip_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # also skips the machine's files
    assert default_upstream_url() == PyPI.simple_url


def test_environment_variable_wins(clean_pip_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = clean_pip_env / "pip.conf"
    config.write_text("[global]\nindex-url = http://from-file.test/simple/\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.setenv("PIP_INDEX_URL", "http://from-env.test/simple/")
    assert default_upstream_url() == "http://from-env.test/simple/"


@pytest.mark.parametrize("section", ["global", "install"])
def test_pip_config_file_named_by_environment(
    clean_pip_env: Path, monkeypatch: pytest.MonkeyPatch, section: str
) -> None:
    config = clean_pip_env / "pip.conf"
    config.write_text(f"[{section}]\nindex-url = http://u:p@from-file.test/simple/\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    assert default_upstream_url() == "http://u:p@from-file.test/simple/"


def test_user_config_file(clean_pip_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_config = clean_pip_env / ".config" / "pip" / "pip.conf"
    user_config.parent.mkdir(parents=True)
    user_config.write_text("[global]\nindex-url = http://user.test/simple/\n")
    assert default_upstream_url() == "http://user.test/simple/"


def test_fallback_reader_order_and_sections(tmp_path: Path) -> None:
    """Our own reading (used when pip's loader is unusable): later files win, install first."""
    first, second, broken = tmp_path / "a.conf", tmp_path / "b.conf", tmp_path / "c.conf"
    first.write_text("[global]\nindex-url = http://first.test/\n")
    second.write_text(
        "[global]\nindex-url = http://global.test/\n[install]\nindex-url = http://install.test/\n"
    )
    broken.write_text("not an ini file")
    missing = tmp_path / "missing.conf"
    assert from_config_files([first, missing]) == "http://first.test/"
    assert from_config_files([first, second, broken, missing]) == "http://install.test/"
    assert from_config_files([missing]) is None


def test_fallback_locations_follow_pip(tmp_path: Path) -> None:
    env_file = tmp_path / "env.conf"
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    with_user = config_file_locations(home)
    assert tmp_path / "cfg" / "pip" / "pip.conf" in with_user
    assert tmp_path / ".pip" / "pip.conf" in with_user
    assert config_file_locations({**home, "PIP_CONFIG_FILE": os.devnull}) == []
    env_file.write_text("")
    with_env = config_file_locations({**home, "PIP_CONFIG_FILE": str(env_file)})
    assert with_env[-1] == env_file
    assert tmp_path / "cfg" / "pip" / "pip.conf" not in with_env  # pip skips user files then


def test_when_pips_loader_breaks_the_files_are_read_directly(
    clean_pip_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pip._internal.configuration import Configuration

    def broken(self: Configuration) -> None:
        raise RuntimeError("pip internals changed")

    monkeypatch.setattr(Configuration, "load", broken)
    config = clean_pip_env / "pip.conf"
    config.write_text("[global]\nindex-url = http://fallback.test/simple/\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    assert default_upstream_url() == "http://fallback.test/simple/"
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    assert default_upstream_url() == PyPI.simple_url
