"""Requests whose ``Host`` is not the station's own are refused (DNS rebinding): a page of another
site whose name an attacker points at the station's address would reach the station's public
endpoints from a clinic's browser under that site's name. The station (SQLite) and the hub
(PostgreSQL) answer IP addresses, ``localhost``, the machine's host name and ``<name>.local``, and
the names of ``[web] host_names``; the hub's station endpoints (a bearer token) are not checked."""

from __future__ import annotations

import socket

from station.config_file import parse_config_text
from web import create_app

from web_support import clinic_data

BACKENDS = ("sqlite", "postgresql")

FOREIGN = ("rebind.attacker.example", "rebind.attacker.example:8000", "localhost.attacker.example",
           f"{socket.gethostname()}.local.attacker.example", "127.0.0.1.attacker.example")
OWN = ("127.0.0.1:8000", "localhost", "localhost:8871", "192.168.1.40", "[::1]:8000", "[fe80::1]",
       f"{socket.gethostname()}.local", f"{socket.gethostname().split('.')[0].upper()}.LOCAL.", socket.gethostname())


def test_a_foreign_host_is_refused_in_words_before_anything_else(app, anon, backend):
    who = "hub" if backend == "postgresql" else "station"
    client = app.test_client()
    for host in FOREIGN:
        for path in ("/healthz", "/api/session", "/static/app.js"):
            response = client.get(path, headers={"Host": host})
            assert response.status_code == 400, (host, path, response.status_code)
            assert "Set-Cookie" not in response.headers  # no anonymous CSRF token for the rebound name
        doc = client.get("/api/session", headers={"Host": host}).get_json()
        assert doc["error"].startswith(f"the {who} does not answer the name '{host}': it is not one of its own; ")
        assert "host_names under [web]" in doc["error"]
        page = client.get("/login", headers={"Host": host})
        assert page.status_code == 400 and page.mimetype == "text/html"
        text = page.get_data(as_text=True)
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text  # readable on a phone
        assert f"This address is not the {who}'s. Open the {who} by its own address" in text
        assert "csrf" not in text.lower()
        post = client.post("/api/login", json={"username": "root", "password": "x"}, headers={"Host": host})
        assert post.status_code == 400
    # the page shows the name as text, never as markup
    page = client.get("/login", headers={"Host": "x<script>.example"}).get_data(as_text=True)
    assert "x&lt;script&gt;.example" in page and "<script" not in page
    # a Host that is not printable is shown quoted, not as it came
    doc = client.get("/api/session", headers={"Host": "a\x7fb.example"}).get_json()
    assert "'a\\x7fb.example'" in doc["error"]


def test_the_stations_own_names_and_addresses_are_answered(app, anon):
    client = app.test_client()
    health = client.get("/healthz").status_code  # 503 here: no acquisition
    for host in OWN:
        assert client.get("/healthz", headers={"Host": host}).status_code == health, host
        assert client.get("/api/session", headers={"Host": host}).status_code == 200, host


def test_names_of_web_host_names_are_answered_too(tmp_path, station_data_dir):
    text = '[web]\nhost_names = ["Balance-Hub.clinic.lan", "station-2.clinic.lan."]\n'
    config = parse_config_text(text, tmp_path / "station.toml").config
    assert config.web.host_names == ("balance-hub.clinic.lan", "station-2.clinic.lan")
    station_data_dir(tmp_path / "data")
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "PASSWORD_COST": clinic_data.CHEAP_COST, "TESTING": True,
                      "STATION_CONFIG": config})
    try:
        client = app.test_client()
        for host in ("balance-hub.clinic.lan", "BALANCE-HUB.clinic.lan:443", "station-2.clinic.lan"):
            assert client.get("/api/session", headers={"Host": host}).status_code == 200, host
        assert client.get("/api/session", headers={"Host": "hub.clinic.lan"}).status_code == 400
    finally:
        app.extensions["station_store"].close()


def test_the_hubs_station_endpoints_answer_any_name(app, backend):
    if backend != "postgresql":
        return
    # no token: the endpoint's own 401, not the Host check's 400 (a station reaches its hub by the
    # name its [hub] url holds; a browser never sends the bearer token by itself)
    response = app.test_client().get("/api/hub/clinic-key", headers={"Host": "hub.clinic.example"})
    assert response.status_code == 401


def _without_host(app, method: str, path: str, **kwargs):
    """``path`` asked with no ``Host`` header at all (a hand-written HTTP/1.0 request): the test
    client always adds one (also to an environ given to it), so the request is built first, the
    header taken out and the app called with it as a WSGI server would."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path=path, method=method, **kwargs).get_environ()
    del environ["HTTP_HOST"]
    return app.response_class.from_app(app, environ, buffered=True)


def test_a_request_without_host_is_refused_in_words(app, anon, backend):
    who = "hub" if backend == "postgresql" else "station"
    for path in ("/healthz", "/api/session", "/static/app.js"):
        response = _without_host(app, "GET", path)
        assert response.status_code == 400, (path, response.status_code)
        assert "Set-Cookie" not in response.headers
    doc = _without_host(app, "GET", "/api/session").get_json()
    assert doc["error"] == (
        f"the request names no address (it has no Host header, which every HTTP/1.1 client sends): the {who} "
        f"answers only a request that names one of its own; send the {who}'s name or IP address in a Host header "
        "(curl and browsers do by themselves)")
    page = _without_host(app, "GET", "/login")
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert "This request names no address. Send the" in page.get_data(as_text=True)
    assert _without_host(app, "POST", "/api/login", json={"username": "root", "password": "x"}).status_code == 400
    if backend == "postgresql":  # the hub's station endpoints check their bearer token, whatever the name
        assert _without_host(app, "GET", "/api/hub/clinic-key").status_code == 401


def test_odd_spellings_of_its_own_names_are_answered_or_refused_as_a_url_would_write_them(tmp_path, station_data_dir):
    config = parse_config_text('[web]\nhost_names = ["kiosk.clinic.lan"]\n', tmp_path / "station.toml").config
    station_data_dir(tmp_path / "data")
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "PASSWORD_COST": clinic_data.CHEAP_COST, "TESTING": True,
                      "STATION_CONFIG": config})
    short = socket.gethostname().split(".")[0]
    try:
        client = app.test_client()
        # a name in any case, with the one final dot of a fully qualified name, with a port of 1 to 65535
        for host in ("LOCALHOST.", "localhost.:443", f"{short.upper()}.Local.:8443", "kiosk.clinic.lan.:65535",
                     "[::1]:1", "[FE80::1]", "127.0.0.1:0443"):
            assert client.get("/api/session", headers={"Host": host}).status_code == 200, host
        # spellings no URL writes: two final dots, a name or an IPv4 address in brackets, IPv6 without
        # them, a port of other digits, none after the colon, or above 65535, a name of other than ASCII
        # letters (the Kelvin sign is 'k' in lower case; a browser would send it as punycode)
        for host in ("localhost..", f"{short}.local..", "[localhost]", f"[{short}.local]", "[127.0.0.1]", "::1",
                     "fe80::1", "localhost:\u0668\u0660", "localhost:\uff18\uff10", "localhost:", "localhost:65536",
                     "localhost:123456", "localhost:-1", "localhost:+80", "[::1]:", "[::1]x", ".", ":443",
                     "\u212aiosk.clinic.lan"):
            response = client.get("/api/session", headers={"Host": host})
            assert response.status_code == 400, host
            assert "it is not one of its own" in response.get_json()["error"], host
    finally:
        app.extensions["station_store"].close()
