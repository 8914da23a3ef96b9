"""``pkgdepot gen-config``: deployment files for the current settings.

It takes every ``serve`` setting (flags, ``PKGDEPOT_*`` variables, ``--config``) and writes
into a directory (default ``./gen-config``):

- ``nginx-pkgdepot.conf``: a reverse proxy under the outside URL's path prefix that sends
  X-Outside-Url, lets nginx send stored files (X-Accel-Redirect) and caches simple pages
  a few seconds; with ``--nginx-standalone`` also ``nginx-standalone.conf``, a complete
  nginx configuration around it with every path in the directory (for trying it out, and
  for the tests);
- ``pkgdepot.service`` (systemd), ``supervisor-pkgdepot.conf``, ``crontab`` (``@reboot``)
  and ``pkgdepot.logrotate``, each running ``pkgdepot serve`` with the same settings.

The templates are in ``deploy_templates.py``; the quoting each file format needs is here.
"""

from __future__ import annotations

import dataclasses
import grp
import math
import os
import pwd
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from pkgdepot.commands import deploy_templates as t
from pkgdepot.commands.nginx_checks import blob_access, missing_directories
from pkgdepot.commands.nginx_user import NamedUser, find_nginx_user, worker_named
from pkgdepot.commands.options import setting_options
from pkgdepot.config import (
    ENV_PREFIX,
    FIELDS,
    Settings,
    environment_values,
    load_settings,
)
from pkgdepot.domain.outside_url import Outside, parse_outside_url
from pkgdepot.errors import ConfigError
from pkgdepot.web.outside import TrustedPeers

TMP_DIRS = (Path("/tmp"), Path("/var/tmp"))  # noqa: S108  (hidden from a PrivateTmp service)
NOT_IN_SERVICE = frozenset({"root_password"})  # used once, by init; a secret in no unit file
_PREFIX = re.compile(r"(/[A-Za-z0-9._~+-]+)*")
# nginx creates only the last level of a cache path: this one needs no folder made by hand
# under Debian's nginx (which has no /var/cache/nginx) nor nginx.org's
SYSTEM_CACHE_DIR = Path("/var/cache/pkgdepot-nginx")


# what the files say


def pkgdepot_command() -> list[str]:
    """How this pkgdepot is started: its script beside this Python, else ``python -m``."""
    script = Path(sys.executable).parent / "pkgdepot"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "pkgdepot"]


def setting_args(name: str, value: object) -> list[str]:
    flag = "--" + name.replace("_", "-")
    if value is None or value is False or value == ():
        return []
    if value is True:
        return [flag]
    if isinstance(value, tuple):
        return [flag, ",".join(value)]
    return [flag, str(value)]


@dataclasses.dataclass(frozen=True)
class Deployment:
    """Everything the templates need, checked."""

    settings: Settings
    config_file: Path | None
    given: frozenset[str]  # settings given as flags or variables (not from the config file)
    directory: Path
    listen: str
    cache_dir: Path
    nginx_log_dir: Path
    log_dir: Path
    user: str
    nginx_user: str | None  # --nginx-user
    standalone: bool

    @property
    def group(self) -> str:
        try:
            return grp.getgrgid(pwd.getpwnam(self.user).pw_gid).gr_name
        except KeyError:
            return self.user

    def standalone_worker(self) -> tuple[str, str]:
        """The user and group nginx-standalone.conf runs nginx's workers as, under root."""
        if self.nginx_user is None:
            return self.user, self.group
        worker = worker_named(self.nginx_user)
        return self.nginx_user, worker.group if worker else self.nginx_user

    @property
    def outside(self) -> Outside | None:
        url = self.settings.outside_url
        return None if url is None else parse_outside_url(url)

    def serve_command(self) -> list[str]:
        words = [*pkgdepot_command(), "serve"]
        if self.config_file is not None:
            words += ["--config", str(self.config_file)]
        for name in FIELDS:
            if name == "serverdir" or (name in self.given and name not in NOT_IN_SERVICE):
                words += setting_args(name, getattr(self.settings, name))
        return words

    def upstream(self) -> str:
        """Where nginx finds pkgdepot."""
        s = self.settings
        if s.unix_socket is not None:
            return f"unix:{s.unix_socket}"
        if s.port == 0:
            raise click.ClickException("nginx needs pkgdepot on a fixed port: port is 0")
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "localhost": "127.0.0.1"}.get(
            s.host, s.host
        )
        if host == "::":
            host = "::1"
        return f"[{host}]:{s.port}" if ":" in host else f"{host}:{s.port}"


