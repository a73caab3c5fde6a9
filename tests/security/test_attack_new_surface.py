"""Attacks on this session's new surface (DESIGN.md §11): the hub's station API (bearer tokens, no
CSRF), frame-part uploads, the stations page, a station's sync against a hub that misbehaves, and
the limits-of-stability and training settings of a run.

The hub runs in this process on PostgreSQL (the throwaway cluster of tests/conftest.py), through
Flask's test client, each caller from its own address; the station-side settings are tried on the
suite's running station. Every request is bounded and their number fixed; what was tried is counted
in the suite's "security suite tried" summary.
"""

from __future__ import annotations

import http.server
import itertools
import json
import logging
import threading

import numpy as np
import pytest

from security_support import ADMIN_PW, CLINICIAN_PW, tally

from station.acquire.frame import FRAME_DTYPE
from station.store.audit import Actor
from station.store.passwords import ScryptCost
from station.store.store import Store
from station.sync.client import HubClient, SyncError
from station.sync.hub import Hub, MAX_PART_BYTES
from station.sync.records import PART_DIGEST_HEADER, part_digest
from station.sync.syncer import StationSync

CHEAP = ScryptCost(log2_n=4, r=8, p=1)
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQLI = ["' OR '1'='1", "x'); DELETE FROM patients; --", "%' UNION SELECT token_hash FROM hub_stations --"]
_addresses = itertools.count(1)


def _address() -> str:
    n = next(_addresses)
    return f"10.9.{n // 250}.{n % 250 + 1}"


class HubCaller:
    """One caller of the hub app: its own address, a station token or a signed-in session."""

    def __init__(self, app, token: str | None = None):
        self.http = app.test_client()
        self.address = _address()
        self.token = token
        self.csrf = ""

    def call(self, method: str, path: str, *, body=None, data: bytes | None = None, headers: dict | None = None):
        hdrs = dict(headers or {})
        if self.token is not None:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if self.csrf and method not in ("GET", "HEAD"):
            hdrs.setdefault("X-CSRF-Token", self.csrf)
        kwargs = {"headers": hdrs, "environ_base": {"REMOTE_ADDR": self.address}}
        if body is not None:
            kwargs["data"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        elif data is not None:
            kwargs["data"] = data
            kwargs["content_type"] = hdrs.pop("Content-Type", "application/octet-stream")
        response = self.http.open(path, method=method, **kwargs)
        return response.status_code, response.get_json(silent=True), response.get_data(as_text=True)

    def sign_in(self, username: str, password: str) -> "HubCaller":
        _, doc, _ = self.call("GET", "/api/session")
        self.csrf = doc["csrf_token"]
        status, doc, _ = self.call("POST", "/api/login", body={"username": username, "password": password})
        assert status == 200, doc
        self.csrf = doc["csrf_token"]
        return self


@pytest.fixture
def hub(tmp_path, pg_url):
    """The hub app on PostgreSQL with an administrator, a clinician and two stations."""
    from web import create_app

    store = Store.open(tmp_path / "hub", database=pg_url, password_cost=CHEAP)
    store.users.create_first_admin("root", ADMIN_PW, actor=Actor.command_line())
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor.command_line())
    app = create_app({"STORE": store, "HUB": True, "SECRET_KEY": "attack", "PASSWORD_COST": CHEAP})
    service = app.extensions["station_hub"]
    app.tokens = {"ward": service.add_station("ward"), "gym": service.add_station("gym")}
    try:
        yield app
    finally:
        store.close()


def _push(caller: HubCaller, station_id: str, *changes) -> tuple[int, dict | None]:
    status, doc, _ = caller.call("POST", "/api/hub/push", body={"station_id": station_id, "changes": list(changes)})
    return status, doc


def _patient_change(seq: int, local_id: int, identifier: str, op: str = "create", at: str = "2026-12-03T10:00:00Z",
                    **fields) -> dict:
    payload = {"identifier": identifier, "birth_year": 1950, "sex": "F", **fields} if op == "create" else fields
    return {"seq": seq, "entity": "patient", "op": op, "local_id": local_id, "at": at, "payload": payload}


WARD_ID = "11111111-2222-3333-4444-555555555555"
GYM_ID = "66666666-7777-8888-9999-000000000000"


# -- who may call the hub's new routes -----------------------------------------------------------


def test_hub_routes_take_only_a_valid_station_token_or_an_admin(hub):
    station_routes = [("POST", "/api/hub/push"), ("GET", "/api/hub/trials/1/parts"),
                      ("PUT", "/api/hub/trials/1/parts/0"), ("DELETE", "/api/hub/trials/1/parts"),
                      ("GET", "/api/hub/tombstones"), ("GET", "/api/hub/patients?identifier=P-1")]
    service = hub.extensions["station_hub"]
    revoked = service.add_station("old-plate")
    service.revoke_station("old-plate")
    admin = HubCaller(hub).sign_in("root", ADMIN_PW)
    clinician = HubCaller(hub).sign_in("ana", CLINICIAN_PW)
    tried = 0
    credentials = [None, "", "bst_" + "A" * 43, revoked, hub.tokens["ward"] + "x", hub.tokens["ward"][:-1],
                   "Basic " + hub.tokens["ward"]]
    for method, path in station_routes:
        for token in credentials:  # each from its own address: the bad-token throttle is not what answers
            status, doc, text = HubCaller(hub, token).call(method, path, body={} if method == "POST" else None)
            tried += 1
            assert status == 401 and "station token" in doc["error"], (method, path, token, status)
            assert hub.tokens["ward"] not in text and (not token or token not in text)
        for user in (admin, clinician):  # a signed-in session (with its CSRF token) is not a station
            status, _, _ = user.call(method, path, body={} if method == "POST" else None)
            tried += 1
            assert status == 401, (method, path, status)
    for path in ("/api/hub/stations", "/hub/stations"):
        assert HubCaller(hub).call("GET", path)[0] in (401, 302)
        assert clinician.call("GET", path)[0] == 403
        assert HubCaller(hub, hub.tokens["ward"]).call("GET", path)[0] in (401, 302)  # a token is not a login
        assert admin.call("GET", path)[0] == 200
        tried += 4
    tally("hub routes tried without a valid credential", tried)


def test_every_hub_route_needs_a_login_or_token_and_every_session_change_its_csrf_token(hub):
    import re

    admin = HubCaller(hub).sign_in("root", ADMIN_PW)
    tried = 0
    for rule in hub.url_map.iter_rules():
        view = hub.view_functions[rule.endpoint]
        if rule.endpoint in ("static", "health.healthz") or getattr(view, "station_public", False):
            continue
        path = re.sub(r"<int:[^>]+>", "1", rule.rule)
        path = re.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip(" '"), path)
        path = re.sub(r"<(?:path:|string:)?[^>]+>", "x", path)
        token_view = getattr(view, "station_token_auth", False)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            body = None if method == "GET" else {}
            status, _, _ = HubCaller(hub).call(method, path, body=body)
            tried += 1
            if path.startswith("/api/"):
                assert status == 401, (method, path, status)
            else:
                assert status in (302, 403), (method, path, status)
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                for forged in ("", "forged-token"):
                    status, _, _ = admin.call(method, path, body=body, headers={"X-CSRF-Token": forged})
                    tried += 1
                    assert status == (401 if token_view else 403), (method, path, forged, status)
    assert admin.call("GET", "/api/session")[0] == 200
    tally("hub routes tried without login or CSRF token", tried)


