"""A real nginx, started by the test with the site ``pkgdepot gen-config`` writes, in front of
a real ``pkgdepot serve`` under the path prefix ``/pkgs``: twine uploads and pip, uv and
devpi-client work through it, nginx sends the stored files itself (X-Accel-Redirect), keeps
simple pages a few seconds, and every URL pkgdepot gives out points through the proxy.

Also the site as gen-config writes it by default, checked by ``nginx -t`` where Debian's nginx
leaves it (no /var/cache/nginx); and nginx's workers as Debian runs them (www-data), kept
from the stored files until the commands gen-config gives are run."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BIN, Clients, clients_in, isolated_environment
from tests.support import dists
from tests.support.client import Api
from tests.support.server import ServerProcess

pytestmark = pytest.mark.e2e

NGINX = Path("/usr/sbin/nginx")
DEBIAN_NGINX_USER = "www-data"  # the user directive of Debian's /etc/nginx/nginx.conf
VAR_CACHE_NGINX = Path("/var/cache/nginx")  # nginx.org's package makes it, Debian's does not
USER, PASSWORD = "proxied", "proxied-secret"
STAGE = f"{USER}/dev"
JSON = {"Accept": "application/json"}
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}


@dataclasses.dataclass
class Proxied:
    server: ServerProcess
    proxy: str  # http://127.0.0.1:PORT/pkgs
    out: Path  # gen-config's directory: nginx's files and access log
    http: httpx.Client  # to nginx
    files: dict[str, bytes]  # uploaded through nginx by twine: filename -> content

    def access_log(self) -> list[str]:
        return (self.out / "pkgdepot-access.log").read_text().splitlines()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start_nginx(out: Path, proxy: str) -> subprocess.Popen[bytes]:
    config = ["-p", str(out), "-c", str(out / "nginx-standalone.conf")]
    config += ["-e", str(out / "nginx-error.log")]
    check = subprocess.run([NGINX, "-t", *config], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [NGINX, *config, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{proxy}/+api", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.terminate()
    raise RuntimeError("nginx did not answer:\n" + (out / "nginx-error.log").read_text())


def gen_config(out: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEPOT_")}
    done = subprocess.run(
        [BIN / "pkgdepot", "gen-config", "--output", out, *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@contextlib.contextmanager
def running_nginx(out: Path, proxy: str) -> Iterator[None]:
    """nginx with the configuration gen-config wrote into ``out``, answering at ``proxy``."""
    nginx = _start_nginx(out, proxy)
    try:
        yield
    finally:
        os.killpg(nginx.pid, signal.SIGQUIT)  # graceful shutdown
        nginx.wait(timeout=30)


@contextlib.contextmanager
def nginx_in_front(server: ServerProcess, out: Path, prefix: str, *where: str) -> Iterator[str]:
    """nginx with the site gen-config writes for ``server`` (reached at ``where``, the
    host/port or unix socket flags), under ``prefix``; yields the proxy's URL."""
    port = _free_port()
    proxy = f"http://127.0.0.1:{port}{prefix}"
    gen_config(
        out, "--serverdir", server.serverdir, *where, "--outside-url", proxy,
        "--nginx-standalone", "--nginx-listen", f"127.0.0.1:{port}",
    )  # fmt: skip
    with running_nginx(out, proxy):
        yield proxy


