"""The files ``pkgdepot gen-config`` writes, checked by the real tools: ``nginx -t`` (Debian's
nginx, installed by the test set-up) and ``systemd-analyze verify``; and the command the unit
runs starts a server that answers. (supervisor, cron and logrotate are not installed here;
tests/unit/test_gen_config.py checks their shape.)"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import NOWHERE

NGINX = Path("/usr/sbin/nginx")
SYSTEMD_ANALYZE = Path("/usr/bin/systemd-analyze")


def gen_config(out: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "pkgdepot", "gen-config", "--output", str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"wrote {out / 'nginx-pkgdepot.conf'}" in done.stdout


def nginx_test(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            NGINX, "-t", "-p", out, "-c", out / "nginx-standalone.conf",
            "-e", out / "nginx-error.log",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


VARIANTS = {
    "prefix": ["--outside-url", "https://example.test/pkgs", "--port", "3141"],
    "no-outside-url": ["--host", "0.0.0.0", "--port", "3141"],
    "ipv6": ["--host", "::1", "--port", "3141", "--outside-url", "http://[::1]:8080/"],
    "unix-socket": ["--unix-socket", "/run/pkgdepot/pkgdepot.sock"],
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_nginx_accepts_the_generated_site(tmp_path: Path, variant: str) -> None:
    out = tmp_path / "gen config"  # a space in every path
    serverdir = tmp_path / "server dir"
    gen_config(
        out, "--serverdir", str(serverdir), "--nginx-standalone",
        "--nginx-listen", "127.0.0.1:8999", *VARIANTS[variant],
    )  # fmt: skip
    done = nginx_test(out)
    assert done.returncode == 0, done.stderr
    assert "syntax is ok" in done.stderr
    assert "test is successful" in done.stderr


def test_nginx_rejects_a_broken_site(tmp_path: Path) -> None:
    """The check above can fail: nginx -t on the same files with one directive mangled."""
    out = tmp_path / "out"
    gen_config(out, "--nginx-standalone", "--port", "3141")
    site = out / "nginx-pkgdepot.conf"
    site.write_text(site.read_text().replace("proxy_cache_lock on;", "proxy_cache_lock maybe;"))
    done = nginx_test(out)
    assert done.returncode != 0
    assert "proxy_cache_lock" in done.stderr


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    out = tmp_path / "out"
    gen_config(
        out, "--serverdir", str(tmp_path / "server dir"), "--port", "3141",
        "--outside-url", "https://example.test/pkgs", "--trusted-proxy", "127.0.0.1",
        "--unix-socket", str(tmp_path / "run" / "pkgdepot.sock"),
    )  # fmt: skip
    unit = out / "pkgdepot.service"
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", unit], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(unit) not in done.stdout + done.stderr  # no warning about any of its lines


def test_systemd_analyze_catches_a_broken_unit(tmp_path: Path) -> None:
    out = tmp_path / "out"
    gen_config(out, "--port", "3141")
    unit = out / "pkgdepot.service"
    unit.write_text(unit.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", unit], capture_output=True, text=True, check=False
    )
    assert f"{unit}:" in done.stderr  # the same check as above, which now names the line
    assert "Failed to parse service restart specifier" in done.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_units_command_starts_a_server(tmp_path: Path) -> None:
    out = tmp_path / "out"
    port = _free_port()
    gen_config(
        out, "--serverdir", str(tmp_path / "srv"), "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--mirror-url", NOWHERE, "--outside-url", "http://example.test/p",
    )  # fmt: skip
    line = next(
        line
        for line in (out / "pkgdepot.service").read_text().splitlines()
        if line.startswith("ExecStart=")
    )
    command = shlex.split(line.removeprefix("ExecStart="))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        reply = None
        deadline = time.monotonic() + 30
        while reply is None and time.monotonic() < deadline:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/+api", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
        assert reply is not None, "the server did not answer"
        assert reply.json()["result"]["login"] == "http://example.test/p/+login"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
