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
