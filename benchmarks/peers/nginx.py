"""Debian's nginx serving a directory of static files: the upstream index, and the ceiling.

nginx runs in the foreground (``daemon off``) with its own prefix, configuration, pid file,
logs and temporary directories in a directory of the benchmark, so it touches nothing of the
machine's nginx. It sends ETag and Last-Modified and the Content-Type of
/etc/nginx/mime.types (``text/html`` for the pages) by default.
"""

from __future__ import annotations

import os
import pwd
import signal
from pathlib import Path

from benchmarks.model import Endpoints, Upstream
from benchmarks.peers.process import ServerProcess, Supervised, free_port

NGINX = Path("/usr/sbin/nginx")

_CONFIG = """\
{user}worker_processes {workers};
pid {here}/nginx.pid;
error_log {here}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    access_log off;
    client_body_temp_path {here}/temp/body;
    proxy_temp_path {here}/temp/proxy;
    fastcgi_temp_path {here}/temp/fastcgi;
    uwsgi_temp_path {here}/temp/uwsgi;
    scgi_temp_path {here}/temp/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
    }}
}}
"""


def start_nginx(
    root: Path, here: Path, *, workers: str = "1", ready: str = "/simple/"
) -> tuple[str, ServerProcess]:
    """nginx serving ``root`` on a free port, its files in ``here``; returns once ``ready``
    answers, with its base URL."""
    here = here.resolve()
    (here / "temp").mkdir(parents=True, exist_ok=True)
    port = free_port()
    # As root, nginx's workers would switch to "nobody", who may not read the benchmark's files.
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};\n" if os.getuid() == 0 else ""
    config = here / "nginx.conf"
    config.write_text(
        _CONFIG.format(user=user, workers=workers, here=here, port=port, root=root.resolve())
    )
    process = ServerProcess(
        [NGINX, "-p", here, "-c", config, "-e", here / "error.log", "-g", "daemon off;"],
        log=here / "nginx.out",
        cwd=here,
    )
    base = f"http://127.0.0.1:{port}"
    process.start(base + ready)
    return base, process


class NginxStatic(Supervised):
    """The ceiling: nginx (one worker per core, as ``worker_processes auto``) serving the
    upstream's static tree itself.

    Its "mirror" simple index is the upstream's own pages: the same projects and files (hrefs
    relative, ``#sha256=`` fragments, metadata attributes) as every mirror serves them, a few
    bytes shorter or longer per link than a mirror's rewritten hrefs, and the same 50 MB
    wheel under ``files/``. So a page or a file fetched from here costs what sending those
    bytes from a file costs, which no Python server can beat. HTML only: a static tree has no
    PEP 691 JSON pages, no stage index and no uploads.
    """

    name = "nginx"

    stop_signal = signal.SIGQUIT  # nginx's graceful shutdown

    def reset(self) -> None:
        self.stop()  # nothing to forget: nginx keeps no state

    def __init__(self, upstream: Upstream, workdir: Path) -> None:
        self.upstream = upstream
        self.here = workdir / "nginx-static"
        self._process: ServerProcess | None = None
        self.startup_seconds = 0.0

    def start(self) -> Endpoints:
        base, self._process = start_nginx(self.upstream.root, self.here, workers="auto")
        self.startup_seconds = self._process.started_in
        return Endpoints(
            base=base,
            mirror_simple=base + "/simple/",
            stage_simple=None,
            upload_url=None,
            upload_auth=None,
            upload_simple=None,
        )
