"""Believing ``X-Forwarded-*`` only from the HTTPS proxy's own connections (issue 14, finding 16).

In TLS mode nginx listens for the tablet and forwards to the station on 127.0.0.1, adding the
tablet's address in ``X-Forwarded-For``. Trusting every connection from 127.0.0.1 would let any
local process (another service, a user's script) pick the address that the login limits and the
audit log record. So the headers are believed only when the TCP connection belongs to the proxy's
user: Linux lists every TCP socket in ``/proc/net/tcp`` (and ``tcp6``) with the uid of the process
that opened it, and the client end of our connection (``REMOTE_ADDR``:``REMOTE_PORT`` connected to
our ``SERVER_PORT``) is found there. nginx's workers run as ``www-data`` on Debian and Raspberry Pi
OS (:data:`PROXY_USER`). From anyone else the forwarding headers are removed, and the connection's
own address is used.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
from typing import Callable, Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

PROXY_USER = "www-data"
"""The account nginx's worker processes run as."""
FORWARDING_HEADERS = (
    "HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED",
)
_TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


def proxy_uids(user: str = PROXY_USER) -> frozenset[int]:
    """The uid of ``user`` (empty if there is no such account: then nobody is believed)."""
    try:
        return frozenset({pwd.getpwnam(user).pw_uid})
    except KeyError:
        return frozenset()


def _hex_endpoint(address: str, port: int) -> set[str]:
    """The ways ``/proc/net/tcp*`` writes ``address:port`` (IPv4, and IPv4 mapped into IPv6)."""
    ip = ipaddress.ip_address(address)
    out = set()
    if ip.version == 4:
        packed = ip.packed
        out.add(f"{packed[::-1].hex().upper()}:{port:04X}")
        ip = ipaddress.IPv6Address("::ffff:" + address)
    packed = ip.packed
    words = [packed[i:i + 4][::-1].hex().upper() for i in range(0, 16, 4)]
    out.add(f"{''.join(words)}:{port:04X}")
    return out


def socket_owner_uid(client_addr: str, client_port: int, server_port: int, tables: Iterable[str] = _TCP_TABLES) -> int | None:
    """The uid owning the TCP socket ``client_addr:client_port`` connected to our ``server_port``,
    from ``/proc/net/tcp*``; None if not found (not Linux, or the connection is gone)."""
    try:
        local = _hex_endpoint(client_addr, client_port)
    except ValueError:
        return None
    suffix = f":{server_port:04X}"
    for table in tables:
        try:
            with open(table, encoding="ascii") as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 7 and fields[1] in local and fields[2].endswith(suffix):
                        return int(fields[7])
        except OSError:
            continue
    return None


def peer_is_proxy(uids: frozenset[int]) -> Callable[[dict], bool]:
    """A check of a WSGI environ: does its connection come from a loopback socket owned by one
    of ``uids``?"""

    def check(environ: dict) -> bool:
        if not uids:
            return False
        addr = environ.get("REMOTE_ADDR", "")
        try:
            if not ipaddress.ip_address(addr).is_loopback:
                return False
            port, server_port = int(environ.get("REMOTE_PORT", "")), int(environ.get("SERVER_PORT", ""))
        except ValueError:
            return False
        return socket_owner_uid(addr, port, server_port) in uids

    return check


class TrustedProxyFix:
    """WSGI middleware: :class:`~werkzeug.middleware.proxy_fix.ProxyFix` for requests whose
    connection passes ``is_proxy``; for all others the forwarding headers are dropped."""

    def __init__(self, app, is_proxy: Callable[[dict], bool], hops: int = 1):
        self._plain = app
        self._fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops)
        self._is_proxy = is_proxy

    def __call__(self, environ, start_response):
        if any(h in environ for h in FORWARDING_HEADERS):
            if self._is_proxy(environ):
                return self._fixed(environ, start_response)
            for header in FORWARDING_HEADERS:
                environ.pop(header, None)
        return self._plain(environ, start_response)


def default_check() -> Callable[[dict], bool]:
    """The check used by the station: the proxy's user (:data:`PROXY_USER`), or, with the
    environment variable ``BALANCE_STATION_PROXY_USER``, another account's."""
    return peer_is_proxy(proxy_uids(os.environ.get("BALANCE_STATION_PROXY_USER", PROXY_USER)))