def test_a_token_cannot_push_as_another_station(hub):
    ward = HubCaller(hub, hub.tokens["ward"])
    gym = HubCaller(hub, hub.tokens["gym"])
    assert _push(ward, WARD_ID, _patient_change(1, 1, "P-WARD"))[0] == 200  # binds ward's token to WARD_ID
    status, doc = _push(gym, WARD_ID, _patient_change(1, 1, "P-GYM-AS-WARD"))  # gym's unbound token claims ward's id
    assert status == 409 and doc["error"] == (f"station id {WARD_ID} is already registered with another token; "
                                              "issue a new token with hub stations add")
    status, doc, _ = gym.call("POST", "/api/hub/audit", body={"station_id": WARD_ID, "entries": []})
    assert status == 409 and "already registered with another token" in doc["error"]
    assert _push(gym, GYM_ID, _patient_change(1, 1, "P-GYM"))[0] == 200  # its own id: bound from now on
    status, doc = _push(gym, WARD_ID, _patient_change(2, 2, "P-Y"))
    assert status == 409 and "another data directory" in doc["error"]
    status, doc = _push(ward, GYM_ID, _patient_change(2, 2, "P-X"))  # the copied token of ward elsewhere
    assert status == 409 and "another data directory" in doc["error"]
    store = hub.extensions["station_store"]
    for identifier in ("P-X", "P-Y", "P-GYM-AS-WARD"):
        assert store.patients.search(q=identifier, archived="all")["total"] == 0
    assert {s["name"]: s["station_id"] for s in hub.extensions["station_hub"].stations()} == {"gym": GYM_ID,
                                                                                             "ward": WARD_ID}
    tally("pushes claiming another station's identity", 5)


def test_guessing_station_tokens_is_throttled_and_never_logged(hub, caplog):
    guesser = HubCaller(hub, "bst_wrong")
    caplog.set_level(logging.DEBUG)
    codes = [guesser.call("GET", "/api/hub/tombstones")[0] for _ in range(22)]
    assert codes[:20] == [401] * 20 and codes[20:] == [429, 429]
    neighbour = HubCaller(hub, hub.tokens["ward"])  # a station behind the guesser's NAT: still served
    neighbour.address = guesser.address
    assert neighbour.call("GET", "/api/hub/tombstones")[0] == 200
    assert guesser.call("GET", "/api/hub/tombstones")[0] == 429  # the guesser still waits
    assert HubCaller(hub, hub.tokens["ward"]).call("GET", "/api/hub/tombstones")[0] == 200  # elsewhere: fine
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "bst_" not in logged
    tally("station token guesses", 24)


