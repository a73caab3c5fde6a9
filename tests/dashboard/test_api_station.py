"""The station API (health, protocols, trial controls), results against norms and the history,
through the web app with the trial service running its thread on the simulated station."""

from __future__ import annotations

import shutil
import time

import pytest

from station.store.audit import Actor
from station.store.store import Store
from web import create_app

from dashboard_support import ACTOR, CHEAP, CLINICIAN_PW, THROUGH_THE_TRIAL_SERVICE, SimulatedClinic, sqlite_only

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""


class Api:
    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.csrf = self.client.get("/api/session").get_json()["csrf_token"]

    def login(self, username: str, password: str) -> None:
        r = self.post("/api/login", {"username": username, "password": password})
        assert r.status_code == 200, r.get_json()
        self.csrf = r.get_json()["csrf_token"]

    def get(self, path: str):
        return self.client.get(path)

    def post(self, path: str, body=None):
        return self.client.post(path, json={} if body is None else body, headers={"X-CSRF-Token": self.csrf})

    def patch(self, path: str, body):
        return self.client.patch(path, json=body, headers={"X-CSRF-Token": self.csrf})


def make_app(tmp_path, store, service=None):
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP,
                      "TRIAL_SERVICE": service, "TESTING": True})
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    api = Api(app)
    api.login("ana", CLINICIAN_PW)
    return app, api


def test_without_a_trial_service_the_station_says_so(tmp_path, store, patient):
    _app, api = make_app(tmp_path, store)
    doc = api.get("/api/station").get_json()
    assert doc["service"] == {"available": False, "reason": doc["service"]["reason"]}
    assert "balance-station run" in doc["service"]["reason"] and doc["health"]["state"] == "down"
    r = api.post("/api/station/run", {"patient_id": patient["id"], "protocol": "romberg"})
    assert r.status_code == 503 and "not running trials" in r.get_json()["error"]
    assert api.post("/api/station/start").status_code == 503
    names = [p["name"] for p in api.get("/api/protocols").get_json()["protocols"]]
    assert {"mctsib", "romberg", "quiet-stance", "single-leg"} <= set(names)


@sqlite_only(THROUGH_THE_TRIAL_SERVICE)
def test_bad_requests_are_refused_with_what_to_do(tmp_path, store, patient):
    clinic = SimulatedClinic(store)
    app, api = make_app(tmp_path, store, clinic.service)
    r = api.post("/api/station/run", {"protocol": "romberg", "extra": 1})
    assert r.status_code == 422 and set(r.get_json()["fields"]) == {"patient_id", "extra"}
    r = api.post("/api/station/run", {"patient_id": True, "protocol": ""})
    assert r.status_code == 422 and set(r.get_json()["fields"]) == {"patient_id", "protocol"}
    r = api.client.post("/api/station/run", data="x", headers={"X-CSRF-Token": api.csrf})
    assert r.status_code == 415
    r = api.client.post("/api/station/start", json={})
    assert r.status_code == 403  # no CSRF token
    assert app.test_client().get("/api/station").status_code == 401
    assert app.test_client().get("/api/protocols").status_code == 401
    assert api.post("/api/station/nonsense").status_code == 404
    clinic.service.start()
    try:
        r = api.post("/api/station/start")
        assert r.status_code == 409 and "no test is open" in r.get_json()["error"]
        r = api.post("/api/station/run", {"patient_id": patient["id"], "protocol": "romberg", "conditions": ["zz"]})
        assert r.status_code == 422 and "no condition 'zz'" in r.get_json()["fields"]["conditions"]
        r = api.post("/api/station/run", {"patient_id": 4242, "protocol": "romberg"})
        assert r.status_code == 404
    finally:
        clinic.service.shutdown()


def wait_for(api, predicate, what: str, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        doc = api.get("/api/station").get_json()["service"]
        if predicate(doc):
            return doc
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout_s:g} s")


def run_romberg(api, patient_id: int) -> dict:
    r = api.post("/api/station/run", {"patient_id": patient_id, "protocol": "romberg"})
    assert r.status_code == 201, r.get_json()
    for n in (1, 2):
        wait_for(api, lambda s: s["run"]["state"] == "instructions", "the instructions")
        assert api.post("/api/station/start").status_code == 200
        wait_for(api, lambda s: len(s["run"]["trial_ids"]) == n, f"trial {n} stored")
    run = wait_for(api, lambda s: s["run"]["finished"], "the end of the test")["run"]
    assert api.post("/api/station/close").get_json()["run"] is None
    return run


