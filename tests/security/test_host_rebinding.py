"""DNS rebinding against a running station (``balance-station run``, waitress, as ``make run`` and the
service serve it): a page of the attacker's site, whose name now resolves to the station's address,
asks the station's public endpoints from a clinic's browser under that name. The station answers
only its own names (web.security.own_host); the tablet's ways in (its IP address, ``<name>.local``,
``localhost``) still work."""

from __future__ import annotations

import http.client
import json
import socket

from security_support import fresh_address, tally


def ask(station, method: str, path: str, host: str, body: bytes | None = None) -> tuple[int, dict, bytes]:
    """One request from a browser of its own, whose ``Host`` header is ``host`` (only that one)."""
    conn = http.client.HTTPConnection("127.0.0.1", station.port, timeout=30, source_address=(fresh_address(), 0))
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        if body is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_a_rebound_name_reaches_nothing_of_a_running_station(station):
    for path in ("/healthz", "/api/session", "/login", "/setup", "/static/app.js", "/ca.crt"):
        status, headers, body = ask(station, "GET", path, "rebind.attacker.example")
        tally("host header")
        assert status == 400, (path, status)
        assert "set-cookie" not in headers
        assert b"not one of its own" in body
    status, headers, body = ask(station, "GET", "/api/session", "rebind.attacker.example:80")
    assert status == 400 and json.loads(body)["error"].startswith(
        "the station does not answer the name 'rebind.attacker.example:80': it is not one of its own; open the "
        "station by its own address")
    status, _, body = ask(station, "POST", "/api/login", "rebind.attacker.example",
                          body=b'{"username": "root", "password": "x"}')
    assert status == 400


def test_the_tablets_ways_in_still_reach_it(station):
    for host in (f"127.0.0.1:{station.port}", f"localhost:{station.port}", f"{socket.gethostname()}.local",
                 "192.168.1.40", "[fe80::1]:443"):
        status, _, body = ask(station, "GET", "/api/session", host)
        tally("host header")
        assert status == 200, (host, status, body[:200])
        assert json.loads(body)["authenticated"] is False


def test_a_request_without_host_is_refused_in_words(station):
    # HTTP/1.0 lets a client leave Host out (no browser does; nginx passes none on either): the station
    # answers only a request that names it
    with socket.create_connection(("127.0.0.1", station.port), timeout=30,
                                  source_address=(fresh_address(), 0)) as sock:
        sock.sendall(b"GET /api/session HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    tally("host header")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400"), head
    assert b"set-cookie" not in head.lower()
    assert json.loads(body)["error"].startswith("the request names no address (it has no Host header")
