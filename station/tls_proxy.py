"""The nginx site that puts HTTPS in front of the station's web server.

The station's web server (waitress) speaks plain HTTP on ``web.host:web.port``, local only. On the
Pi, nginx terminates TLS for the tablet on ``web.https_port`` with ``web.tls_cert``/``web.tls_key``
and forwards to it; on ``web.http_redirect_port`` it redirects every request to HTTPS, except
``/ca.crt``: the local certificate authority's certificate, which a tablet downloads once to trust
the station (systemd/README.md).

Why a proxy rather than TLS inside Python: waitress has no TLS; nginx's is maintained by Debian's
security team; nginx (started as root) binds ports 443 and 80, so the station's service needs no
capability and may talk to localhost only (``IPAddressAllow=localhost`` in its unit); and the TLS
work runs in nginx, not under the GIL of the station's web process; the redirect from HTTP and the
download of the CA certificate are two lines of nginx configuration.

:func:`render_nginx_site` is a pure function of the configuration; ``balance-station config
proxy`` prints it and ``systemd/install.sh`` installs it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from station.config import StationConfig

CA_CERT_NAME = "ca.crt"
"""File name of the local CA's certificate, beside ``web.tls_cert``."""

MAX_BODY_BYTES = 128 * 1024
"""The largest request body the station's and the hub's web server take (waitress's
``max_request_body_size``, :data:`web.jsonio.SERVER_LIMITS`): the hub's frame parts (126 kB) and
pushes (128 KiB) are the largest; every other route takes 64 KiB at most (``MAX_CONTENT_LENGTH``).
nginx refuses a larger body with ``413`` before reading it, and keeps a smaller one in memory
(never in a file on the station's SD card) until it is whole. Request buffering stays on (no
``proxy_request_buffering off``): nginx takes the whole body before it opens a connection to the
web server, so a client sending slowly holds one of nginx's cheap connections, never one of the
web server's 100 or a thread."""

BODY_BUFFER_MARGIN_KIB = 8
"""nginx's body buffer is this much larger than :data:`MAX_BODY_BYTES`, KiB: a body of the bound's
size, with its chunks' framing, never fills it (nginx writes a full buffer with more to come to a
file). A chunked body over the bound is refused at the header of the chunk that passes it; when
that header comes in a later read, one buffer (at most the bound plus this) may reach a temporary
file first, unlinked at once: bounded per request, and by the connections per address."""

LOG_DIR = Path("/var/log/nginx")
"""Where the site's logs go (Debian's logrotate keeps ``/var/log/nginx/*.log`` 14 days)."""

CLIENT_TIMEOUT_S = 10
"""Seconds nginx waits for a client's request headers, and between two reads of its body."""

KEEPALIVE_TIMEOUT_S = 15
"""Seconds nginx keeps a client's connection open, idle, after an answer (nginx's default: 75). A tablet
opens its next page's requests on it within that while it is used; a client that asked one cheap thing
(``/ca.crt``) and went quiet no longer holds one of nginx's connections for 75 s."""

SEND_TIMEOUT_S = 30
"""Seconds nginx waits for a client to take what it sends (between two writes; nginx's default 60): a
live view whose stream has nothing to send is not timed, only one that stopped reading."""

CONNECTIONS_PER_CLIENT = 32
"""Requests one client address may have under way at once (nginx ``limit_conn``; ``429`` beyond):
one address cannot take every connection of the web server (100) or every thread (32) on its own,
nor make nginx hold more than 32 bodies (4 MiB)."""

REQUESTS_PER_CLIENT_S = 50
"""Requests per second one client address is served at once its burst is spent (``limit_req``):
the requests beyond wait their turn (they are delayed, not refused)."""

REQUEST_BURST_UNDELAYED = 100
"""Requests above the rate one address may make at once before they are slowed to the rate."""

REQUEST_BURST = 200
"""Requests above the rate one address may have waiting before the next is refused (``429``).
A client with at most :data:`CONNECTIONS_PER_CLIENT` requests under way never gets there: the
limit slows it, only ``limit_conn`` refuses.

What a clinic's use needs, measured through this site (``benchmarks/proxy_requests.py``: the
real station ``run --simulate`` behind the real nginx, a fresh Chromium at tablet size, empty
cache; 2026-12-05, with and without the limits alike): a page load
is 10 to 24 requests, at most 24 in one second (the live view), at most 6 under way at once
(the browser's own bound for one host over HTTP/1.1; a live stream holds one of them while it is
open); a station's sync is one request at a time, 317 requests for 100 trials in 1.5 s (211 a
second: ``benchmarks/hub_sync.py --stations 1 --trials 100``, on the loopback). So one tablet
is never slowed; 32 connections are 5 browsers behind one address; a long sync after the first
100 requests goes at 50 a second, 6.3 MB/s of 126 kB frame parts, about what a clinic's Wi-Fi
carries."""


