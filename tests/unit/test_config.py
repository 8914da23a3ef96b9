"""Settings: one definition per setting, from CLI > environment > TOML file > default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pkgdepot.config import Settings, default_workers, load_settings, workers_for
from pkgdepot.errors import ConfigError


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pkgdepot.toml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    settings = load_settings({}, environ={})
    assert settings.port == 3141
    assert settings.host == "localhost"
    assert settings.workers == default_workers()
    assert settings.root_password is None
    assert settings.serverdir == Path("~/.pkgdepot/server").expanduser().absolute()


def test_default_workers_is_half_the_usable_cores_at_least_one_at_most_four() -> None:
    assert [workers_for(cores) for cores in (1, 2, 3, 4, 5, 6, 8, 9, 16, 64)] == [
        1, 1, 1, 2, 2, 3, 4, 4, 4, 4,
    ]  # fmt: skip
    assert default_workers() == workers_for(len(os.sched_getaffinity(0)))


def test_precedence_cli_over_environment_over_file(tmp_path: Path) -> None:
    config = write_toml(tmp_path, "port = 1111\nworkers = 3\nhost = '0.0.0.0'\n")
    environ = {"PKGDEPOT_PORT": "2222", "PKGDEPOT_WORKERS": "2"}
    settings = load_settings({"port": 3333}, environ=environ, config_file=config)
    assert settings.port == 3333  # command line wins
    assert settings.workers == 2  # environment beats the file
    assert settings.host == "0.0.0.0"  # only the file sets it


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    config = write_toml(tmp_path, "[pkgdepot]\nmax-upload-size = 1000\n")
    settings = load_settings({}, environ={"PKGDEPOT_CONFIG": str(config)})
    assert settings.max_upload_size == 1000


def test_explicit_config_file_beats_the_environment_variable(tmp_path: Path) -> None:
    chosen = write_toml(tmp_path, "port = 1111\n")
    other = tmp_path / "other.toml"
    other.write_text("port = 2222\n")
    settings = load_settings({}, environ={"PKGDEPOT_CONFIG": str(other)}, config_file=chosen)
    assert settings.port == 1111


def test_every_setting_can_come_from_each_source(tmp_path: Path) -> None:
    values = {
        "serverdir": str(tmp_path / "srv"),
        "host": "127.0.0.1",
        "port": 8080,
        "workers": 2,
        "root_password": "pw",
        "max_upload_size": 123,
        "restrict_modify": ["root", "alice"],
        "token_expiry": 60,
        "log_level": "debug",
        "log_format": "json",
        "outside_url": "https://example.test/pkgs",
        "trusted_proxy": ["127.0.0.1", "10.0.0.0/8"],
        "unix_socket": str(tmp_path / "pkgdepot.sock"),
        "mirror_url": "http://127.0.0.1:9/simple/",
        "request_timeout": 2.5,
        "push_timeout": 60.0,
        "upstream_retries": 4,
        "offline_mode": True,
        "shutdown_timeout": 12,
    }
    expected = Settings(
        serverdir=tmp_path / "srv",
        host="127.0.0.1",
        port=8080,
        workers=2,
        root_password="pw",
        max_upload_size=123,
        restrict_modify=("root", "alice"),
        token_expiry=60,
        log_level="debug",
        log_format="json",
        outside_url="https://example.test/pkgs",
        trusted_proxy=("127.0.0.1", "10.0.0.0/8"),
        unix_socket=tmp_path / "pkgdepot.sock",
        mirror_url="http://127.0.0.1:9/simple/",
        request_timeout=2.5,
        push_timeout=60.0,
        upstream_retries=4,
        offline_mode=True,
        shutdown_timeout=12,
    )
    assert set(values) == set(expected.to_mapping())
    toml_lines = []
    for key, value in values.items():
        if isinstance(value, list):
            toml_lines.append(f"{key} = {value!r}".replace("'", '"'))
        elif isinstance(value, bool):
            toml_lines.append(f"{key} = {str(value).lower()}")
        elif isinstance(value, int | float):
            toml_lines.append(f"{key} = {value}")
        else:
            toml_lines.append(f'{key} = "{value}"')
    config = write_toml(tmp_path, "\n".join(toml_lines) + "\n")
    assert load_settings({}, environ={}, config_file=config) == expected
    environ = {
        f"PKGDEPOT_{key.upper()}": ",".join(value) if isinstance(value, list) else str(value)
        for key, value in values.items()
    }
    assert load_settings({}, environ=environ) == expected
    assert load_settings(values, environ={}) == expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("offline_mode", "maybe", "offline_mode must be true or false"),
        ("request_timeout", "soon", "request_timeout must be a number"),
        ("request_timeout", "0", "request_timeout must be positive"),
        ("push_timeout", "-3", "push_timeout must be positive"),
        ("log_format", "xml", "log_format must be text or json"),
        ("outside_url", "example.test/pkgs", "outside_url must be an http or https URL"),
        ("upstream_retries", "-1", "upstream_retries must be 0 or more"),
        ("shutdown_timeout", "-1", "shutdown_timeout must be 0 or more"),
    ],
)
def test_mirror_settings_are_checked(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({}, environ={f"PKGDEPOT_{name.upper()}": value})


def test_settings_survive_the_trip_to_worker_processes(tmp_path: Path) -> None:
    settings = Settings(serverdir=tmp_path, restrict_modify=("root",), workers=3)
    assert load_settings(settings.to_mapping(), environ={}) == settings


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("bogus = 1\n", "unknown setting(s): bogus"),
        ("[pkgdepot]\nport = 1\nflavour = 'x'\n", "unknown setting(s): flavour"),
        ("port = 'abc'\n", "port must be an integer, not 'abc'"),
        ("port = true\n", "port must be an integer, not True"),
        ("workers = 0\n", "workers must be at least 1, not 0"),
        ("port = 70000\n", "port must be between 0 and 65535, not 70000"),
        ("host = 5\n", "host must be a string, not 5"),
        ("restrict_modify = [1]\n", "restrict_modify must be a list of strings"),
        ("log_level = 'loud'\n", "log_level must be debug, info, warning or error"),
        ("max_upload_size = 0\n", "max_upload_size must be positive"),
        ("port = \n", "is not valid TOML"),
        ("pkgdepot = 3\n", "[pkgdepot] must be a table"),
    ],
)
def test_bad_config_file_is_refused(tmp_path: Path, toml: str, message: str) -> None:
    config = write_toml(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load_settings({}, environ={}, config_file=config)
    assert message in str(caught.value)


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings({}, environ={"PKGDEPOT_CONFIG": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PKGDEPOT_FOO": "1"}, "environment: unknown setting(s): PKGDEPOT_FOO"),
        ({"PKGDEPOT_PORT": "abc"}, "PKGDEPOT_PORT: port must be an integer, not 'abc'"),
        ({"PKGDEPOT_WORKERS": "0"}, "workers must be at least 1, not 0"),
        ({"PKGDEPOT_TOKEN_EXPIRY": "-5"}, "token_expiry must be positive"),
    ],
)
def test_bad_environment_is_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({}, environ=environ)
    assert message in str(caught.value)


def test_unknown_command_line_key_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"command line: unknown setting\(s\): nope"):
        load_settings({"nope": 1}, environ={})


def test_unset_command_line_values_do_not_override() -> None:
    settings = load_settings({"port": None}, environ={"PKGDEPOT_PORT": "4000"})
    assert settings.port == 4000