def app_access_lines(server: ServerProcess, fragment: str) -> list[str]:
    """pkgdepot's own access-log lines (``--log-level info``) holding ``fragment``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [line for line in list(server.output) if fragment in line]
        if found:
            return found
        time.sleep(0.05)
    return []


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    root = tmp_path_factory.mktemp("nginx")
    server = ServerProcess(root / "server", extra_args=["--log-level", "info"]).start()
    try:
        app_port = server.url.rsplit(":", 1)[1]
        out = root / "gen-config"
        where = ("--host", "127.0.0.1", "--port", app_port)
        with nginx_in_front(server, out, "/pkgs", *where) as proxy:
            api = Api(proxy)
            api.create_user(USER, password=PASSWORD)
            api.create_index(STAGE, auth=(USER, PASSWORD))
            api.close()
            clients = clients_in(root / "uploader")
            dist = root / "dist"
            dist.mkdir()
            built = [
                dists.make_wheel("proxied-pkg", "1.0"),
                dists.make_sdist("proxied-pkg", "1.0"),
            ]
            paths = [dists.write(dist, made) for made in built]
            done = clients.twine_upload(f"{proxy}/{STAGE}/", USER, PASSWORD, paths)
            assert done.returncode == 0, done.stdout + done.stderr
            with httpx.Client(timeout=30) as http:
                yield Proxied(server, proxy, out, http, dict(built))
    finally:
        server.stop()


def test_pip_installs_through_nginx_and_nginx_sends_the_files(
    proxied: Proxied, clients: Clients
) -> None:
    python = clients.new_venv("venv", with_pip=True)
    output = clients.pip_install(python, f"{proxied.proxy}/{STAGE}/+simple/", "proxied-pkg")
    assert "Successfully installed proxied-pkg-1.0" in output
    shown = clients.check([python, "-c", "import proxied_pkg_mod as m; print(m.VERSION)"])
    assert shown.strip() == "1.0"
    # pip's own requests, as nginx logged them: the wheel came from nginx's internal location,
    # where pkgdepot's X-Accel-Redirect sent it; pkgdepot sent no byte of it.
    wheel = dists.wheel_name("proxied-pkg", "1.0")
    sha256 = hashlib.sha256(proxied.files[wheel]).hexdigest()
    by_pip = [line for line in proxied.access_log() if '"pip/' in line]
    downloads = [line for line in by_pip if f"/{wheel} HTTP/1.1" in line]
    assert downloads, by_pip
    for line in downloads:
        assert re.search(r'"GET /pkgs/proxied/dev/(\+|%2B)f/', line), line  # pip sends %2B
        assert f" 200 {len(proxied.files[wheel])} " in line
        assert line.endswith(f"accel=/+pkgdepot-blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}")
    # and pkgdepot's access log: it answered those requests with no body
    for line in app_access_lines(proxied.server, f"/{wheel} HTTP/1.1"):
        assert f'/{wheel} HTTP/1.1" 200 0 ' in line, line
    assert app_access_lines(proxied.server, f"/{wheel} HTTP/1.1")


def test_uv_installs_through_nginx(proxied: Proxied, clients: Clients) -> None:
    python = clients.new_venv("venv-uv", with_pip=False)
    output = clients.uv_pip_install(python, f"{proxied.proxy}/{STAGE}/+simple/", "proxied-pkg")
    assert "+ proxied-pkg==1.0" in output


def _absolute_urls(data: Any) -> Iterator[str]:
    if isinstance(data, dict):
        for value in data.values():
            yield from _absolute_urls(value)
    elif isinstance(data, list):
        for value in data:
            yield from _absolute_urls(value)
    elif isinstance(data, str) and re.match(r"https?://", data):
        yield data


def test_every_url_in_api_and_project_json_points_through_the_proxy(proxied: Proxied) -> None:
    documents = [
        proxied.http.get(f"{proxied.proxy}{path}", headers=JSON).json()
        for path in (
            "/+api",
            f"/{STAGE}/+api",
            f"/{STAGE}/proxied-pkg",
            f"/{STAGE}/proxied-pkg/1.0",
            f"/{STAGE}/pypi/proxied-pkg/json",
        )
    ]
    urls = [url for document in documents for url in _absolute_urls(document)]
    assert len(urls) > 10
    assert all(url.startswith(proxied.proxy + "/") for url in urls), urls
    api = documents[1]["result"]
    assert api["login"] == f"{proxied.proxy}/+login"
    for url in (api["index"], api["simpleindex"], api["pypisubmit"]):
        assert proxied.http.get(url).status_code == 200, url
    for link in documents[2]["result"]["1.0"]["+links"]:
        reply = proxied.http.get(link["href"])
        assert reply.status_code == 200
        assert reply.headers["x-pkgdepot-sent-by"] == "nginx"
        assert reply.headers["etag"] == f'"{link["hashes"]["sha256"]}"'
        assert hashlib.sha256(reply.content).hexdigest() == link["hashes"]["sha256"]


def test_byte_ranges_and_conditional_requests_through_nginx(proxied: Proxied) -> None:
    wheel = dists.wheel_name("proxied-pkg", "1.0")
    page = proxied.http.get(f"{proxied.proxy}/{STAGE}/+simple/proxied-pkg/", headers=SIMPLE_JSON)
    url = next(f["url"] for f in page.json()["files"] if f["filename"] == wheel)
    file_url = httpx.URL(f"{proxied.proxy}/{STAGE}/+simple/proxied-pkg/").join(url)
    part = proxied.http.get(file_url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == proxied.files[wheel][:100]
    unchanged = proxied.http.get(file_url, headers={"If-None-Match": part.headers["etag"]})
    assert unchanged.status_code == 304


def test_simple_pages_are_kept_a_few_seconds_by_nginx(proxied: Proxied) -> None:
    url = f"{proxied.proxy}/{STAGE}/+simple/proxied-pkg/"
    headers = {"Accept": "text/html"}
    started = time.monotonic()
    first = proxied.http.get(url, headers=headers)
    second = proxied.http.get(url, headers=headers)
    elapsed = time.monotonic() - started
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.headers["x-pkgdepot-nginx-cache"] in {"MISS", "EXPIRED", "REVALIDATED"}
    # nginx keeps a page 5 s; a slower machine may see it expire between the two requests
    kept = {"HIT"} if elapsed < 4 else {"HIT", "EXPIRED", "REVALIDATED"}
    assert second.headers["x-pkgdepot-nginx-cache"] in kept
    # JSON is a variant of its own (Vary: Accept), and a logged-in request is never cached
    assert proxied.http.get(url, headers=SIMPLE_JSON).json()["name"] == "proxied-pkg"
    auth = proxied.http.get(url, headers={**headers, "Authorization": "Basic eDp5"})
    assert auth.headers["x-pkgdepot-nginx-cache"] == "BYPASS"


def test_redirects_through_nginx_stay_under_the_prefix(proxied: Proxied) -> None:
    for path, target in (
        ("", "/"),
        (f"/{STAGE}/+simple", f"/{STAGE}/+simple/"),
        (f"/{STAGE}/+simple/Proxied_Pkg/", f"/{STAGE}/+simple/proxied-pkg/"),
    ):
        reply = proxied.http.get(proxied.proxy + path)
        assert reply.status_code == 301, path
        assert reply.headers["location"] == proxied.proxy + target
        assert proxied.http.get(reply.headers["location"]).status_code == 200


def test_devpi_client_through_nginx(proxied: Proxied, tmp_path: Path) -> None:
    env = isolated_environment(tmp_path)

    def devpi(*args: str) -> str:
        done = subprocess.run(
            [BIN / "devpi", *args], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"devpi {args}:\n{done.stdout}{done.stderr}"
        return done.stdout + done.stderr

    assert f"current devpi index: {proxied.proxy}/{STAGE}" in devpi(
        "use", f"{proxied.proxy}/{STAGE}"
    )
    assert f"logged in '{USER}'" in devpi("login", USER, "--password", PASSWORD)
    listed = devpi("list", "proxied-pkg")
    assert f"{proxied.proxy}/{STAGE}/+f/" in listed
    assert proxied.server.url not in listed


def test_nginx_in_front_of_the_unix_socket(tmp_path: Path) -> None:
    """No prefix this time, and pkgdepot on a unix socket: a peer there is a trusted proxy,
    so the client's address nginx forwards reaches pkgdepot's access log."""
    socket_dir = Path(tempfile.mkdtemp(prefix="pkgdepot-"))  # a socket path is short
    sock = socket_dir / "s.sock"
    server = ServerProcess(
        tmp_path / "server", extra_args=["--unix-socket", str(sock), "--log-level", "info"]
    ).start()
    try:
        with nginx_in_front(server, tmp_path / "out", "", "--unix-socket", str(sock)) as proxy:
            api = Api(proxy)
            api.create_user("socketeer")
            api.create_index("socketeer/dev")
            name, wheel = dists.make_wheel("socket-pkg", "2.0")
            assert api.upload("socketeer/dev", name, wheel, auth=("socketeer", "secret")).is_success
            found = api.http.get("/socketeer/dev/+api").json()["result"]
            assert found["simpleindex"] == f"{proxy}/socketeer/dev/+simple/"
            links = api.http.get("/socketeer/dev/socket-pkg/2.0").json()["result"]["+links"]
            assert links[0]["href"].startswith(f"{proxy}/socketeer/dev/+f/")
            forwarded = {"X-Forwarded-For": "203.0.113.9", "Accept": "*/*"}
            reply = api.http.get(links[0]["href"], headers=forwarded)
            api.close()
        assert reply.headers["x-pkgdepot-sent-by"] == "nginx"
        assert reply.content == wheel
        # nginx appended its client (127.0.0.1) to the header; the nearest untrusted hop wins
        [line] = app_access_lines(server, f"/{name} HTTP/1.1")
        assert " 127.0.0.1 " in line
        assert f'/{name} HTTP/1.1" 200 0 ' in line
    finally:
        server.stop()
        shutil.rmtree(socket_dir, ignore_errors=True)


@contextlib.contextmanager
def absent(*paths: Path) -> Iterator[None]:
    """``paths`` moved aside while the test runs, then put back; what the test made there in
    the meantime is removed."""
    aside = {path: path.with_name(path.name + ".pkgdepot-test-aside") for path in paths}
    for path, moved in aside.items():
        assert not moved.exists(), f"{moved} is left from an interrupted run: put it back"
        if path.exists():
            path.rename(moved)
    try:
        yield
    finally:
        for path, moved in aside.items():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            if moved.exists():
                moved.rename(path)


def minimal_main_config(directory: Path, site: Path) -> Path:
    """A main configuration that holds ``site`` where Debian's does (in http, for its workers'
    user), its own files (pid, error log, temporary files) kept in ``directory``."""
    temp_paths = "".join(
        f"    {kind}_temp_path {directory}/temp-{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = directory / f"main-{site.parent.name}.conf"
    config.write_text(
        f"user {DEBIAN_NGINX_USER};\npid {directory}/nginx.pid;\n"
        f"error_log {directory}/nginx-error.log;\nevents {{}}\n"
        f"http {{\n{temp_paths}    include {site};\n}}\n"
    )
    return config


def nginx_t(config: Path) -> subprocess.CompletedProcess[str]:
    error_log = config.parent / "nginx-error.log"
    command: list[str | Path] = [NGINX, "-t", "-c", config, "-e", error_log]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_default_site_passes_nginx_t_without_var_cache_nginx(tmp_path: Path) -> None:
    """Debian's nginx package makes no /var/cache/nginx, and nginx creates only the last level
    of a cache path: the site gen-config writes by default passes ``nginx -t`` as it stands,
    and nginx makes the cache, for its workers. With the cache where it was before, the same
    check fails."""
    out = tmp_path / "default"
    written = gen_config(out)  # every nginx setting as it comes
    site = (out / "nginx-pkgdepot.conf").read_text()
    [cache] = re.findall(r"^proxy_cache_path (\S+) ", site, re.MULTILINE)
    [access_log] = re.findall(r"^    access_log (\S+) pkgdepot;", site, re.MULTILINE)
    assert "creates only the last level" not in written.stderr
    with absent(VAR_CACHE_NGINX, Path(cache), Path(access_log)):
        done = nginx_t(minimal_main_config(tmp_path, out / "nginx-pkgdepot.conf"))
        assert done.returncode == 0, done.stderr
        assert "test is successful" in done.stderr
        assert not VAR_CACHE_NGINX.exists()
        made = Path(cache).stat()
        assert made.st_uid == pwd.getpwnam(DEBIAN_NGINX_USER).pw_uid
        assert stat.S_IMODE(made.st_mode) == 0o700

        old = tmp_path / "old"
        warned = gen_config(old, "--nginx-cache-dir", "/var/cache/nginx/pkgdepot")
        assert "create it first: mkdir -p /var/cache/nginx" in warned.stderr
        failed = nginx_t(minimal_main_config(tmp_path, old / "nginx-pkgdepot.conf"))
        assert failed.returncode != 0
        assert 'mkdir() "/var/cache/nginx/pkgdepot" failed (2: No such file' in failed.stderr


def test_nginx_sends_the_files_once_the_commands_gen_config_gives_are_run() -> None:
    """nginx's workers as Debian's nginx runs them, and a server directory as pkgdepot makes
    it (0700) in a directory only root may enter: gen-config names both obstacles, nginx
    refuses the file, and after the two commands it sends it."""
    base = Path(tempfile.mkdtemp(prefix="pkgdepot-"))  # 0700, like pytest's, but ours to open
    server = ServerProcess(base / "server").start()
    try:
        port = _free_port()
        proxy = f"http://127.0.0.1:{port}"
        args = [
            "--serverdir", str(server.serverdir), "--host", "127.0.0.1",
            "--port", server.url.rsplit(":", 1)[1], "--outside-url", proxy,
            "--nginx-standalone", "--nginx-listen", f"127.0.0.1:{port}",
            "--nginx-user", DEBIAN_NGINX_USER,
        ]  # fmt: skip
        warning = gen_config(base / "out", *args).stderr
        fixes = [line.strip() for line in warning.splitlines() if line.startswith("    ")]
        assert fixes == [
            f"chmod o+x {base}",
            f"chgrp {DEBIAN_NGINX_USER} {base}/server && chmod g+x {base}/server",
        ], warning
        api = Api(server.url)
        api.create_user("accel")
        api.create_index("accel/dev")
        name, wheel = dists.make_wheel("accel-pkg", "1.0")
        assert api.upload("accel/dev", name, wheel, auth=("accel", "secret")).is_success
        [link] = api.http.get("/accel/dev/accel-pkg/1.0").json()["result"]["+links"]
        api.close()
        url = proxy + httpx.URL(link["href"]).path
        with running_nginx(base / "out", proxy):
            assert httpx.get(url).status_code == 403
            for fix in fixes:
                subprocess.run(["sh", "-c", fix], check=True)
            reply = httpx.get(url)
        assert reply.status_code == 200
        assert reply.headers["x-pkgdepot-sent-by"] == "nginx"
        assert reply.content == wheel
        assert "nginx's user" not in gen_config(base / "out", *args).stderr
    finally:
        server.stop()
        shutil.rmtree(base)