def test_a_leaked_station_token_cannot_enumerate_identifiers(hub):
    from web.hub_api import LOOKUP_MISSES_PER_STATION

    store = hub.extensions["station_store"]
    store.patients.create({"identifier": "P-0042", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    leaked = HubCaller(hub, hub.tokens["ward"])
    routes = ("/api/hub/patients", "/api/hub/patients/history", "/api/hub/patients/programmes")
    codes = []
    for n in range(LOOKUP_MISSES_PER_STATION + 40):  # walking P-0000, P-0001, ...; P-0042 is never reached
        status, doc, _ = leaked.call("GET", f"{routes[n % 3]}?identifier=P-{n:04d}")
        codes.append(status)
    assert codes == [404] * LOOKUP_MISSES_PER_STATION + [429] * 40
    leaked.address = _address()  # from another address, the same token still waits
    status, doc, _ = leaked.call("GET", "/api/hub/patients?identifier=P-0042")
    assert status == 429 and "too many patient lookups" in doc["error"]
    assert HubCaller(hub, hub.tokens["gym"]).call("GET", "/api/hub/patients?identifier=P-0042")[0] == 200
    tally("identifier enumeration with a leaked station token", len(codes) + 2)


def test_a_leaked_station_token_cannot_enumerate_identifiers_by_push(hub):
    """R3 finding 2: pushed patients were matched to the hub's by identifier with no limit, so one
    push of guessed identifiers found P-0042 (and brought their history to the pushing station) and
    overwrote their birth year on the hub and at every station."""
    from web.hub_api import LOOKUP_MISSES_PER_STATION, NEW_PATIENTS_PER_STATION

    store = hub.extensions["station_store"]
    store.patients.create({"identifier": "P-0042", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    leaked = HubCaller(hub, hub.tokens["ward"])
    guesses = [_patient_change(n + 1, n + 1, f"P-{n:04d}", birth_year=1900, sex="M") for n in range(300)]
    status, doc = _push(leaked, WARD_ID, *guesses)
    assert status == 429 and "as many new patients as it takes" in doc["error"]
    assert f"patient #{NEW_PATIENTS_PER_STATION + 2} " in doc["error"]  # 200 guesses made patients, P-0042 found
    assert doc["retry_after_s"] > 0 and "P-0" not in doc["error"]
    on_hub = store.patients.get_by_identifier("P-0042")
    assert (on_hub["birth_year"], on_hub["sex"]) == (1950, "F")  # found, but nothing of theirs overwritten
    assert store.patients.search()["total"] == NEW_PATIENTS_PER_STATION + 1
    # links of guessed identifiers (what a pull sends after the patient came): misses counted as lookups'
    gym = HubCaller(hub, hub.tokens["gym"])

    def link(seq: int, identifier: str) -> dict:
        return {**_patient_change(seq, seq, identifier, op="link"), "payload": {"identifier": identifier}}

    codes = []
    for n in range(LOOKUP_MISSES_PER_STATION):
        status, doc = _push(gym, GYM_ID, link(n + 1, f"Q-{n:04d}"))
        codes.append(status)
        assert "Q-" not in doc["error"]
    assert codes == [404] * LOOKUP_MISSES_PER_STATION
    status, doc = _push(gym, GYM_ID, link(LOOKUP_MISSES_PER_STATION + 1, "P-0042"))
    assert status == 429 and "counts as a lookup" in doc["error"]  # found or not: it waits, as a lookup would
    status, doc, _ = gym.call("POST", "/api/hub/patients", body={"identifier": "P-0042"})
    assert status == 429 and "too many patient lookups" in doc["error"]
    tally("identifier enumeration by push with a leaked station token", 1 + LOOKUP_MISSES_PER_STATION + 2)


def _rename(seq: int, local_id: int, identifier: str) -> dict:
    return {"seq": seq, "entity": "patient", "op": "update", "local_id": local_id,
            "at": f"2026-12-03T10:{seq // 60 % 60:02d}:{seq % 60:02d}Z", "payload": {"identifier": identifier}}


def test_a_leaked_station_token_cannot_enumerate_identifiers_by_renaming_its_patient(hub):
    """X1 finding F9, session 25: a stolen token renaming its own patient P-0000, P-0001, ... was told
    by each answer whether the identifier was held (409 naming it) or nobody's (applied), without limit:
    P-0042 was found at the 43rd push. A rename is a lookup now, and a miss when nobody holds it."""
    from web.hub_api import LOOKUP_MISSES_PER_STATION

    store = hub.extensions["station_store"]
    store.patients.create({"identifier": "P-0042", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    leaked = HubCaller(hub, hub.tokens["ward"])
    assert _push(leaked, WARD_ID, _patient_change(1, 1, "P-MINE"))[0] == 200
    codes = []
    for n in range(60):
        status, doc = _push(leaked, WARD_ID, _rename(n + 2, 1, f"P-{n:04d}"))
        codes.append(status)
        if status == 429:
            assert "changes its identifier, which counts as a lookup" in doc["error"] and "P-0" not in doc["error"]
            assert doc["retry_after_s"] > 0
    assert codes == [200] * LOOKUP_MISSES_PER_STATION + [429] * (60 - LOOKUP_MISSES_PER_STATION)  # P-0042 not reached
    assert store.patients.get_by_identifier("P-0042")["birth_year"] == 1950
    gym = HubCaller(hub, hub.tokens["gym"])  # a held identifier: a lookup that found (409), counted as one
    assert _push(gym, GYM_ID, _patient_change(1, 1, "P-GYM"))[0] == 200
    status, doc = _push(gym, GYM_ID, _rename(2, 1, "P-0042"))
    assert status == 409 and "already used by another patient" in doc["error"]
    status, doc = _push(gym, GYM_ID, _rename(3, 1, "P-GYM-2"))  # a clinic's own rename goes through
    assert status == 200 and store.patients.get_by_identifier("P-GYM-2")["birth_year"] == 1950
    status, doc = _push(gym, GYM_ID, _rename(4, 1, "p-gym-2"))  # the same identifier in other letters: no lookup
    assert status == 200
    tally("identifier enumeration by renaming with a leaked station token", 1 + len(codes) + 4)


# -- bodies ---------------------------------------------------------------------------------------


def _bad_pushes() -> list:
    good = _patient_change(1, 1, "P-OK")
    bad_changes = [
        {**good, "seq": -1}, {**good, "seq": True}, {**good, "seq": 1.5}, {**good, "seq": "1"}, {**good, "seq": 2**62},
        {**good, "entity": "user"}, {**good, "op": "drop"}, {**good, "entity": None},
        {**good, "local_id": -3}, {**good, "local_id": [1]},
        {**good, "at": "yesterday"}, {**good, "at": 1e300}, {**good, "at": None}, {**good, "at": "99999-01-01T00:00:00Z"},
        {**good, "payload": [1, 2]}, {**good, "payload": "x"},
        _patient_change(1, 1, "P-OK", birth_year=10**9), _patient_change(1, 1, "P-OK", birth_year=-5),
        _patient_change(1, 1, "P-OK", height_cm=0), _patient_change(1, 1, "P-OK", height_cm=1e9),
        _patient_change(1, 1, "P-OK", sex=["F"]), _patient_change(1, 1, "P-OK", notes="n" * 100_000),
        _patient_change(1, 1, "x" * 65), _patient_change(1, 1, "P\u0000NUL"), _patient_change(1, 1, "P-OK", role="admin"),
        {"seq": 1, "entity": "session", "op": "upsert", "local_id": 1, "at": "2026-12-03T10:00:00Z",
         "payload": {"patient_local_id": 99, "started_at": "x", "label": "", "notes": "", "created_by": "a"}},
        {"seq": 1, "entity": "programme", "op": "upsert", "local_id": 1, "at": "2026-12-03T10:00:00Z",
         "payload": {"doc": [1]}},
        {"seq": 1, "entity": "patient", "op": "erase", "local_id": 1, "at": "2026-12-03T10:00:00Z",
         "payload": {"identifier_hash": "' OR 1=1 --"}},
        {"seq": 1, "entity": "patient", "op": "erase", "local_id": 1, "at": "2026-12-03T10:00:00Z",
         "payload": {"identifier_hash": "0" * 64, "unsent_trials": ["../../x"]}},
    ]
    bodies = [[], "changes", {"station_id": WARD_ID, "changes": "all"}, {"station_id": 7, "changes": []},
              {"station_id": WARD_ID, "changes": [good] * 501}, {"station_id": WARD_ID * 3, "changes": []}]
    return [{"station_id": WARD_ID, "changes": [c]} for c in bad_changes] + bodies


def test_malformed_pushes_are_4xx_and_change_nothing(hub):
    ward = HubCaller(hub, hub.tokens["ward"])
    assert _push(ward, WARD_ID)[0] == 200
    store = hub.extensions["station_store"]
    tried = 0
    for body in _bad_pushes():
        status, doc, _ = ward.call("POST", "/api/hub/push", body=body)
        tried += 1
        assert 400 <= status < 500 and doc["error"], (json.dumps(body)[:300], status, doc)
    for raw in (b"{", b"\xff\xfe", b'{"station_id": "' + WARD_ID.encode() + b'", "changes": [' + b"[" * 5000 + b"]" * 5000
                + b"]}", b'{"changes": [{"seq": 1e999}]}', b'{"changes": NaN}', b" " * (130 * 1024)):
        status, doc, _ = ward.call("POST", "/api/hub/push", body=raw)
        tried += 1
        assert status in (400, 413, 422) and doc["error"], (raw[:40], status)
    assert store.patients.search(archived="all")["total"] == 0
    assert Hub(store).stations()[-1]["last_seq"] == 0
    tally("malformed pushes", tried)


def test_sql_through_the_new_queries_is_taken_literally(hub):
    ward = HubCaller(hub, hub.tokens["ward"])
    store = hub.extensions["station_store"]
    changes = [_patient_change(i + 1, i + 1, payload) for i, payload in enumerate(SQLI)]
    status, doc = _push(ward, WARD_ID, *changes)
    assert status == 422  # an identifier is letters, digits and - _ . only: refused, not run
    for payload in SQLI:
        status, doc, _ = ward.call("GET", "/api/hub/patients?identifier=" + payload.replace("%", "%25").replace("'", "%27")
                                   .replace(" ", "%20").replace(";", "%3B"))
        assert status in (400, 404), (payload, status)
        status, doc, _ = ward.call("GET", f"/api/hub/tombstones?after={payload.replace(' ', '%20')}")
        assert status in (400, 422) or (status == 200 and doc["tombstones"] == []), (payload, status)
    assert store.patients.search(archived="all")["total"] == 0 and len(Hub(store).stations()) == 2
    tally("SQL injection attempts on the hub", len(SQLI) * 2 + 1)


def test_the_hub_pages_and_api_take_sql_and_nul_literally_on_postgresql(hub):
    admin = HubCaller(hub).sign_in("root", ADMIN_PW)
    ward = HubCaller(hub, hub.tokens["ward"])
    assert admin.call("POST", "/api/patients", body={"identifier": "PG-1", "birth_year": 1950, "sex": "F"})[0] == 201
    tried = 0
    for payload in SQLI + ["\x00", "P\x00' OR 1=1 --"]:
        quoted = "".join(c if c.isalnum() else "%" + "%".join(f"{b:02X}" for b in c.encode()) for c in payload)
        for path in (f"/api/patients?q={quoted}", f"/api/patients?condition={quoted}", f"/api/patients?sort={quoted}",
                     f"/api/audit?action={quoted}", f"/api/audit?username={quoted}", f"/patients?q={quoted}"):
            status, doc, _ = admin.call("GET", path)
            tried += 1
            assert status in (200, 400, 404, 422), (path, status)
            if status == 200 and doc and "patients" in doc:
                assert doc["total"] == 0, path
        status, _, _ = ward.call("GET", f"/api/hub/patients?identifier={quoted}")
        tried += 1
        assert status in (400, 404), (payload, status)
        status, _, _ = HubCaller(hub).call("POST", "/login", data=f"username={quoted}&password={quoted}".encode(),
                                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        tried += 1
        assert status in (200, 302, 400, 403, 429), (payload, status)
    assert admin.call("GET", "/api/patients?archived=all")[1]["total"] == 1
    tally("SQL injection and NUL attempts on the hub", tried)


def test_numbers_a_station_reports_are_bounded_before_the_database(hub):
    ward = HubCaller(hub, hub.tokens["ward"])
    tried = 0
    for queue_length in (2**31, 2**40, 2**62, -1, 1.5, "9"):
        status, doc, _ = ward.call("POST", "/api/hub/push", body={"station_id": WARD_ID, "queue_length": queue_length,
                                                                 "changes": []})
        tried += 1
        assert status in (200, 422), (queue_length, status, doc)
    for query in ("queue_length=2147483648", f"queue_length={2**62}", f"after={2**62}", "after=-1", "queue_length=1e3"):
        status, doc, _ = ward.call("GET", f"/api/hub/tombstones?{query}")
        tried += 1
        assert status in (200, 422), (query, status, doc)
    for local_id in (2**31, 2**62, 2**63 - 1):
        status, doc, _ = ward.call("GET", f"/api/hub/trials/{local_id}/parts")
        tried += 1
        assert status in (200, 404), (local_id, status)
        status, doc, _ = _part(ward, local_id, 0)
        tried += 1
        assert status in (200, 404, 422), (local_id, status, doc)
    tally("out-of-range numbers from a station", tried)


# -- frame parts ----------------------------------------------------------------------------------


def _part(caller, local_id, part_no, first_seq="0", n_frames="1", data=None, content_type="application/octet-stream",
          digest=None):
    """PUT a frame part; by default ``n_frames`` frames numbered from ``first_seq`` with their SHA-256."""
    if data is None:
        frames = np.zeros(max(0, int(n_frames)), dtype=FRAME_DTYPE)
        if first_seq.isdigit() and len(first_seq) < 20 and int(first_seq) < 2**63:
            frames["seq"] = int(first_seq) + np.arange(len(frames))
        data = frames.tobytes()
    headers = {"X-First-Seq": first_seq, "X-Frames": n_frames, "Content-Type": content_type,
               PART_DIGEST_HEADER: part_digest(data) if digest is None else digest}
    return caller.call("PUT", f"/api/hub/trials/{local_id}/parts/{part_no}", data=data, headers=headers)


def _numbered(first_seq: int, n: int) -> bytes:
    frames = np.zeros(n, dtype=FRAME_DTYPE)
    frames["seq"] = first_seq + np.arange(n)
    return frames.tobytes()


def test_frame_parts_that_do_not_fit_are_refused(hub):
    ward = HubCaller(hub, hub.tokens["ward"])
    cases = [
        ({"first_seq": str(10**30)}, 422), ({"first_seq": "-1"}, 422), ({"first_seq": str(2**63)}, 422),
        ({"first_seq": "abc"}, 400), ({"first_seq": ""}, 400), ({"first_seq": "9" * 5000}, 400),
        ({"n_frames": "0"}, 422), ({"n_frames": "-1"}, 422), ({"n_frames": "901", "data": bytes(FRAME_DTYPE.itemsize)}, 422),
        ({"n_frames": "2", "data": bytes(FRAME_DTYPE.itemsize)}, 422),  # fewer bytes than declared
        ({"n_frames": "1", "data": bytes(FRAME_DTYPE.itemsize + 1)}, 422),  # more bytes than declared
        ({"data": bytes(MAX_PART_BYTES + 1)}, 413), ({"content_type": "application/json"}, 415),
        ({"digest": ""}, 400), ({"digest": "0" * 64}, 400), ({"digest": part_digest(b"other")}, 400),
        ({"digest": "' OR 1=1 --"}, 400), ({"digest": "x" * 5000}, 400),  # no digest, or not this body's
        ({"first_seq": "5", "data": bytes(FRAME_DTYPE.itemsize)}, 422),  # its frames start at 0, not 5
        ({"first_seq": "0", "data": _numbered(7, 2)}, 422),  # they start at 7
    ]
    for kwargs, expected in cases:
        status, doc, _ = _part(ward, 5, 0, **kwargs)
        assert status == expected and doc["error"], (kwargs.get("first_seq", kwargs.get("n_frames")),
                                                     kwargs.get("digest"), status, doc)
    status, doc, _ = _part(ward, 5, 0, data=bytes(MAX_PART_BYTES + 1))
    assert status == 413 and f"limit {MAX_PART_BYTES // 1024} KiB" in doc["error"]  # the route's bound, not 64 KiB
    for part_no in ("1000000", "99999999999999999999999", "-1"):
        status, _, _ = _part(ward, 5, part_no)
        assert status in (404, 422), (part_no, status)
    assert ward.call("GET", "/api/hub/trials/5/parts")[1] == {"on_hub": False, "parts": []}
    tally("frame parts that do not fit", len(cases) + 4)


def test_parts_beyond_the_declared_trial_never_make_a_trial(hub):
    ward = HubCaller(hub, hub.tokens["ward"])
    assert _push(ward, WARD_ID, _patient_change(1, 1, "P-PARTS"),
                 {"seq": 2, "entity": "session", "op": "upsert", "local_id": 1, "at": "2026-12-03T10:00:00Z",
                  "payload": {"patient_local_id": 1, "started_at": "2026-12-03T10:00:00Z", "label": "", "notes": "",
                              "created_by": "ana"}})[0] == 200
    for part_no in (0, 1, 7):  # the trial declares 2 parts of 1 frame; a third arrives beyond them
        assert _part(ward, 9, part_no, first_seq=str(part_no))[0] == 200
    trial = {"protocol": "romberg", "condition": "eyes_open", "status": "complete", "status_reason": None,
             "started_at": "2026-12-03T10:00:00Z", "ended_at": "2026-12-03T10:00:30Z", "last_commit_at": None,
             "rate_hz": 100.0, "calibration": "{}", "frame_dtype": json.dumps(FRAME_DTYPE.descr), "frame_count": 2,
             "frames_lost": 0, "first_seq": 0, "last_seq": 1, "metrics": None, "valid": None, "validity_reason": None,
             "station_version": "t", "recorded_by": "ana", "notes": "", "judged_by": None, "judged_at": None,
             "station_valid": None, "station_validity_reason": None, "station_id": WARD_ID, "calibration_id": None,
             "session_local_id": 1, "parts": 2}
    change = {"seq": 3, "entity": "trial", "op": "upsert", "local_id": 9, "at": "2026-12-03T10:01:00Z", "payload": trial}
    status, doc = _push(ward, WARD_ID, change)
    assert status == 409 and "not all uploaded" in doc["error"]
    store = hub.extensions["station_store"]
    patient = store.patients.get_by_identifier("P-PARTS")
    assert [t for s in store.patients.view(patient["id"], actor=Actor.system())["sessions"] for t in s["trials"]] == []
    assert ward.call("DELETE", "/api/hub/trials/9/parts")[0] == 200  # the station may start over
    assert ward.call("GET", "/api/hub/trials/9/parts")[1]["parts"] == []
    tally("frame parts beyond the declared trial", 3)


def test_one_station_cannot_fill_the_hub_with_parts_of_trials_that_never_come(hub, monkeypatch):
    import station.sync.hub as hub_module

    monkeypatch.setattr(hub_module, "MAX_PENDING_PARTS", 6)  # the bound, small enough to reach here
    ward = HubCaller(hub, hub.tokens["ward"])
    codes = [_part(ward, 1000 + n, n % 2)[0] for n in range(8)]  # parts of trials never declared
    assert codes == [200] * 6 + [409] * 2
    status, doc, _ = _part(ward, 1000, 0)  # a part sent again replaces itself: still taken
    assert status == 200
    status, doc, _ = _part(ward, 2000, 0)
    assert "frame parts wait" in doc["error"] and "push" in doc["error"]
    assert _part(HubCaller(hub, hub.tokens["gym"]), 1, 0)[0] == 200  # other stations are not held up
    assert ward.call("DELETE", "/api/hub/trials/1000/parts")[0] == 200
    assert _part(ward, 2000, 0)[0] == 200  # room again once they go
    tally("frame parts of trials that never come", 12)


# -- the stations page ----------------------------------------------------------------------------


def test_station_names_and_their_errors_are_never_markup(hub):
    service = hub.extensions["station_hub"]
    token = service.add_station(XSS[:60])
    evil = HubCaller(hub, token)
    status, _ = _push(evil, GYM_ID)
    assert status == 200
    evil.call("POST", "/api/hub/push", body={"station_id": GYM_ID, "last_error": XSS, "changes": []})
    _push(evil, GYM_ID, _patient_change(1, 1, "P-1", op="link"))  # refused: its message lands on the page
    admin = HubCaller(hub).sign_in("root", ADMIN_PW)
    status, _, page = admin.call("GET", "/hub/stations")
    assert status == 200 and "&lt;script&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    tally("hub page fields checked for injected script", 3)


# -- a station's sync against a hub that misbehaves -----------------------------------------------


class FakeHub:
    """A hub on the loopback that answers every request with ``answer(handler)`` and records the
    requests (method, path, Authorization header) it got."""

    def __init__(self, host: str = "127.0.0.1"):
        self.requests: list[tuple[str, str, str | None]] = []
        self.answer = lambda h: (200, b"{}", {})
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.requests.append((self.command, self.path, self.headers.get("Authorization")))
                status, body, headers = outer.answer(self)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        # polled every 0.05 s, not the default 0.5 s: shutdown() at the end of each case waits for the poll
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def station_store(tmp_path, station_data_dir):
    store = Store.open(station_data_dir(tmp_path / "station"), password_cost=CHEAP)  # a migrated copy: tests/conftest.py
    yield store
    store.close()


TOKEN = "bst_" + "s" * 43


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirecting_hub_never_gets_the_token_sent_elsewhere(station_store, code):
    with FakeHub("127.0.0.2") as elsewhere, FakeHub() as hub_server:
        hub_server.answer = lambda h: (code, b"", {"Location": elsewhere.url + h.path})
        sync = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5))
        with pytest.raises(SyncError) as caught:
            sync.sync_once()
    assert not [r for r in elsewhere.requests if r[2]], "the station token went to another server"
    message = str(caught.value)
    assert "redirect" in message and TOKEN not in message and "\n" not in message
    tally("redirecting hubs", 1)


@pytest.mark.parametrize("answer", [
    (200, b"<html>proxy login</html>", {"Content-Type": "text/html"}),
    (200, b'{"tombstones": "all", "last_seq": "x"}', {"Content-Type": "application/json"}),
    (200, b'{"tombstones": [{"id": "x", "identifier_hash": 5}]}', {"Content-Type": "application/json"}),
    (200, b"[1, 2, 3]", {"Content-Type": "application/json"}),
    (200, b'{"tombstones": [], "last_seq": 99999999999999999999}', {"Content-Type": "application/json"}),
    (502, b"bad gateway", {}),
    (500, b'{"error": "' + b"x" * 5000 + b'"}', {"Content-Type": "application/json"}),
])
def test_a_hub_answering_garbage_is_one_clear_error_and_loses_nothing(station_store, answer):
    patient = station_store.patients.create({"identifier": "P-KEEP", "birth_year": 1950, "sex": "F"},
                                            actor=Actor.system())
    with FakeHub() as hub_server:
        hub_server.answer = lambda h: answer
        sync = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5))
        with pytest.raises(SyncError) as caught:
            sync.sync_once()
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400 and TOKEN not in message
    assert station_store.outbox.length() >= 1  # the patient's change is still queued
    assert station_store.patients.get(patient["id"])["identifier"] == "P-KEEP"
    tally("hubs answering garbage", 1)


@pytest.mark.parametrize("body, expected", [
    (b'{"patient": "P-1"}', 502), (b'{"patient": [1]}', 502), (b"\x00\x01", 502), (b"{}", 502),
    (b'{"patient": {"identifier": 5}}', 422), (b'{"patient": {"identifier": "P-1", "role": "admin"}}', 422),
])
def test_pulling_a_patient_from_a_garbage_hub_is_a_clear_error(station_store, body, expected):
    from web import create_app

    station_store.users.create_first_admin("root", ADMIN_PW, actor=Actor.command_line())
    with FakeHub() as hub_server:
        hub_server.answer = lambda h: (200, body, {"Content-Type": "application/json"})
        sync = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5))
        app = create_app({"STORE": station_store, "SYNC": sync, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP})
        user = HubCaller(app).sign_in("root", ADMIN_PW)
        status, doc, _ = user.call("POST", "/api/patients/pull", body={"identifier": "P-1"})
    assert status == expected and doc["error"], (status, doc)
    if status == 502:
        assert "the hub's answer holds no patient record" in doc["error"]
    assert station_store.patients.search(archived="all")["total"] == 0
    tally("garbage patients from a hub", 1)


def test_a_hub_that_never_answers_blocks_neither_recording_nor_shutdown(template_data, tmp_path):
    import signal
    import time

    from security_support import Station, copy_data

    release = threading.Event()
    with FakeHub() as hung:
        hung.answer = lambda h: (release.wait(60), (200, b"{}", {}))[1]  # holds every request
        station = Station(copy_data(template_data, tmp_path / "data"), "--hub", hung.url, "--hub-token", TOKEN)
        station.start()
        try:
            station.wait_ready()
            deadline = time.monotonic() + 20
            while not hung.requests and time.monotonic() < deadline:  # the sync is stuck in its first request
                time.sleep(0.1)
            assert hung.requests, "the station never called the hub"
            first = station.health()["frames"]
            deadline = time.monotonic() + 30
            while station.health()["frames"] <= first and time.monotonic() < deadline:
                time.sleep(0.2)
            health = station.health()
            assert health["state"] in ("ok", "degraded") and health["frames"] > first  # still acquiring
            user = station.client().sign_in("ana", CLINICIAN_PW)
            status, doc, _ = user.post("/api/patients", {"identifier": "HUNG-1", "birth_year": 1950, "sex": "F"})
            assert status == 201  # the store is not held by the stuck sync
            station.process.send_signal(signal.SIGTERM)  # stops cleanly by itself (not killed) meanwhile
            code = station.process.wait(120)
            assert code == 0 and "stopped" in station.log_path.read_text(), station.log_path.read_text()[-3000:]
            assert TOKEN not in station.log_path.read_text()
        finally:
            release.set()
            station.stop()
    tally("hubs that never answer", 1)


class _ToHub:
    """A station's transport to the in-process hub app."""

    def __init__(self, app):
        self.http = app.test_client()

    def __call__(self, method, url, headers, body):
        import urllib.parse

        parts = urllib.parse.urlsplit(url)
        response = self.http.open(parts.path + (f"?{parts.query}" if parts.query else ""), method=method,
                                  headers=headers, data=body)
        return response.status_code, response.get_data()


def test_a_refused_push_never_puts_a_patient_on_the_public_health_page(hub, station_store):
    """The hub's refusal names the identifier (the clinician who signs in may read it); /healthz
    answers anyone on the network and says only that the sync failed."""
    from web import create_app

    service = hub.extensions["station_hub"]
    service.store.patients.create({"identifier": "P-SECRET-7", "birth_year": 1950, "sex": "F"}, actor=Actor.system())
    sync = StationSync(station_store, HubClient("http://127.0.0.1:9", service.add_station("ward-2"),
                                                transport=_ToHub(hub)))
    patient = station_store.patients.create({"identifier": "P-B", "birth_year": 1950, "sex": "F"}, actor=Actor.system())
    sync.sync_once()
    station_store.patients.update(patient["id"], {"identifier": "P-SECRET-7"}, actor=Actor.system())
    with pytest.raises(SyncError):
        sync.sync_once()  # the hub has another patient with that identifier
    app = create_app({"STORE": station_store, "SYNC": sync, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP})
    doc = app.test_client().get("/healthz").get_json()
    assert doc["sync"]["last_error"] and "P-SECRET-7" not in json.dumps(doc)
    assert "signed in" in doc["sync"]["last_error"]
    user = HubCaller(app)
    station_store.users.create_first_admin("root", ADMIN_PW, actor=Actor.command_line())
    status, doc, _ = user.sign_in("root", ADMIN_PW).call("GET", "/api/station")
    assert status == 200 and "P-SECRET-7" in doc["health"]["sync"]["last_error"]  # the clinician sees why
    tally("patient data looked for on the public health page", 1)


# -- the run's new settings (the suite's running station) ----------------------------------------


LOS_HEIGHTS = [0, -170, 1e9, 10**18, "abc", "nan", "inf", "1e308", [], {}, True, None, "<script>", 49.9]
TRAINING = [
    {"game": "pong", "level": 1}, {"game": XSS, "level": 1}, {"game": ["reach"], "level": 1}, {"game": {}, "level": 1},
    {"game": None, "level": 1}, {"game": "reach", "level": 0}, {"game": "reach", "level": 6},
    {"game": "reach", "level": "1"}, {"game": "reach", "level": 1.5}, {"game": "reach", "level": True},
    {"game": "reach", "level": 1, "session_s": 10**9}, {"game": "reach", "level": 1, "session_s": -1},
    {"game": "reach", "level": 1, "session_s": 0}, {"game": "reach", "level": 1, "session_s": "600"},
    {"game": "reach", "level": 1, "rest_s": 10**6}, {"game": "reach", "level": 1, "range_cm": 0},
    {"game": "reach", "level": 1, "range_cm": 1e9}, {"game": "shift", "level": 1, "paretic_side": "up"},
    {"game": "shift", "level": 1, "paretic_side": ["left"]}, {"game": "reach", "level": 1, "paretic_side": "left"},
    {"game": "reach", "level": 1, "seed": -1}, {"game": "reach", "level": 1, "seed": 2**40},
    {"game": "reach", "level": 1, "../../etc/passwd": 1}, {"game": "reach", "level": 1, "speed": 1},
]


def test_absurd_heights_and_game_settings_are_refused_in_one_line(station, clinician):
    status, patient, _ = clinician.post("/api/patients", {"identifier": "ATTACK-RUN", "birth_year": 1950, "sex": "F"})
    assert status == 201
    tried = 0
    for height in LOS_HEIGHTS:
        status, doc, _ = clinician.post("/api/station/run", {"patient_id": patient["id"], "protocol": "limits-of-stability",
                                                             "los": {"height_cm": height}})
        tried += 1
        assert status == 422 and "height_cm" in json.dumps(doc), (height, status, doc)
    for body in ({"height_cm": 170, "extra": 1}, {"height_cm": 170, "target": "../x"}, [170], "170"):
        status, doc, _ = clinician.post("/api/station/run", {"patient_id": patient["id"],
                                                             "protocol": "limits-of-stability", "los": body})
        tried += 1
        assert status == 422, (body, status, doc)
    for training in TRAINING:
        status, doc, _ = clinician.post("/api/station/run", {"patient_id": patient["id"],
                                                             "protocol": "biofeedback-training", "training": training})
        tried += 1
        assert status == 422 and "training" in json.dumps(doc), (training, status, doc)
    status, doc, _ = clinician.get("/api/station")
    assert doc["service"]["run"] is None  # nothing was opened
    for path in (f"/api/patients/{patient['id']}/training", "/api/patients/99999999/training",
                 "/api/patients/9223372036854775808/training"):
        status, doc, _ = clinician.get(path)
        tried += 1
        assert (status, doc["sessions"] if status == 200 else None) in ((200, []), (404, None)), (path, status)
    tally("absurd run settings", tried)


# -- programmes merged on the hub, histories pulled from it (issue 19, second pass) -------------


def _programme_doc(**over) -> dict:
    session = {"number": 1, "week": 1, "planned_date": "2026-12-03", "prescribed_date": "2026-12-03",
               "minutes_planned": 45, "status": "planned", "missed_reason": None, "dose_source": None, "dose": None,
               "trial_id": None, "recorded_at": None, "recorded_by": None}
    doc = {"patient_id": 1, "template_name": "balance-training", "template": {"programme": {"name": "x"}},
           "start_date": "2026-12-03", "status": "active", "paused_from": None, "ended_on": None, "end_reason": None,
           "created_at": "2026-12-03T10:00:00Z", "created_by": "ana", "sessions": [session], "visits": [],
           "pauses": []}
    doc.update(over)
    return doc


def test_hostile_programmes_are_4xx_and_put_nothing_on_the_hub(hub):
    ward = HubCaller(hub, hub.tokens["ward"])
    store = hub.extensions["station_store"]
    assert _push(ward, WARD_ID, _patient_change(1, 1, "P-PROG"))[0] == 200
    session = _programme_doc()["sessions"][0]
    bad_docs = [
        _programme_doc(sessions="all"), _programme_doc(sessions=[session] * 2), _programme_doc(status="deleted"),
        _programme_doc(sessions=[{**session, "status": "done", "dose": {"minutes": "x" * 5000}}]),
        _programme_doc(sessions=[{**session, "trial_id": -1}]), _programme_doc(sessions=[{**session, "number": 0}]),
        _programme_doc(sessions=[{**session, "planned_date": "' OR 1=1 --"}]),
        _programme_doc(sessions=[{**session, "minutes_planned": float("inf")}]),
        _programme_doc(sessions=[{**session, "missed_reason": "\u0000"}]),
        _programme_doc(sessions=[session] * 2001), _programme_doc(template={"x": "y" * (300 * 1024)}),
        _programme_doc(template="drop table"), _programme_doc(patient_id=99),
        _programme_doc(visits=[{"assessment_id": "a.b", "label": "x", "week": 0, "protocols": [], "planned_date":
                                "2026-12-03", "prescribed_date": "2026-12-03", "status": "planned",
                                "missed_reason": None, "runs": []}]),
        _programme_doc(pauses=[{"paused_from": "2026-12-04", "reason": XSS * 50, "paused_by": "x"}]),
    ]
    tried = 0
    for seq_doc in bad_docs:
        change = {"seq": 2, "entity": "programme", "op": "upsert", "local_id": 1, "at": "2026-12-03T10:00:00Z",
                  "payload": {"doc": seq_doc, "field_times": {}}}
        status, doc = _push(ward, WARD_ID, change)
        tried += 1
        assert 400 <= status < 500 and doc["error"], (json.dumps(seq_doc)[:200], status, doc)
    for times in ("all", {"status": "tomorrow"}, {"x" * 200: "2026-12-03T10:00:00Z"}, {"status": 5}):
        change = {"seq": 2, "entity": "programme", "op": "upsert", "local_id": 1, "at": "2026-12-03T10:00:00Z",
                  "payload": {"doc": _programme_doc(), "field_times": times}}
        status, doc = _push(ward, WARD_ID, change)
        tried += 1
        assert 400 <= status < 500 and doc["error"], (times, status, doc)
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM programme_assignments").fetchone()[0] == 0
    # a good one, then a change of its layout (a station cannot add sessions to a programme after it)
    good = {"seq": 2, "entity": "programme", "op": "upsert", "local_id": 1, "at": "2026-12-03T10:00:00Z",
            "payload": {"doc": _programme_doc(), "field_times": {}}}
    assert _push(ward, WARD_ID, good)[0] == 200
    grown = {**good, "seq": 3, "payload": {"doc": _programme_doc(sessions=[session, {**session, "number": 2}])}}
    status, doc = _push(ward, WARD_ID, grown)
    assert status == 422 and "layout" in doc["error"]
    # another station's push cannot reach the ward's programme (its ids are its own)
    gym = HubCaller(hub, hub.tokens["gym"])
    status, doc = _push(gym, GYM_ID, {**good, "seq": 1})
    assert status == 409 and "does not know" in doc["error"]
    with store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM programme_assignments").fetchone()[0] == 1
    tally("hostile programme pushes", tried + 2)


def test_the_history_route_takes_a_station_token_and_bounded_literal_arguments(hub):
    store = hub.extensions["station_store"]
    store.patients.create({"identifier": "P-HIST", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    clinician = HubCaller(hub).sign_in("ana", CLINICIAN_PW)
    tried = 0
    for caller in (HubCaller(hub), HubCaller(hub, "bst_" + "B" * 43), clinician):
        for path in ("/api/hub/patients/history?identifier=P-HIST", "/api/hub/patients/programmes?identifier=P-HIST",
                     "/api/hub/history-updates?after=0", "/api/hub/programme-updates"):
            status, _, _ = caller.call("GET", path)
            tried += 1
            assert status == 401
    ward = HubCaller(hub, hub.tokens["ward"])
    for query, expected in (("identifier=P-HIST&after=-1", 400), ("identifier=P-HIST&after=x", 400),
                            ("identifier=P-HIST&after=99999999999999999999999", 400), ("identifier=" + "x" * 65, 400),
                            ("", 400), ("identifier=%27%20OR%20%271%27%3D%271", 404), ("identifier=P%00HIST", 400),
                            ("identifier=p-hist", 200)):
        status, doc, _ = ward.call("GET", f"/api/hub/patients/history?{query}")
        tried += 1
        assert (status == expected or expected == 400 and status == 422) and (status == 200 or doc["error"]), (
            query, status, doc)
    for path in ("/api/hub/assignments/1/sources", "/api/hub/assignments/1/versions"):
        assert HubCaller(hub).call("GET", path)[0] == 401
        assert ward.call("GET", path)[0] == 401  # a station token is not a login
        tried += 2
    assert clinician.call("GET", "/api/hub/assignments/1/versions")[0] == 403
    tally("history and programme-source requests without the right credential or with bad arguments", tried + 1)


_GOOD_TRIAL = {"hub_id": 2, "station": "gym", "frames_on_hub": 10, "protocol": "romberg", "condition": "eyes_open",
               "status": "complete", "status_reason": None, "started_at": "2026-12-01T10:00:00Z",
               "ended_at": "2026-12-01T10:00:30Z", "last_commit_at": None, "rate_hz": 100.0, "calibration": "{}",
               "frame_dtype": json.dumps(FRAME_DTYPE.descr), "frame_count": 10, "frames_lost": 0, "first_seq": 0,
               "last_seq": 9, "metrics": "{}", "valid": 1, "validity_reason": None, "station_version": "t",
               "recorded_by": "ana", "notes": "", "judged_by": None, "judged_at": None, "station_valid": 1,
               "station_validity_reason": None, "station_id": "gym-station-id", "calibration_id": "0123456789abcdef"}


def _history(*trials, **session) -> bytes:
    visit = {"hub_id": 1, "station": "gym", "started_at": "2026-12-01T10:00:00Z", "label": "", "notes": "",
             "created_by": "ana", "trials": list(trials), **session}
    return json.dumps({"sessions": [visit], "next": None}).encode()


@pytest.mark.parametrize("history", [
    b"<html>proxy login</html>", b'{"sessions": "all"}', b'{"sessions": [], "next": -5}', b'{"sessions": [1]}',
    _history({**_GOOD_TRIAL, "status": "recording"}), _history({**_GOOD_TRIAL, "metrics": "{" * 10}),
    _history({**_GOOD_TRIAL, "metrics": json.dumps({"x": "y" * (300 * 1024)})}),
    _history({**_GOOD_TRIAL, "frame_dtype": "[]"}), _history({**_GOOD_TRIAL, "hub_id": -2}),
    _history({**_GOOD_TRIAL, "frames_on_hub": "all"}), _history({**_GOOD_TRIAL, "station": ["x"]}),
    _history(_GOOD_TRIAL, started_at="yesterday"), _history(_GOOD_TRIAL, label="x" * 5000),
    _history(_GOOD_TRIAL, hub_id=True),
])
def test_a_history_from_a_garbage_hub_is_one_clear_error_and_stores_nothing(station_store, history):
    from web import create_app

    station_store.users.create_first_admin("root", ADMIN_PW, actor=Actor.command_line())
    patient = {"patient": {"identifier": "P-1", "birth_year": 1950, "sex": "F", "height_cm": None,
                           "weight_kg": None, "conditions": [], "notes": "", "archived": False}}

    def answer(handler):
        if handler.path.startswith("/api/hub/patients/history"):
            return 200, history, {"Content-Type": "application/json"}
        return 200, json.dumps(patient).encode(), {"Content-Type": "application/json"}

    with FakeHub() as hub_server:
        hub_server.answer = answer
        sync = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5))
        app = create_app({"STORE": station_store, "SYNC": sync, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP})
        user = HubCaller(app).sign_in("root", ADMIN_PW)
        status, doc, _ = user.call("POST", "/api/patients/pull", body={"identifier": "P-1"})
        assert status == 201 and "\n" not in doc["history"]["error"] and len(doc["history"]["error"]) < 600
        status, again, _ = user.call("POST", f"/api/patients/{doc['id']}/history/pull", body={})
    assert status == 502 and again["error"] and TOKEN not in again["error"], (status, again)
    with station_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 0
    assert station_store.patients.get(doc["id"])["identifier"] == "P-1"  # the patient stays, their history waits
    tally("garbage histories from a hub", 1)


def test_a_hub_paging_for_ever_is_stopped(station_store, monkeypatch):
    from station.sync import syncer

    station_store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    pages = itertools.count(1)
    with FakeHub() as hub_server:
        hub_server.answer = lambda h: (200, json.dumps({"sessions": [], "next": next(pages)}).encode(),
                                       {"Content-Type": "application/json"})
        sync = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5))
        monkeypatch.setattr(syncer, "MAX_HISTORY_PAGES", 20)
        with pytest.raises(SyncError, match="beyond 20 pages"):
            sync.pull_history(1, actor=Actor.command_line())
    assert len(hub_server.requests) == 20
    tally("hubs paging for ever", 1)