def nginx_values(plan: Deployment) -> dict[str, str]:
    outside = plan.outside
    prefix = outside.prefix if outside else ""
    if not _PREFIX.fullmatch(prefix):
        raise click.ClickException(
            f"the nginx site supports path prefixes of letters, digits and ._~+- only, "
            f"not {prefix!r}"
        )
    scheme = outside.scheme if outside else "$scheme"
    host = outside.host if outside else ""
    blobs = plan.settings.serverdir / "+blobs"
    tls_note = t.render(t.TLS_NOTE, {"host": host}) if scheme == "https" else ""
    redirect = t.render(t.PREFIX_REDIRECT, {"prefix": prefix, "scheme": scheme})
    return {
        "upstream": t.nginx_word(plan.upstream()),
        "serverdir": t.nginx_word(str(plan.settings.serverdir)),
        "outside": plan.settings.outside_url or "(from each request)",
        "blobs": str(blobs),
        "blobs_alias": t.nginx_word(f"{blobs}/"),
        "cache_dir": t.nginx_word(str(plan.cache_dir)),
        "listen": t.nginx_word(plan.listen),
        "server_name": t.nginx_word(f"[{host}]" if ":" in host else host or "_"),
        "tls_note": tls_note,
        "access_log": t.nginx_word(str(plan.nginx_log_dir / "pkgdepot-access.log")),
        "max_body_size": str(plan.settings.max_upload_size),
        "read_timeout": str(max(60, math.ceil(plan.settings.push_timeout) + 30)),
        "outside_header": f"{scheme}://$pkgdepot_host{prefix}",
        "accel_location": t.ACCEL_LOCATION,
        "location": prefix + "/",
        "prefix_redirect": redirect if prefix else "",
        "simple_pattern": "^" + re.escape(prefix) + r"/[^/]+/[^/]+/\+?simple/",
        "cache_seconds": str(t.CACHE_SECONDS),
    }