class ProxyConfigError(ValueError):
    """The configuration cannot be served over HTTPS (what is missing, what to do)."""


def upstream_address(host: str, port: int) -> str:
    """Where nginx reaches the web server: a wildcard bind address becomes the loopback one."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass  # "localhost"
    return f"{host}:{port}"


def reachable_without_proxy(host: str) -> bool:
    """Whether a web server listening on ``host`` is reachable from other machines directly, not
    only through the HTTPS proxy on the same machine: any address but a loopback one (a host name
    other than ``localhost`` too: which interface it names is not known here).

    >>> reachable_without_proxy("127.0.0.1"), reachable_without_proxy("::1"), reachable_without_proxy("localhost")
    (False, False, False)
    >>> reachable_without_proxy("0.0.0.0"), reachable_without_proxy("192.168.1.20"), reachable_without_proxy("station.local")
    (True, True, True)
    """
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def direct_access_warning(command: str, host: str, port: int) -> str | None:
    """The warning ``run`` and ``hub`` print once at start when their web server listens where
    other machines reach it without the HTTPS proxy (:func:`reachable_without_proxy`); None
    on a loopback address."""
    if not reachable_without_proxy(host):
        return None
    return (f"{command}: warning: the web server listens on {host}:{port}, where other machines reach it "
            "directly, without the HTTPS proxy: there it has no TLS (passwords and patient data cross the network "
            "readable) and no bound on slow clients (100 of them sending a byte every few seconds hold all its "
            "connections for as long as they go on; nginx cuts them after "
            f"{CLIENT_TIMEOUT_S} s); keep --host 127.0.0.1 and let the network in through the nginx site "
            "(balance-station config proxy; systemd/README.md)")


def waitress_proxy_options(config: StationConfig) -> dict:
    """Keyword arguments for ``waitress.create_server``/``serve`` behind the HTTPS proxy.

    With TLS configured (``web.tls_cert`` set: nginx is in front), waitress passes the
    ``X-Forwarded-For``/``-Proto``/``-Host`` headers on untouched, and the app decides whether to
    believe them (:class:`web.proxy.TrustedProxyFix`): only on a connection that belongs to nginx's
    own user, never merely because it comes from 127.0.0.1, where any local process could forge
    them (issue 14, finding 16). Headers a client forges through nginx are not believed either:
    nginx appends the real peer, and only that last hop is taken. Without TLS (development),
    waitress removes them: ``{}``.
    """
    if config.web.tls_cert is None:
        return {}
    return {"clear_untrusted_proxy_headers": False}


def _quote(path: Path) -> str:
    text = str(path)
    if any(c in text for c in '"\\\n;{}'):
        raise ProxyConfigError(f"{text!r}: nginx paths may not contain quotes, backslashes, ';', '{{' or '}}'")
    return f'"{text}"'


def render_nginx_site(config: StationConfig, ca_cert: Path | None = None, log_dir: Path = LOG_DIR) -> str:
    """The nginx ``server`` blocks (for ``/etc/nginx/sites-available/balance-station``).

    Parameters
    ----------
    config : StationConfig
        Uses ``web.host``, ``web.port``, ``web.tls_cert``, ``web.tls_key``, ``web.https_port``
        and ``web.http_redirect_port``.
    ca_cert : Path, optional
        The local CA certificate served at ``/ca.crt`` over HTTP; default ``ca.crt`` beside
        ``web.tls_cert``.
    log_dir : Path
        Where nginx writes the site's access and error logs (``balance-station.access.log``,
        ``balance-station.error.log``); default ``/var/log/nginx``.

    The site bounds what a client can make nginx hold (DESIGN §11): bodies of
    :data:`MAX_BODY_BYTES` at most, kept in memory; :data:`CLIENT_TIMEOUT_S` to send headers and
    between body reads; :data:`CONNECTIONS_PER_CLIENT` requests under way and
    :data:`REQUESTS_PER_CLIENT_S` a second (after a burst) per client address, ``429`` beyond.
    Its logs hold no patient data: the access log has the path without the query string
    (an older station's ``/api/hub/patients?identifier=P001`` is logged as ``/api/hub/patients``;
    the pages and stations of this version put no identifier in a URL) and no Referer; the error log only
    the ``crit`` level and above, because nginx's error lines quote the whole request line.

    Raises
    ------
    ProxyConfigError
        ``web.tls_cert`` or ``web.tls_key`` is not set.
    """
    web = config.web
    if web.tls_cert is None or web.tls_key is None:
        raise ProxyConfigError(
            "web.tls_cert and web.tls_key are not set; HTTPS needs a certificate: run "
            "systemd/install.sh (which makes one) or set both in the configuration file"
        )
    if ca_cert is None:
        ca_cert = web.tls_cert.parent / CA_CERT_NAME
    upstream = upstream_address(web.host, web.port)
    https_suffix = "" if web.https_port == 443 else f":{web.https_port}"
    http_port, https_port = web.http_redirect_port, web.https_port
    bounds = f"""\
    # Bounds on what one client can make nginx hold (README, "Security"): bodies no larger than the
    # web server takes, held in memory (never in a file on the SD card), whole before it sees them.
    # The buffer is a little larger than the bound: a body of the bound's size never fills it (nginx
    # writes a full buffer with more to come to a file). A chunked body over the bound is refused at
    # the chunk that passes it; at most one buffer of it may reach a file first, deleted at once.
    client_max_body_size {MAX_BODY_BYTES // 1024}k;
    client_body_buffer_size {MAX_BODY_BYTES // 1024 + BODY_BUFFER_MARGIN_KIB}k;
    client_header_timeout {CLIENT_TIMEOUT_S}s;
    client_body_timeout {CLIENT_TIMEOUT_S}s;
    # Idle connections go sooner, and a timed-out one is reset at once (its socket's buffers freed,
    # no FIN_WAIT left behind): many addresses' idle connections hold nginx's worker_connections
    # (README, "Security": the numbers; systemd/README: worker_connections in nginx.conf).
    keepalive_timeout {KEEPALIVE_TIMEOUT_S}s;
    send_timeout {SEND_TIMEOUT_S}s;
    reset_timedout_connection on;
    limit_conn balance_station_addr {CONNECTIONS_PER_CLIENT};
    limit_req zone=balance_station_rate burst={REQUEST_BURST} delay={REQUEST_BURST_UNDELAYED};
    limit_conn_status 429;
    limit_req_status 429;

    # No patient data in the logs: the path without its query string, no Referer; nginx's error
    # lines quote the whole request line ('request: "GET /api/patients?q=..."'): crit and above only.
    access_log {_quote(log_dir / "balance-station.access.log")} balance_station;
    error_log {_quote(log_dir / "balance-station.error.log")} crit;"""
    return f"""\
# Balance station: HTTPS for the tablet, in front of the station's local web server.
# Generated by `balance-station config proxy` from the station's configuration ([web]);
# systemd/install.sh rewrites it on every run: edit station.toml, not this file.

map $http_upgrade $balance_station_connection {{
    default upgrade;
    ''      '';
}}

# The access log: what was asked and answered, without the query string that may name a patient.
log_format balance_station '$remote_addr [$time_local] "$request_method $uri $server_protocol" '
                           '$status $body_bytes_sent $request_time "$http_user_agent"';

# Per client address: requests under way, and requests a second.
limit_conn_zone $binary_remote_addr zone=balance_station_addr:2m;
limit_req_zone $binary_remote_addr zone=balance_station_rate:2m rate={REQUESTS_PER_CLIENT_S}r/s;

# Plain HTTP: the local CA's certificate (to trust the station once), otherwise a redirect.
server {{
    listen {http_port} default_server;
    listen [::]:{http_port} default_server;
    server_name _;

{bounds}

    location = /ca.crt {{
        alias {_quote(ca_cert)};
        default_type application/x-x509-ca-cert;
    }}

    location / {{
        return 301 https://$host{https_suffix}$request_uri;
    }}
}}

server {{
    listen {https_port} ssl default_server;
    listen [::]:{https_port} ssl default_server;
    server_name _;

    ssl_certificate {_quote(web.tls_cert)};
    ssl_certificate_key {_quote(web.tls_key)};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:balance_station:1m;
    ssl_session_timeout 1d;
    ssl_session_tickets off;

    add_header Strict-Transport-Security "max-age=31536000" always;

{bounds}

    location / {{
        proxy_pass http://{upstream};
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $balance_station_connection;
        # Live views stream (server-sent events): pass every byte at once, keep streams open.
        proxy_buffering off;
        proxy_read_timeout 1h;
    }}
}}
"""