@pytest.mark.parametrize("programmes", [
    b"<html>x</html>", b'{"programmes": "all"}', b'{"programmes": [1]}',
    json.dumps({"programmes": [{"hub_id": 1, "status": "gone", "sessions": [], "overall": {}}]}).encode(),
    json.dumps({"programmes": [{"hub_id": 1, "status": "active", "title": "t", "start_date": "x", "today": "2026-12-03",
                                "sessions": [], "overall": {}}]}).encode(),
    json.dumps({"programmes": [{"hub_id": 1, "status": "active", "title": XSS * 20, "start_date": "2026-12-03",
                                "today": "2026-12-03", "sessions": [], "overall": {}}]}).encode(),
    json.dumps({"programmes": [{"hub_id": 1, "status": "active", "title": "t", "start_date": "2026-12-03",
                                "today": "2026-12-03", "overall": {"minutes_done": "lots"}, "sessions": []}]}).encode(),
    json.dumps({"programmes": [{"hub_id": 1, "status": "active", "title": "t", "start_date": "2026-12-03",
                                "today": "2026-12-03", "overall": {}, "sessions": [{"status": "done", "number": -1}]}]}).encode(),
])
def test_programmes_from_a_garbage_hub_are_one_clear_error(station_store, programmes):
    from web import create_app

    station_store.users.create_first_admin("root", ADMIN_PW, actor=Actor.command_line())
    patient = station_store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"},
                                            actor=Actor.command_line())
    with FakeHub() as hub_server:
        hub_server.answer = lambda h: (200, programmes, {"Content-Type": "application/json"})
        sync = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5))
        app = create_app({"STORE": station_store, "SYNC": sync, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP})
        user = HubCaller(app).sign_in("root", ADMIN_PW)
        status, doc, _ = user.call("GET", f"/api/patients/{patient['id']}/hub-programmes")
    assert status == 502 and "\n" not in doc["error"] and len(doc["error"]) < 600, (status, doc)
    assert station_store.programmes.list_for_patient(patient["id"]) == []
    tally("garbage programmes from a hub", 1)