def standalone_values(plan: Deployment) -> dict[str, str]:
    here = plan.directory
    user_line = ""
    if os.geteuid() == 0:  # nginx's workers would run as nobody, who cannot read the blobs
        user, group = plan.standalone_worker()
        user_line = f"user {t.nginx_word(user)} {t.nginx_word(group)};\n"
    config, error_log = here / "nginx-standalone.conf", here / "nginx-error.log"
    command = ["nginx", "-p", str(here), "-c", str(config), "-e", str(error_log)]
    temp_paths = [
        f"    {kind}_temp_path {t.nginx_word(str(here / 'nginx-temp' / kind))};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    ]
    return {
        "command": shlex.join(command),
        "user_line": user_line,
        "pid": t.nginx_word(str(here / "nginx.pid")),
        "error_log": t.nginx_word(str(error_log)),
        "temp_paths": "\n".join(temp_paths),
        "site": t.nginx_word(str(here / "nginx-pkgdepot.conf")),
    }


def service_values(plan: Deployment) -> dict[str, str]:
    s = plan.settings
    writable = [s.serverdir]
    socket_note = ""
    if s.unix_socket is not None and not s.unix_socket.is_relative_to(s.serverdir):
        writable.append(s.unix_socket.parent)
        socket_note = " and its unix socket's directory"
    init = [*pkgdepot_command(), "init", "--serverdir", str(s.serverdir)]
    private_tmp = "PrivateTmp=yes"
    if any(path.is_relative_to(tmp) for path in writable for tmp in TMP_DIRS):
        private_tmp = "# PrivateTmp is off: pkgdepot's files are in a temporary directory"
    return {
        "stop_seconds": stop_seconds(s),
        "private_tmp": private_tmp,
        "init_command": shlex.join(init),
        "user": t.systemd_word(plan.user),
        "exec_start": " ".join(t.systemd_word(word) for word in plan.serve_command()),
        "socket_note": socket_note,
        "writable": " ".join(t.systemd_word(str(path)) for path in writable),
    }


def stop_seconds(settings: Settings) -> str:
    """How long a service manager waits after SIGTERM: pkgdepot's own wait, and a margin."""
    return str(math.ceil(settings.shutdown_timeout) + 10)


def log_file(plan: Deployment) -> str:
    return str(plan.log_dir / "pkgdepot.log")


def render_files(plan: Deployment) -> dict[str, str]:
    """File name -> content."""
    command = plan.serve_command()
    quoted_log = log_file(plan)
    t.refuse_unquotable(quoted_log, "the logrotate snippet", '"')
    files = {
        "nginx-pkgdepot.conf": t.render(t.NGINX_SITE, nginx_values(plan)),
        "pkgdepot.service": t.render(t.SYSTEMD_UNIT, service_values(plan)),
        "supervisor-pkgdepot.conf": t.render(
            t.SUPERVISOR_PROGRAM,
            {
                "command": t.supervisor_command(command),
                "user": plan.user,
                "serverdir": str(plan.settings.serverdir),
                "log_file": log_file(plan).replace("%", "%%"),
                "stop_seconds": stop_seconds(plan.settings),
            },
        ),
        "crontab": t.render(
            t.CRONTAB,
            {
                "user": plan.user,
                "command": t.cron_command(command),
                "log_file": t.cron_command([log_file(plan)]),
            },
        ),
        "pkgdepot.logrotate": t.render(
            t.LOGROTATE,
            {
                "log_file": f'"{quoted_log}"' if " " in quoted_log else quoted_log,
                "user": plan.user,
                "group": plan.group,
            },
        ),
    }
    if plan.standalone:
        files["nginx-standalone.conf"] = t.render(t.NGINX_STANDALONE, standalone_values(plan))
    return files


def _warn_if_proxy_untrusted(plan: Deployment) -> None:
    s = plan.settings
    if s.unix_socket is not None or not s.trusted_proxy:
        return
    host = plan.upstream().rsplit(":", 1)[0].strip("[]")
    if host in {"127.0.0.1", "::1"} and not TrustedPeers(s.trusted_proxy).trusts_address(host):
        click.echo(
            f"warning: trusted_proxy does not include {host}, where nginx connects from: "
            "pkgdepot will ignore the X-Outside-Url the nginx site sends",
            err=True,
        )


def nginx_worker(plan: Deployment) -> NamedUser | None:
    """Who nginx's workers will run as, to check their way to the stored files."""
    if plan.standalone and os.geteuid() != 0:
        return NamedUser(_current_user(), None, "nginx-standalone.conf, started by you")
    if plan.standalone:
        return NamedUser(*plan.standalone_worker(), "the user line of nginx-standalone.conf")
    if plan.nginx_user is not None:
        return NamedUser(plan.nginx_user, None, "--nginx-user")
    return find_nginx_user()


def _check_this_machine(plan: Deployment) -> None:
    access = blob_access(plan.settings.serverdir, plan.user, nginx_worker(plan))
    for message in [*missing_directories(plan.cache_dir, plan.nginx_log_dir), access]:
        if message is not None:
            click.echo(message, err=True)


def _current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


@click.command("gen-config")
@setting_options(tuple(FIELDS))
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("gen-config"),
    show_default=True,
    help="directory to write the files into",
)
@click.option("--user", default=None, help="user pkgdepot runs as [default: you]")
@click.option(
    "--log-dir",
    type=click.Path(path_type=Path),
    default=Path("/var/log/pkgdepot"),
    show_default=True,
    help="pkgdepot's log under supervisor and cron",
)
@click.option("--nginx-listen", default="80", show_default=True, help="nginx's listen address")
@click.option(
    "--nginx-cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="nginx's cache of simple pages; nginx creates its last level, the rest must exist "
    f"[default: {SYSTEM_CACHE_DIR}]",
)
@click.option(
    "--nginx-log-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="directory of the site's access log [default: /var/log/nginx]",
)
@click.option(
    "--nginx-user",
    default=None,
    help="who nginx's workers run as, checked for access to the stored files [default: the "
    "user directive of /etc/nginx/nginx.conf, else www-data or nginx, whichever exists; "
    "with --nginx-standalone as root, --user]",
)
@click.option(
    "--nginx-standalone",
    is_flag=True,
    help="also write nginx-standalone.conf, a complete nginx configuration that keeps its "
    "pid, logs, cache and temporary files in the output directory (runs without root)",
)
def gen_config(
    config_file: Path | None,
    output: Path,
    user: str | None,
    log_dir: Path,
    nginx_listen: str,
    nginx_cache_dir: Path | None,
    nginx_log_dir: Path | None,
    nginx_user: str | None,
    nginx_standalone: bool,
    **values: Any,
) -> None:
    """Write deployment files (nginx, systemd, supervisor, cron, logrotate) for the settings."""
    if config_file is None and os.environ.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(os.environ[ENV_PREFIX + "CONFIG"])
    try:
        settings = load_settings(values, config_file=config_file)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    directory = output.absolute()
    if nginx_standalone:
        cache_dir = nginx_cache_dir or directory / "nginx-cache"
        nginx_logs = nginx_log_dir or directory
    else:
        cache_dir = nginx_cache_dir or SYSTEM_CACHE_DIR
        nginx_logs = nginx_log_dir or Path("/var/log/nginx")
    given = {k for k, v in values.items() if v is not None} | set(environment_values(os.environ))
    plan = Deployment(
        settings=settings,
        config_file=None if config_file is None else config_file.absolute(),
        given=frozenset(given),
        directory=directory,
        listen=nginx_listen,
        cache_dir=cache_dir.absolute(),
        nginx_log_dir=nginx_logs.absolute(),
        log_dir=log_dir.absolute(),
        user=user or _current_user(),
        nginx_user=nginx_user,
        standalone=nginx_standalone,
    )
    files = render_files(plan)
    directory.mkdir(parents=True, exist_ok=True)
    if nginx_standalone:  # nginx creates the last level of these itself
        (directory / "nginx-temp").mkdir(exist_ok=True)
        plan.cache_dir.parent.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_text(content)
        click.echo(f"wrote {directory / name}")
    _warn_if_proxy_untrusted(plan)
    _check_this_machine(plan)
