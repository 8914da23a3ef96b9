"""The files ``pkgdepot gen-config`` writes, as templates with ``{{name}}`` placeholders.

``render`` fills every placeholder and refuses a missing or unused value, so a template and
the values ``gen_config.py`` computes cannot drift apart unnoticed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

import click

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_NGINX_BARE = re.compile(r"[A-Za-z0-9_@%+=:,./\[\]*-]+")
_SYSTEMD_BARE = re.compile(r"[A-Za-z0-9_@+=:,./-]+")

# The internal nginx location that aliases SERVERDIR/+blobs/; pkgdepot answers a download
# with ``X-Accel-Redirect: <this><ab/cd/sha256>`` when the request carries X-Pkgdepot-Accel.
ACCEL_LOCATION = "/+pkgdepot-blobs/"
CACHE_SECONDS = 5  # how long nginx keeps a simple page

NGINX_SITE = """\
# pkgdepot behind nginx, written by `pkgdepot gen-config` for
#   pkgdepot at {{upstream}} (server directory {{serverdir}})
#   outside URL {{outside}}
#
# This file holds http-level directives (proxy_cache_path, map, upstream, server): put it in
# /etc/nginx/conf.d/ (or sites-enabled/), then run `nginx -t` and reload nginx.
#
# nginx sends stored files itself: pkgdepot answers a download through this site with an
# X-Accel-Redirect to the internal location below, so nginx's user must be able to pass
# through every directory down to {{blobs}}/ (gen-config says what to run if not).

# Simple pages are kept a few seconds. The cache obeys pkgdepot's Cache-Control (a page
# served stale while an upstream fails says no-cache and is never stored) and Vary: Accept,
# and revalidates with pkgdepot's ETag. nginx creates the cache's own directory, for its
# workers' user; the directories above it must exist.
proxy_cache_path {{cache_dir}} levels=1:2 keys_zone=pkgdepot_pages:10m
                 max_size=1g inactive=10m use_temp_path=off;

# nginx's combined format, then whether a simple page came from the cache and which
# stored file nginx sent itself (X-Accel-Redirect).
log_format pkgdepot '$remote_addr - $remote_user [$time_local] "$request" $status '
                    '$body_bytes_sent "$http_referer" "$http_user_agent" '
                    'cache=$upstream_cache_status accel=$upstream_http_x_accel_redirect';

# The Host clients used; the server name when a client sent none.
map $http_host $pkgdepot_host {
    "" $host;
    default $http_host;
}

upstream pkgdepot {
    server {{upstream}};
    keepalive 16;
}

server {
    listen {{listen}};
    server_name {{server_name}};
{{tls_note}}
    access_log {{access_log}} pkgdepot;

    client_max_body_size {{max_body_size}};  # pkgdepot's max_upload_size
    proxy_request_buffering off;  # uploads stream through to pkgdepot, which checks them
    proxy_read_timeout {{read_timeout}}s;  # a push waits for another repository
    proxy_http_version 1.1;

    gzip on;
    gzip_proxied any;
    gzip_min_length 2000;
    gzip_types application/json application/vnd.pypi.simple.v1+json
               application/vnd.pypi.simple.v1+html;

    # Every absolute URL pkgdepot writes (/+api, JSON hrefs, redirects) is built from
    # X-Outside-Url: the scheme, the host the client used, and the path prefix.
    proxy_set_header Host $pkgdepot_host;
    proxy_set_header Connection "";
    proxy_set_header X-Outside-Url {{outside_header}};
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header X-Forwarded-Host $pkgdepot_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Pkgdepot-Accel {{accel_location}};

    location {{location}} {
        proxy_pass http://pkgdepot;
    }
{{prefix_redirect}}
    # Simple pages (project lists and project pages, HTML and JSON).
    location ~ {{simple_pattern}} {
        proxy_pass http://pkgdepot;
        proxy_cache pkgdepot_pages;
        proxy_cache_key $scheme$pkgdepot_host$request_uri;
        proxy_cache_valid 200 {{cache_seconds}}s;
        proxy_cache_revalidate on;
        proxy_cache_lock on;
        proxy_cache_bypass $http_authorization $http_x_devpi_auth;
        proxy_no_cache $http_authorization $http_x_devpi_auth;
        add_header X-Pkgdepot-Nginx-Cache $upstream_cache_status;
    }

    # Stored files, sent by nginx when pkgdepot answers with X-Accel-Redirect. Clients
    # cannot ask for this location themselves.
    location ^~ {{accel_location}} {
        internal;
        alias {{blobs_alias}};
        etag off;  # pkgdepot's ETag (the sha256) stands, as when pkgdepot sends the file
        add_header ETag $upstream_http_etag;
        add_header Vary Accept;
        add_header X-Pkgdepot-Sent-By nginx;
    }
}
"""

TLS_NOTE = """\
    # The outside URL is https: terminate TLS here, for example
    #     listen 443 ssl;
    #     ssl_certificate     /etc/ssl/certs/{{host}}.pem;
    #     ssl_certificate_key /etc/ssl/private/{{host}}.key;
    # or in a proxy in front of this nginx.