def test_hostile_audit_entries_are_4xx_and_never_rewrite_the_trail(hub):
    ward = HubCaller(hub, hub.tokens["ward"])
    store = hub.extensions["station_store"]
    before = len(store.audit.query(limit=1000))
    good = {"id": 1, "at": "2026-12-03T10:00:00Z", "username": "ana", "address": "10.0.0.7", "action": "patient.view",
            "patient_id": None, "object": None, "detail": None}
    bad = [[{**good, "id": 0}], [{**good, "id": True}], [good, {**good, "id": 1}], [{**good, "action": "user.delete"}],
           [{**good, "at": "yesterday"}], [{**good, "username": ""}], [{**good, "username": "x" * 500}],
           [{**good, "detail": {"x": "y" * 9000}}], [{**good, "detail": [1]}], [{**good, "patient_id": -1}],
           [{**good, "object": "o" * 200}], [good] * 201, "entries", [{**good, "username": "a\u0000b"}]]
    tried = 0
    for entries in bad:
        status, doc, _ = ward.call("POST", "/api/hub/audit", body={"station_id": WARD_ID, "entries": entries})
        tried += 1
        assert 400 <= status < 500 and doc["error"], (str(entries)[:100], status, doc)
    assert len(store.audit.query(limit=1000)) == before
    status, doc, _ = ward.call("POST", "/api/hub/audit", body={"station_id": GYM_ID, "entries": [good]})
    assert status == 409  # the ward's token is bound to the ward's station id: no entries as another station
    status, doc, _ = ward.call("POST", "/api/hub/audit", body={"station_id": WARD_ID, "entries": [good]})
    assert status == 200
    for caller in (HubCaller(hub), HubCaller(hub).sign_in("ana", CLINICIAN_PW)):
        assert caller.call("GET", "/api/hub/audit")[0] == 401
        tried += 1
    [entry] = [e for e in store.audit.query(limit=5) if e["username"] == "ana@ward"]
    assert entry["user_id"] is None and entry["detail"]["station"] == "ward"  # never a hub user's entry
    tally("hostile audit entries", tried + 2)


