"""Issue 14 through the web app: setup and hashing under a flood, weak passwords, no stranger
lockout, guessing the current password, unstorable input, minimal and audited listings, live
places per user, and X-Forwarded-For believed only from the proxy's own connections."""

from __future__ import annotations

import http.client
import os
import re
import socket
import threading

import pytest

from station.store import passwords
from station.store.audit import Actor
from web import create_app

from web_support import ADMIN_PW, CLINICIAN_PW, ApiClient, clinic_data, sqlite_only

BACKENDS = ("sqlite", "postgresql")
"""Every test here runs on the station's SQLite and on the hub's PostgreSQL (conftest's ``backend``);
those marked ``@sqlite_only`` say why they run on SQLite only (the rule: tests/conftest.py)."""
IN_MEMORY = ("the limit is kept in the app's memory (web/throttle.py, the hashing gate), around the same sign-in "
             "calls the other tests make on the hub")
PARSED = "refused while the request is parsed or checked in Python, before the store: the same code on the hub"


def _client(app, address="127.0.0.1"):
    c = ApiClient(app.test_client())
    c.client.environ_base["REMOTE_ADDR"] = address
    c.refresh_csrf()
    return c


# -- finding 1: setup and hashing ---------------------------------------------------------------


@sqlite_only(IN_MEMORY)
def test_setup_on_a_set_up_station_hashes_nothing(app, accounts, monkeypatch):
    calls = []
    real = passwords._scrypt
    monkeypatch.setattr(passwords, "_scrypt", lambda *a: calls.append(1) or real(*a))
    anon = _client(app)
    for _ in range(20):
        r = anon.post("/api/setup", {"username": "mallory", "password": "a very long password"})
        assert r.status_code == 409
    assert calls == []


@sqlite_only(IN_MEMORY)
def test_setup_is_rate_limited_per_address(app):
    anon = _client(app, "10.9.9.9")
    codes = [anon.post("/api/setup", {"username": "boss", "password": "password12"}).status_code for _ in range(11)]
    assert codes[:10] == [422] * 10 and codes[10] == 429
    other = _client(app, "10.9.9.10")
    assert other.post("/api/setup", {"username": "boss", "password": "walk the dog at nine"}).status_code == 201


def test_hashing_is_capped_and_busy_means_503_with_retry_after(app, accounts, monkeypatch):
    gate = passwords.HashingGate(slots=1, wait_s=0.05)
    monkeypatch.setattr(passwords, "GATE", gate)
    with gate:  # every slot taken (as by a flood of requests)
        r = _client(app).post("/api/login", {"username": "ana", "password": CLINICIAN_PW})
    assert r.status_code == 503 and r.headers["Retry-After"] == "5" and "busy" in r.json["error"]
    assert _client(app).login("ana", CLINICIAN_PW).status_code == 200  # a slot again


# -- finding 6: weak passwords ---------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["password12", "1234567890", "aaaaaaaaaa", "qwertyuiop", "Welcome2024!"])
def test_weak_passwords_are_refused_with_the_reason(admin, weak):
    r = admin.post("/api/users", {"username": "ben", "password": weak, "role": "clinician"})
    assert r.status_code == 422 and "phrase of several words" in r.json["fields"]["password"]


# -- finding 7: no stranger lockout -------------------------------------------------------------------


def test_a_stranger_cannot_lock_out_a_clinician(app, accounts, wall):
    stranger = _client(app, "10.6.6.6")
    for _ in range(5):
        assert stranger.post("/api/login", {"username": "ana", "password": "wrong password"}).status_code == 401
    assert stranger.post("/api/login", {"username": "ana", "password": "wrong password"}).status_code == 429
    assert _client(app, "10.0.0.20").login("ana", CLINICIAN_PW).status_code == 200  # the tablet still signs in


@sqlite_only(IN_MEMORY)
def test_guessing_one_account_from_many_addresses_is_slowed_not_locked(app, accounts, wall):
    for i in range(10):
        assert _client(app, f"10.7.0.{i}").post("/api/login", {"username": "ana", "password": "wrong pw"}).status_code == 401
    first = _client(app, "10.7.1.1").post("/api/login", {"username": "ana", "password": "wrong pw"})
    assert first.status_code == 401  # paced, not refused
    r = _client(app, "10.7.1.2").post("/api/login", {"username": "ana", "password": CLINICIAN_PW})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) <= 2
    wall.advance(2)
    assert _client(app, "10.0.0.20").login("ana", CLINICIAN_PW).status_code == 200


# -- finding 14: guessing the current password --------------------------------------------------------