"""

PREFIX_REDIRECT = """\
    location = {{prefix}} {
        return 301 {{scheme}}://$pkgdepot_host{{prefix}}/;
    }
"""

NGINX_STANDALONE = """\
# A complete nginx configuration around nginx-pkgdepot.conf, with its pid file, logs,
# temporary files and cache in this directory, so it runs without touching system paths:
#     {{command}}
{{user_line}}worker_processes 1;
pid {{pid}};
error_log {{error_log}};

events {
    worker_connections 512;
}

http {
    default_type application/octet-stream;
{{temp_paths}}
    include {{site}};
}
"""

SYSTEMD_UNIT = """\
# pkgdepot as a systemd service, written by `pkgdepot gen-config`. Install it as
# /etc/systemd/system/pkgdepot.service, then: systemctl daemon-reload;
# systemctl enable --now pkgdepot. The server directory must exist first:
#     {{init_command}}
# Logs go to the journal: journalctl -u pkgdepot

[Unit]
Description=pkgdepot Python package index
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
User={{user}}
ExecStart={{exec_start}}
# SIGTERM lets in-flight requests finish, then pkgdepot exits
KillSignal=SIGTERM
TimeoutStopSec={{stop_seconds}}
Restart=on-failure
RestartSec=2
LimitNOFILE=65536

# Hardening: pkgdepot writes only to its server directory{{socket_note}}.
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={{writable}}
ProtectHome=read-only
{{private_tmp}}
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
"""

SUPERVISOR_PROGRAM = """\
; pkgdepot as a supervisor program, written by `pkgdepot gen-config`. Put it in
; /etc/supervisor/conf.d/pkgdepot.conf, then: supervisorctl reread; supervisorctl update
[program:pkgdepot]
command={{command}}
user={{user}}
directory={{serverdir}}
autostart=true
autorestart=unexpected
exitcodes=0
startsecs=5
; SIGTERM lets in-flight requests finish, then pkgdepot exits 0
stopsignal=TERM
stopwaitsecs={{stop_seconds}}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={{log_file}}
; rotated by the logrotate snippet (pkgdepot.logrotate)
stdout_logfile_maxbytes=0
stdout_logfile_backups=0
"""

CRONTAB = """\
# pkgdepot started at boot by cron, written by `pkgdepot gen-config`. Add the line to the
# crontab of {{user}} (crontab -e). A service manager (pkgdepot.service for systemd, or
# supervisor-pkgdepot.conf) restarts pkgdepot when it fails; cron does not.
@reboot {{command}} >> {{log_file}} 2>&1
"""

LOGROTATE = """\
# Rotation of pkgdepot's log when supervisor or cron write it to a file, written by
# `pkgdepot gen-config`. Put it in /etc/logrotate.d/pkgdepot. (Under systemd the journal
# keeps the log; nginx's logs are rotated by nginx's own logrotate file.)
{{log_file}} {
    weekly
    rotate 8
    maxsize 100M
    missingok
    notifempty
    compress
    delaycompress
    copytruncate
    su {{user}} {{group}}
}
"""


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{{name}}`` replaced by ``values[name]``; every value used."""
    names = set(_PLACEHOLDER.findall(template))
    missing = names - set(values)
    unused = set(values) - names
    if missing or unused:
        raise KeyError(f"template values: missing {sorted(missing)}, unused {sorted(unused)}")
    return _PLACEHOLDER.sub(lambda match: values[match[1]], template)


# quoting, per file format


def refuse_unquotable(value: str, where: str, forbidden: str) -> None:
    if any(c in value for c in forbidden) or not value.isprintable():
        raise click.ClickException(
            f"{where} cannot hold {value!r}: leave out {' '.join(sorted(forbidden))} "
            "and control characters"
        )


def nginx_word(value: str) -> str:
    """One nginx configuration word. nginx has no way to write a literal ``$``."""
    refuse_unquotable(value, "the nginx configuration", '"\\$')
    return value if _NGINX_BARE.fullmatch(value) else f'"{value}"'


def systemd_word(value: str) -> str:
    """One word of a systemd command line or path list (``%`` and ``$`` are doubled)."""
    refuse_unquotable(value, "the systemd unit", "")
    if not _SYSTEMD_BARE.fullmatch(value):
        value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value.replace("%", "%%").replace("$", "$$")


def supervisor_command(words: list[str]) -> str:
    return shlex.join(words).replace("%", "%%")  # supervisor expands %(name)s


def cron_command(words: list[str]) -> str:
    return shlex.join(words).replace("%", "\\%")  # cron turns % into a newline