@pytest.mark.parametrize("updates", [
    b"<html>x</html>", b'{"patients": "all", "until": 5}', b'{"patients": [], "until": -1}',
    b'{"patients": [], "until": "later"}',
    json.dumps({"patients": [{"local_id": 1, "sessions": [{"hub_id": 1, "trials": [{"hub_id": 2}]}]}],
                "until": 9}).encode(),
])
def test_trial_updates_from_a_garbage_hub_fail_the_sync_in_one_line_and_store_nothing(station_store, updates):
    station_store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())

    def answer(handler):
        path = handler.path
        if path.startswith("/api/hub/history-updates"):
            return 200, updates, {"Content-Type": "application/json"}
        if path.startswith("/api/hub/tombstones"):
            return 200, b'{"tombstones": [], "last": 0, "last_seq": 0}', {}
        if path.startswith("/api/hub/push"):
            return 200, json.dumps({"applied_through": 10**6, "applied": 1, "duplicates": 0}).encode(), {}
        if path.startswith("/api/hub/audit"):
            return 200, json.dumps({"last": 10**6, "added": 0}).encode(), {}
        return 200, b"{}", {}

    with FakeHub() as hub_server:
        hub_server.answer = answer
        sync = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5))
        with pytest.raises(SyncError) as caught:
            sync.sync_once()
    message = str(caught.value)
    assert "\n" not in message and len(message) < 600 and TOKEN not in message
    with station_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM sync_pulled").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0
    tally("garbage trial updates from a hub", 1)