def test_guessing_the_current_password_is_limited(clinician, wall):
    for _ in range(5):
        r = clinician.post("/api/account/password", {"current_password": "not it at all", "new_password": "walk the dog at nine"})
        assert r.status_code == 422
    r = clinician.post("/api/account/password", {"current_password": CLINICIAN_PW, "new_password": "walk the dog at nine"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    wall.advance(15 * 60 + 1)  # the limit's window has passed (and the inactivity logout too)
    assert clinician.login("ana", CLINICIAN_PW).status_code == 200
    r = clinician.post("/api/account/password", {"current_password": CLINICIAN_PW, "new_password": "walk the dog at nine"})
    assert r.status_code == 200


# -- finding 15: input that cannot be stored is a 4xx -------------------------------------------------


@pytest.mark.parametrize("body, status", [
    ({"identifier": "P\ud800", "birth_year": 1950, "sex": "F"}, 400),
    ({"identifier": "P-1", "birth_year": 1950, "sex": "F", "notes": "x\udfff"}, 400),
    ({"identifier": "P-1", "birth_year": 2**63, "sex": "F"}, 400),
    ({"identifier": "P-1", "birth_year": -(2**64), "sex": "F"}, 400),
    ({"\ud800": 1}, 400),
])
def test_unstorable_json_is_refused_with_400(clinician, store, body, status):
    r = clinician.post("/api/patients", body)
    assert r.status_code == status and r.json["error"]
    assert store.patients.search()["total"] == 0


@sqlite_only(PARSED)
def test_a_huge_number_is_refused(clinician):
    r = clinician.client.post("/api/patients", data='{"identifier": "P-1", "birth_year": 1e999, "sex": "F"}',
                              headers={"X-CSRF-Token": clinician.csrf, "Content-Type": "application/json"})
    assert r.status_code == 400 and "finite" in r.json["error"]


@pytest.mark.parametrize("path", ["/api/patients/9223372036854775808", "/api/trials/99999999999999999999999",
                                  "/api/sessions/18446744073709551616", "/patients/9223372036854775808"])
def test_ids_beyond_64_bits_are_404(clinician, path):
    assert clinician.get(path).status_code == 404


def test_surrogates_in_sign_in_are_400_not_500(app, accounts):
    r = _client(app).post("/api/login", {"username": "ana\ud800", "password": "x\udc00yyyyyyyyy"})
    assert r.status_code == 400


@sqlite_only(PARSED)
@pytest.mark.parametrize("target", ["/x\r\nSet-Cookie: a=b", "/a\nb", "/a\rb", "/a\x00b"])
def test_cr_lf_in_next_never_reaches_a_header(app, accounts, target):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"csrf_token": token, "username": "ana", "password": CLINICIAN_PW, "next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert client.get("/login", query_string={"next": target}).status_code == 302


# -- finding 5: listing is minimal and audited; the station's status is audited ---------------------


def test_the_patient_list_is_minimal_and_audited(clinician, store, records):
    doc = clinician.get("/api/patients").json
    assert {p["identifier"] for p in doc["patients"]} == {"PT-100", "PT-200"}
    for p in doc["patients"]:
        assert not {"notes", "height_cm", "weight_kg"} & set(p)
    entry = store.audit.query(action="patient.list")[0]
    assert entry["username"] == "ana" and sorted(entry["detail"]["ids"]) == sorted([records["patient"], records["other"]])


class _FakeService:
    """The trial service's status with a run open for a patient (what /api/station shows)."""

    def __init__(self, patient_id):
        self.run = {"patient_id": patient_id, "patient_identifier": "PT-100", "session_id": 5}

    def status(self):
        return {"epoch": "e", "last_seq": 0, "panel": {"present": False, "reason": ""}, "run": self.run}


def test_the_station_status_showing_a_patient_is_audited_once_per_login(tmp_path, records, store, app):
    app.config["TRIAL_SERVICE"] = _FakeService(records["patient"])
    c = ApiClient(app.test_client())
    assert c.login("ana", CLINICIAN_PW).status_code == 200
    for _ in range(3):
        assert c.get("/api/station", headers={"X-Station-Background": "1"}).status_code == 200
    entries = store.audit.query(action="station.view")
    assert len(entries) == 1 and entries[0]["patient_id"] == records["patient"] and entries[0]["username"] == "ana"
    other = ApiClient(app.test_client())
    assert other.login("root", ADMIN_PW).status_code == 200
    other.get("/api/station")
    assert len(store.audit.query(action="station.view")) == 2


def test_the_trials_a_crash_interrupted_are_audited_once_per_login(records, store, app, accounts):
    from web_support import CAL

    who = Actor(accounts["ana"]["id"], "ana")
    session = store.sessions.create(records["other"], {}, actor=who)
    writer = store.trials.start_trial(session["id"], "romberg", "eyes_open", CAL, 100.0, actor=who)
    writer.append(clinic_data.make_frames(200))
    writer.flush()
    store.trials._release(writer.trial_id)  # the station died here
    assert store.recover_partial_trials() == [writer.trial_id]
    c = ApiClient(app.test_client())
    assert c.login("ana", CLINICIAN_PW).status_code == 200
    for _ in range(3):
        doc = c.get("/api/station", headers={"X-Station-Background": "1"}).json
        assert [t["patient_identifier"] for t in doc["interrupted"]] == ["PT-200"]
    (entry,) = store.audit.query(action="station.view")
    assert (entry["patient_id"], entry["object"], entry["username"]) == (records["other"], f"trial:{writer.trial_id}", "ana")
    assert "PT-200" not in str(entry)


# -- finding 11: live places per user ---------------------------------------------------------------


def test_one_account_cannot_take_every_live_place(app, accounts):
    from web.live import _Viewers

    app.extensions["station_live_viewers"] = _Viewers(6, per_user=4, reserved=2)
    ana = ApiClient(app.test_client())
    assert ana.login("ana", CLINICIAN_PW).status_code == 200
    opened = []
    for _ in range(4):
        r = ana.client.get("/api/live", buffered=False)
        assert r.status_code == 200
        opened.append(r)
    r = ana.get("/api/live")
    assert r.status_code == 503 and "per user" in r.json["error"]
    root = ApiClient(app.test_client())
    assert root.login("root", ADMIN_PW).status_code == 200
    r = root.client.get("/api/live", buffered=False)
    assert r.status_code == 200
    opened.append(r)
    for r in opened:
        r.close()
    assert app.extensions["station_live_viewers"].count == 0


def test_live_places_reserve_room_for_others():
    from web.live import _Viewers

    v = _Viewers(6, per_user=4, reserved=2)
    assert v.enter("a") is None and v.enter("b") is None and v.enter("b") is None and v.enter("b") is None
    assert "kept for other users" in v.enter("b")  # 2 left: only for users without a stream
    assert v.enter("c") is None and v.enter("d") is None
    assert "too many" in v.enter("e")
    v.leave("b")
    assert v.count == 5


# -- finding 16: X-Forwarded-For only from the proxy's own connection ------------------------------


def _serve(app):
    """A waitress server on a thread; ``server.close()`` stops it (the loop's select on the closed
    socket then ends the thread quietly, not as an unhandled thread exception) and its two request
    threads (waitress ends those only when its loop is interrupted: left, they outlive the test)."""
    from waitress.server import create_server

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = create_server(app, sockets=[sock], threads=2, clear_untrusted_proxy_headers=False)  # as in TLS mode
    closing = threading.Event()
    close = server.close

    def run():
        try:
            server.run()
        except OSError:
            if not closing.is_set():
                raise

    def close_and_wait():
        closing.set()
        close()
        thread.join(5)
        server.task_dispatcher.shutdown(timeout=5)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    server.close = close_and_wait
    return server, sock.getsockname()[1]


@pytest.mark.parametrize("proxy_is_us, recorded", [(True, "192.168.1.50"), (False, "127.0.0.1")])
def test_forwarded_for_is_believed_only_from_the_proxys_user(tmp_path, proxy_is_us, recorded):
    from dataclasses import replace

    from station.config import StationConfig
    from web.proxy import peer_is_proxy

    config = StationConfig()
    config = replace(config, web=replace(config.web, tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem"))
    uid = os.getuid() if proxy_is_us else os.getuid() + 4242
    app = create_app({"DATA_DIR": str(tmp_path / "d"), "STATION_CONFIG": config, "PASSWORD_COST": clinic_data.CHEAP_COST,
                      "PROXY_PEER_CHECK": peer_is_proxy(frozenset({uid}))})
    server, port = _serve(app)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/api/session", headers={"X-Forwarded-For": "192.168.1.50"})
        response = conn.getresponse()
        doc = __import__("json").loads(response.read())
        cookie = response.getheader("Set-Cookie").split(";")[0]
        conn.request("POST", "/api/login", body='{"username": "nobody", "password": "whatever pw"}',
                     headers={"X-Forwarded-For": "192.168.1.50", "Content-Type": "application/json",
                              "X-CSRF-Token": doc["csrf_token"], "Cookie": cookie})
        assert conn.getresponse().status == 401
        conn.close()
        store = app.extensions["station_store"]
        assert store.audit.query(action="user.login_failed")[0]["address"] == recorded
    finally:
        server.close()
        app.extensions["station_store"].close()
