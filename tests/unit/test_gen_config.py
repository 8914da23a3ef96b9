"""``pkgdepot gen-config`` in process: what each file says for given settings, the quoting each
file format needs, and refusals. The real tools check the files in
tests/integration/test_gen_config.py."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pkgdepot.commands import deploy_templates as t
from pkgdepot.commands.gen_config import gen_config, pkgdepot_command
from pkgdepot.commands.nginx_user import worker_named
from pkgdepot.serverdir import ServerDir

FILES = {
    "nginx-pkgdepot.conf",
    "pkgdepot.service",
    "supervisor-pkgdepot.conf",
    "crontab",
    "pkgdepot.logrotate",
}


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(gen_config, ["--output", str(tmp_path / "out"), *args], env=env or {})


def generated(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, str]:
    result = run(tmp_path, *args, env=env)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    return {path.name: path.read_text() for path in out.iterdir() if path.is_file()}


def exec_start(unit: str) -> list[str]:
    line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def supervisor_command(text: str) -> list[str]:
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return shlex.split(parser["program:pkgdepot"]["command"].replace("%%", "%"))


def cron_command(text: str) -> list[str]:
    (line,) = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert line.startswith("@reboot ")
    command = line.removeprefix("@reboot ").replace("\\%", "%")
    return shlex.split(command.split(" >> ")[0])


def test_every_file_runs_serve_with_the_given_settings_and_no_secret(tmp_path: Path) -> None:
    serverdir = tmp_path / "srv"
    files = generated(
        tmp_path,
        "--serverdir", str(serverdir), "--port", "4040", "--workers", "3",
        "--root-password", "do-not-leak", "--offline-mode", "--restrict-modify", "root,alice",
        "--outside-url", "https://example.test/pkgs",
        env={"PKGDEPOT_REQUEST_TIMEOUT": "7.5"},
    )  # fmt: skip
    assert set(files) == FILES
    expected = [
        *pkgdepot_command(), "serve",
        "--serverdir", str(serverdir), "--port", "4040", "--workers", "3",
        "--restrict-modify", "root,alice", "--outside-url", "https://example.test/pkgs",
        "--request-timeout", "7.5", "--offline-mode",
    ]  # fmt: skip
    assert exec_start(files["pkgdepot.service"]) == expected
    assert supervisor_command(files["supervisor-pkgdepot.conf"]) == expected
    assert cron_command(files["crontab"]) == expected
    for name, text in files.items():
        assert "do-not-leak" not in text, name


def test_a_config_file_is_passed_on_and_its_values_are_not_repeated(tmp_path: Path) -> None:
    config = tmp_path / "pkgdepot.toml"
    config.write_text('[pkgdepot]\nport = 5050\nserverdir = "/srv/pkgdepot"\n')
    files = generated(tmp_path, "--config", str(config))
    words = exec_start(files["pkgdepot.service"])
    assert words[-4:] == ["--config", str(config), "--serverdir", "/srv/pkgdepot"]
    assert "server 127.0.0.1:5050;" in files["nginx-pkgdepot.conf"]
    from_env = generated(tmp_path, env={"PKGDEPOT_CONFIG": str(config)})
    assert exec_start(from_env["pkgdepot.service"]) == words


def test_nginx_site_under_a_prefix(tmp_path: Path) -> None:
    site = generated(
        tmp_path, "--outside-url", "https://example.test/a-b/pkgs/", "--host", "0.0.0.0",
        "--port", "3141", "--serverdir", "/srv/pkgdepot", "--max-upload-size", "1048576",
        "--nginx-listen", "8080",
    )["nginx-pkgdepot.conf"]  # fmt: skip
    assert "    server 127.0.0.1:3141;\n" in site
    assert "    listen 8080;\n" in site
    assert "    server_name example.test;\n" in site
    assert "proxy_set_header X-Outside-Url https://$pkgdepot_host/a-b/pkgs;" in site
    assert "proxy_set_header X-Pkgdepot-Accel /+pkgdepot-blobs/;" in site
    assert "    location /a-b/pkgs/ {\n" in site
    assert (
        "    location = /a-b/pkgs {\n        return 301 https://$pkgdepot_host/a-b/pkgs/;" in site
    )
    assert r"    location ~ ^/a\-b/pkgs/[^/]+/[^/]+/\+?simple/ {" in site
    assert "        alias /srv/pkgdepot/+blobs/;\n" in site
    assert "client_max_body_size 1048576;" in site
    assert "listen 443 ssl;" in site  # the TLS note, as a comment
    assert "proxy_cache_path /var/cache/pkgdepot-nginx " in site
    assert "access_log /var/log/nginx/pkgdepot-access.log pkgdepot;" in site


def test_nginx_site_without_an_outside_url_takes_everything_from_the_request(
    tmp_path: Path,
) -> None:
    site = generated(tmp_path, "--host", "::1", "--port", "3141")["nginx-pkgdepot.conf"]
    assert "    server [::1]:3141;\n" in site
    assert "proxy_set_header X-Outside-Url $scheme://$pkgdepot_host;" in site
    assert "    location / {\n" in site
    assert "location = " not in site
    assert r"    location ~ ^/[^/]+/[^/]+/\+?simple/ {" in site
    assert "    server_name _;\n" in site
    assert "ssl" not in site


def test_unix_socket_and_paths_with_spaces(tmp_path: Path) -> None:
    serverdir = tmp_path / "server dir"
    socket = tmp_path / "run dir" / "pkgdepot.sock"
    files = generated(tmp_path, "--serverdir", str(serverdir), "--unix-socket", str(socket))
    site = files["nginx-pkgdepot.conf"]
    assert f'    server "unix:{socket}";\n' in site
    assert f'        alias "{serverdir}/+blobs/";\n' in site
    unit = files["pkgdepot.service"]
    assert f'ReadWritePaths="{serverdir}" "{socket.parent}"\n' in unit
    assert "--unix-socket" in exec_start(unit)
    assert "# PrivateTmp is off" in unit  # tmp_path is under /tmp


def test_systemd_unit_shape(tmp_path: Path) -> None:
    unit = generated(tmp_path, "--serverdir", "/srv/pkgdepot", "--user", "pkgdepot")[
        "pkgdepot.service"
    ]
    for line in (
        "User=pkgdepot",
        "Restart=on-failure",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=40",  # shutdown_timeout 30, and a margin
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/srv/pkgdepot",
        "PrivateTmp=yes",
        "WantedBy=multi-user.target",
    ):
        assert line in unit.splitlines(), line


def test_supervisor_cron_and_logrotate_shapes(tmp_path: Path) -> None:
    files = generated(tmp_path, "--user", "pkgdepot", "--log-dir", "/var/log/pkgdepot")
    parser = configparser.RawConfigParser()
    parser.read_string(files["supervisor-pkgdepot.conf"])
    program = parser["program:pkgdepot"]
    assert program["user"] == "pkgdepot"
    assert program["stopsignal"] == "TERM"
    assert program["stdout_logfile"] == "/var/log/pkgdepot/pkgdepot.log"
    assert files["crontab"].splitlines()[-1].endswith(" >> /var/log/pkgdepot/pkgdepot.log 2>&1")
    rotate = [line.strip() for line in files["pkgdepot.logrotate"].splitlines()]
    start = rotate.index("/var/log/pkgdepot/pkgdepot.log {")
    assert rotate[-1] == "}"
    assert {"copytruncate", "compress", "missingok"} <= set(rotate[start + 1 : -1])


def test_percent_signs_are_escaped_for_each_format(tmp_path: Path) -> None:
    serverdir = tmp_path / "100%"
    files = generated(tmp_path, "--serverdir", str(serverdir))
    assert f'--serverdir "{tmp_path}/100%%"' in files["pkgdepot.service"]
    assert str(serverdir) in exec_start(files["pkgdepot.service"].replace("%%", "%"))
    assert str(serverdir) in supervisor_command(files["supervisor-pkgdepot.conf"])
    assert str(serverdir) in cron_command(files["crontab"])
    assert f"{tmp_path}/100\\%" in files["crontab"]


def test_standalone_nginx_keeps_everything_in_the_output_directory(tmp_path: Path) -> None:
    files = generated(tmp_path, "--nginx-standalone")
    out = tmp_path / "out"
    main = files["nginx-standalone.conf"]
    assert f"pid {out}/nginx.pid;" in main
    assert f"error_log {out}/nginx-error.log;" in main
    assert f"include {out}/nginx-pkgdepot.conf;" in main
    assert f"proxy_temp_path {out}/nginx-temp/proxy;" in main
    assert f"proxy_cache_path {out}/nginx-cache " in files["nginx-pkgdepot.conf"]
    assert f"access_log {out}/pkgdepot-access.log pkgdepot;" in files["nginx-pkgdepot.conf"]
    assert (out / "nginx-temp").is_dir()


def test_the_default_cache_needs_no_directory_made_by_hand(tmp_path: Path) -> None:
    """nginx creates only the last level of a cache path; Debian's nginx has no
    /var/cache/nginx, so the cache is one level below /var/cache, which every system has."""
    result = run(tmp_path)
    site = (tmp_path / "out" / "nginx-pkgdepot.conf").read_text()
    (path,) = re.findall(r"^proxy_cache_path (\S+) ", site, re.MULTILINE)
    assert Path(path).parent == Path("/var/cache")
    assert "creates only the last level" not in result.output
    elsewhere = run(tmp_path, "--nginx-cache-dir", str(tmp_path / "no" / "cache"))
    assert (
        f"warning: {tmp_path}/no does not exist here, and nginx creates only the last level "
        f"of its cache directory {tmp_path}/no/cache: create it first: mkdir -p {tmp_path}/no"
    ) in elsewhere.output


def test_a_server_directory_nginx_cannot_enter_is_warned_about_with_the_fix() -> None:
    base = Path(tempfile.mkdtemp()).resolve()  # pytest's own temporary directories are 0700
    try:
        base.chmod(0o755)
        serverdir = base / "srv"
        ServerDir(serverdir).prepare()
        args = ["--serverdir", str(serverdir), "--nginx-user", "nobody"]
        result = run(base, *args)
        assert result.exit_code == 0, result.output
        warning = result.output[
            result.output.index("warning: nginx's user nobody (--nginx-user)") :
        ]
        nobody = worker_named("nobody")
        assert nobody is not None
        fix = f"chgrp {nobody.group} {serverdir} && chmod g+x {serverdir}"
        assert warning.splitlines()[1:] == [f"  {serverdir} (drwx------ root:root):", f"    {fix}"]
        subprocess.run(["sh", "-c", fix], check=True)
        assert "nginx's user" not in run(base, *args).output
    finally:
        shutil.rmtree(base)


def test_standalone_nginx_runs_its_workers_as_the_nginx_user(tmp_path: Path) -> None:
    """As root (as the tests run), nginx-standalone.conf names its workers' user."""
    nobody = worker_named("nobody")
    assert nobody is not None
    main = generated(tmp_path, "--nginx-standalone", "--nginx-user", "nobody")
    assert f"\nuser nobody {nobody.group};\n" in main["nginx-standalone.conf"]
    default = generated(tmp_path, "--nginx-standalone", "--user", "nobody")
    assert f"\nuser nobody {nobody.group};\n" in default["nginx-standalone.conf"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "0"], "nginx needs pkgdepot on a fixed port: port is 0"),
        (
            ["--outside-url", "https://example.test/a%20b"],
            "the nginx site supports path prefixes of letters, digits and ._~+- only",
        ),
        (["--serverdir", "/srv/$pkgdepot"], "the nginx configuration cannot hold"),
        (["--outside-url", "example.test"], "outside_url must be an http or https URL"),
    ],
)
def test_refusals_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    result = run(tmp_path, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_an_untrusted_nginx_is_warned_about(tmp_path: Path) -> None:
    result = run(tmp_path, "--host", "127.0.0.1", "--trusted-proxy", "10.0.0.0/8")
    assert result.exit_code == 0
    assert "warning: trusted_proxy does not include 127.0.0.1" in result.output
    quiet = run(tmp_path, "--host", "127.0.0.1", "--trusted-proxy", "127.0.0.0/8")
    assert "trusted_proxy" not in quiet.output


def test_render_refuses_missing_and_unused_values() -> None:
    assert t.render("a {{x}} b {{x}}", {"x": "1"}) == "a 1 b 1"
    with pytest.raises(KeyError, match=r"missing \['y'\], unused \['z'\]"):
        t.render("{{x}} {{y}}", {"x": "1", "z": "2"})


@pytest.mark.parametrize(
    ("word", "nginx", "systemd"),
    [
        ("/srv/pkgdepot", "/srv/pkgdepot", "/srv/pkgdepot"),
        ("/srv/a b", '"/srv/a b"', '"/srv/a b"'),
        ("/srv/a;b", '"/srv/a;b"', '"/srv/a;b"'),
        ("/srv/50%", "/srv/50%", '"/srv/50%%"'),
    ],
)
def test_words_are_quoted_where_needed(word: str, nginx: str, systemd: str) -> None:
    assert t.nginx_word(word) == nginx
    assert t.systemd_word(word) == systemd


def test_systemd_doubles_dollars_and_escapes_quotes() -> None:
    assert t.systemd_word('a"b$c') == '"a\\"b$$c"'