@pytest.fixture(scope="module")
def recorded_sessions(tmp_path_factory):
    """Two Romberg sessions of a patient P-001, recorded once for the module through the API with
    the trial service's thread on the simulated station (seconds of work): (data directory, runs).
    Each test gets its own copy (``two_sessions``)."""
    data_dir = tmp_path_factory.mktemp("two-sessions") / "data"
    store = Store.open_service(data_dir, password_cost=CHEAP)
    try:
        patient = store.patients.create({"identifier": "P-001", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        clinic = SimulatedClinic(store, seed=2)
        _app, api = make_app(data_dir.parent, store, clinic.service)
        clinic.service.start()
        try:
            runs = [run_romberg(api, patient["id"]) for _ in range(2)]
        finally:
            clinic.service.shutdown()
    finally:
        store.close()
    return data_dir, runs


@pytest.fixture
def two_sessions(tmp_path, recorded_sessions):
    """The recorded sessions in a copy of their data directory, which the test may change: (the app
    on it, a clinician's API client, the runs, the store, the patient)."""
    source, runs = recorded_sessions
    data_dir = shutil.copytree(source, tmp_path / "data")
    store = Store.open_service(data_dir, password_cost=CHEAP)
    try:
        app = create_app({"DATA_DIR": str(data_dir), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True})
        api = Api(app)
        api.login("ana", CLINICIAN_PW)
        yield app, api, runs, store, store.patients.get(runs[0]["patient_id"])
    finally:
        store.close()


@sqlite_only(THROUGH_THE_TRIAL_SERVICE)
def test_results_show_the_key_measures_against_norms_and_the_romberg_quotient(two_sessions):
    _app, api, runs, store, patient = two_sessions
    session_id = runs[0]["session_id"]
    doc = api.get(f"/api/sessions/{session_id}/results").get_json()
    assert doc["patient"]["identifier"] == "P-001" and doc["patient"]["age_y"] >= 70
    (section,) = doc["protocols"]
    assert section["protocol"] == "romberg" and section["valid_trial_count"] == 2
    assert [c["id"] for c in section["conditions"]] == ["eo", "ec"]
    eo = section["conditions"][0]
    measures = {m["metric"]: m for m in eo["key_measures"]}
    assert set(measures) == {"ellipse_area_cm2", "mean_velocity_cm_s", "path_length_cm", "weight_left_pct"}
    velocity = measures["mean_velocity_cm_s"]
    norm = velocity["references"][0]
    assert norm["kind"] == "norm" and norm["comparable"] and 0 < norm["percentile"] < 100
    assert norm["group"] == "old adults 60-86 y, eyes open, firm surface" and "Santos DA" in norm["source"]
    assert "this one 30 s" in norm["note"]
    assert measures["path_length_cm"]["value"] == pytest.approx(velocity["value"] * 30.0, rel=0.02)
    assert 40 < measures["weight_left_pct"]["value"] < 60
    romberg = section["romberg"]
    assert romberg["romberg_quotient_velocity"] == pytest.approx(
        section["conditions"][1]["values"]["mean_velocity_cm_s"] / eo["values"]["mean_velocity_cm_s"])
    assert [t["id"] for t in eo["trials"]] == [runs[0]["trial_ids"][0]] and eo["trials"][0]["valid"]
    assert "Santos DA, Duarte M" in doc["norms_source"]
    audit = store.audit.query(action="session.view")
    assert audit and audit[0]["patient_id"] == patient["id"]


@sqlite_only(THROUGH_THE_TRIAL_SERVICE)
def test_a_trial_judged_invalid_is_listed_with_its_reason_and_leaves_the_measures(two_sessions):
    _app, api, runs, _store, _patient = two_sessions
    trial_id = runs[0]["trial_ids"][1]  # eyes closed
    r = api.patch(f"/api/trials/{trial_id}", {"valid": False, "validity_reason": "the patient talked"})
    assert r.status_code == 200
    doc = api.get(f"/api/sessions/{runs[0]['session_id']}/results").get_json()
    ec = doc["protocols"][0]["conditions"][1]
    assert ec["valid_trials"] == 0 and ec["values"] == {}
    assert ec["trials"][0]["valid"] is False and ec["trials"][0]["validity_reason"] == "the patient talked"
    assert ec["invalid"][0]["reasons"] == ["the patient talked"]
    assert doc["protocols"][0]["romberg"]["romberg_quotient_velocity"] is None


@sqlite_only(THROUGH_THE_TRIAL_SERVICE)
def test_history_follows_each_measure_over_sessions_with_the_mdc(two_sessions):
    _app, api, runs, _store, _patient = two_sessions
    doc = api.get("/api/patients/1/history").get_json()
    assert [s["id"] for s in doc["sessions"]] == [r["session_id"] for r in runs]
    series = {(s["condition"], s["metric"]): s for s in doc["series"]}
    velocity = series[("eo", "mean_velocity_cm_s")]
    assert [p["session_id"] for p in velocity["points"]] == [r["session_id"] for r in runs]
    # The published MDC was measured after stroke: not shown for a patient without one, and said why.
    assert velocity["mdc"] is None and "after stroke" in velocity["mdc_note"] and velocity["exceeds_mdc"] is None
    assert velocity["key"] and not series[("eo", "path_length_cm")]["key"]
    assert api.patch("/api/patients/1", {"conditions": ["stroke:left"]}).status_code == 200
    series = {(s["condition"], s["metric"]): s for s in api.get("/api/patients/1/history").get_json()["series"]}
    velocity = series[("eo", "mean_velocity_cm_s")]
    assert velocity["mdc"]["value"] == 0.61 and "Gasq" in velocity["mdc"]["citation"] and not velocity["mdc_note"]
    assert velocity["change"] == pytest.approx(velocity["points"][1]["value"] - velocity["points"][0]["value"])
    assert velocity["exceeds_mdc"] == (abs(velocity["change"]) > 0.61)
    assert series[("ec", "mean_velocity_cm_s")]["mdc"]["value"] == 0.95
    area = series[("eo", "ellipse_area_cm2")]
    assert area["mdc"] is None and area["exceeds_mdc"] is None and area["unit"] == "cm²"
    assert api.get("/api/patients/999/history").status_code == 404