def _programme_updates(*fields) -> bytes:
    return json.dumps({"programmes": [{"local_id": 1, "fields": list(fields)}]}).encode()


@pytest.mark.parametrize("updates", [
    b'{"programmes": "all"}', b'{"programmes": [{"local_id": "1", "fields": []}]}',
    _programme_updates({"field": "role", "value": "admin", "changed_at": "2026-12-03T10:00:00Z", "station": None}),
    _programme_updates({"field": "status", "value": ["deleted", None, None, None], "changed_at": "2026-12-03T10:00:00Z"}),
    _programme_updates({"field": "session.1.date", "value": "'; DROP TABLE trials; --", "changed_at": "2026-12-03T10:00:00Z"}),
    _programme_updates({"field": "session.1.state", "value": ["done", None, "measured", {"minutes": "x" * 5000}, None,
                                                              None, None], "changed_at": "2026-12-03T10:00:00Z"}),
    _programme_updates({"field": "session.1.state", "value": ["done"], "changed_at": "2026-12-03T10:00:00Z"}),
    _programme_updates({"field": "pauses", "value": [["2026-12-03", None, "x" * 500, "a", None]],
                        "changed_at": "2026-12-03T10:00:00Z"}),
    _programme_updates({"field": "session.1.date", "value": "2026-12-04", "changed_at": "soon"}),
])
def test_programme_updates_from_a_garbage_hub_change_nothing(station_store, updates):
    from station.programmes.loader import builtin_programmes
    from station.protocols.loader import builtin_protocols

    actor = Actor.command_line()
    patient = station_store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=actor)
    template = builtin_programmes(builtin_protocols())["balance-training"]
    programme = station_store.programmes.assign(patient["id"], template, "2026-12-01", actor=actor)
    before = station_store.programmes.get(programme["id"])

    def answer(handler):
        path = handler.path
        if path.startswith("/api/hub/programme-updates"):
            return 200, updates, {"Content-Type": "application/json"}
        if path.startswith("/api/hub/tombstones"):
            return 200, b'{"tombstones": [], "last": 0, "last_seq": 0}', {}
        if path.startswith("/api/hub/push"):
            return 200, json.dumps({"applied_through": 10**6, "applied": 1, "duplicates": 0}).encode(), {}
        if path.startswith("/api/hub/audit"):
            return 200, json.dumps({"last": 10**6, "added": 0}).encode(), {}
        if path.startswith("/api/hub/history-updates"):
            return 200, b'{"patients": [], "next": null, "until": 0}', {}
        return 200, b"{}", {}

    with FakeHub() as hub_server:
        hub_server.answer = answer
        sync = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5))
        with pytest.raises(SyncError) as caught:
            sync.sync_once()
    message = str(caught.value)
    assert "\n" not in message and len(message) < 700 and "programme-updates" in message
    assert station_store.programmes.get(programme["id"]) == before
    tally("garbage programme updates from a hub", 1)


def test_the_judgement_cursor_is_a_bounded_literal_number(hub):
    ward = HubCaller(hub, hub.tokens["ward"])
    tried = 0
    for query, expected in (("judged_after=-1", 400), ("judged_after=x", 400), ("judged_after=1e3", 400),
                            ("judged_after=99999999999999999999999", 400), ("judged_after=0%20OR%201%3D1", 400),
                            ("judged_after=0", 200), ("judged_after=", 200)):
        status, doc, _ = ward.call("GET", f"/api/hub/history-updates?after=0&{query}")
        tried += 1
        assert (status == expected or expected == 400 and status == 422), (query, status, doc)
        if status == 200:
            assert ("judgements" in doc) == (query == "judged_after=0")  # absent: a station before judgements
            assert doc.get("judgements", []) == []
    assert HubCaller(hub).call("GET", "/api/hub/history-updates?after=0&judged_after=0")[0] == 401
    tally("judgement cursors without a token or out of bounds", tried + 1)


@pytest.mark.parametrize("judgements", [
    {"judgements": "all", "judged_until": 5, "judged_more": False},
    {"judgements": [], "judged_until": -1, "judged_more": False},
    {"judgements": [], "judged_until": "later", "judged_more": False},
    {"judgements": [], "judged_until": 5, "judged_more": "yes"},
    {"judgements": [], "judged_more": False},
    {"judgements": [{"hub_id": 2}], "judged_until": 5, "judged_more": False},
    {"judgements": [1], "judged_until": 5, "judged_more": False},
    {"judgements": [{**_GOOD_TRIAL, "valid": "maybe"}], "judged_until": 5, "judged_more": False},
    {"judgements": [{**_GOOD_TRIAL, "notes": "x" * 5000}], "judged_until": 5, "judged_more": False},
    {"judgements": [{**_GOOD_TRIAL, "hub_id": True}], "judged_until": 5, "judged_more": False},
    {"judgements": [_GOOD_TRIAL] * 1001, "judged_until": 5, "judged_more": False},
])
def test_judgements_from_a_garbage_hub_fail_the_sync_in_one_line_and_change_nothing(station_store, judgements):
    station_store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    page = json.dumps({"patients": [], "next": None, "until": 0, **judgements}).encode()

    def answer(handler):
        path = handler.path
        if path.startswith("/api/hub/history-updates"):
            return 200, page, {"Content-Type": "application/json"}
        if path.startswith("/api/hub/tombstones"):
            return 200, b'{"tombstones": [], "last": 0, "last_seq": 0}', {}
        if path.startswith("/api/hub/push"):
            return 200, json.dumps({"applied_through": 10**6, "applied": 1, "duplicates": 0}).encode(), {}
        if path.startswith("/api/hub/audit"):
            return 200, json.dumps({"last": 10**6, "added": 0}).encode(), {}
        return 200, b"{}", {}

    with FakeHub() as hub_server:
        hub_server.answer = answer
        sync = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5))
        with pytest.raises(SyncError) as caught:
            sync.sync_once()
    message = str(caught.value)
    assert "\n" not in message and len(message) < 600 and TOKEN not in message
    assert "history-updates" in message or "judgement" in message
    assert station_store.outbox.judgement_cursor() == 0  # asked again from there next time
    with station_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 0
    tally("garbage judgements from a hub", 1)


def test_a_judgement_of_a_trial_never_pulled_here_is_left_out(station_store):
    station_store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    page = json.dumps({"patients": [], "next": None, "until": 0, "judgements": [_GOOD_TRIAL], "judged_until": 7,
                       "judged_more": False}).encode()

    def answer(handler):
        if handler.path.startswith("/api/hub/history-updates"):
            return 200, page, {"Content-Type": "application/json"}
        if handler.path.startswith("/api/hub/tombstones"):
            return 200, b'{"tombstones": [], "last": 0, "last_seq": 0}', {}
        if handler.path.startswith("/api/hub/push"):
            return 200, json.dumps({"applied_through": 10**6, "applied": 1, "duplicates": 0}).encode(), {}
        if handler.path.startswith("/api/hub/audit"):
            return 200, json.dumps({"last": 10**6, "added": 0}).encode(), {}
        if handler.path.startswith("/api/hub/programme-updates"):
            return 200, b'{"programmes": []}', {}
        return 200, b'{"patients": [], "until": 0}', {}  # patient updates: none after change 0

    with FakeHub() as hub_server:
        hub_server.answer = answer
        report = StationSync(station_store, HubClient(hub_server.url, TOKEN, timeout_s=5)).sync_once()
    assert report.judgements == 0 and station_store.outbox.judgement_cursor() == 7
    with station_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 0
    tally("judgements of trials not held", 1)
