"""A programme session recorded on the station from the programme page is credited to that session
by itself. Found by a clinician's review: Session 1 started with "Start Backward treadmill walking
session (30 min)" on /assignments/1 and stopped at 0:21 stayed "planned" (trial_id None) and the
programme said "0 of 12 sessions done": the run knew nothing of the session it was started from.

Now the run started by ``POST /api/programme-sessions/<id>/run`` carries the session, and the trial
it stores is that session's measured dose (audited ``programme.dose`` with ``from_run``), once: a
session stopped early is done with what was walked, adherence counting its minutes."""

from __future__ import annotations

import time

import pytest

from station.programmes.loader import builtin_programmes
from station.protocols.loader import builtin_protocols
from station.store.audit import Actor
from station.store.store import Store
from web import create_app

from programme_support import CHEAP, START_S, WallClock, load_test_module

walk_service = load_test_module("walk_service_tests", "protocols/test_walk_service.py")
Api = load_test_module("programme_api_tests", "programmes/test_api.py").Api
ACTOR = Actor(None, "test")


@pytest.fixture
def store(tmp_path):
    s = Store.open_service(tmp_path / "data", password_cost=CHEAP, wall_clock=WallClock(START_S))
    yield s
    s.close()


def _wait(predicate, what: str, timeout_s: float = 120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout_s:g} s")


def test_a_session_run_from_the_programme_and_stopped_early_is_done_with_the_minutes_walked(tmp_path, store):
    patient = store.patients.create({"identifier": "P-RUN", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:right"]}, actor=ACTOR)
    clinic = walk_service.WalkClinic(store, scenario="patient", seed=12)
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP,
                      "TRIAL_SERVICE": clinic.service, "TESTING": True, "WALL_CLOCK": WallClock(START_S)})
    store.users.create("ana", "clinician password 1", "clinician", actor=ACTOR)
    api = Api(app)
    api.login("ana", "clinician password 1")
    doc = api.ok(api.post(f"/api/patients/{patient['id']}/programmes",
                          {"template": "backward-walking-stroke", "start_date": "2026-01-05"}), 201)
    session = doc["sessions"][0]
    assert session["minutes_planned"] == 30
    clinic.service.start()
    try:
        api.ok(api.post(f"/api/programme-sessions/{session['id']}/run", {"belt_speed_m_s": 0.5}), 201)
        _wait(lambda: api.get("/api/station").get_json()["service"]["run"]["state"] == "instructions", "instructions")
        api.ok(api.post("/api/station/start"))
        _wait(lambda: api.get("/api/station").get_json()["service"]["run"]["state"] == "recording", "recording")
        start_ns = clinic.station.clock.monotonic_ns()
        _wait(lambda: clinic.station.clock.monotonic_ns() - start_ns > 21e9, "21 s on the treadmill")
        api.ok(api.post("/api/station/stop"))
        run = _wait(lambda: (r := api.get("/api/station").get_json()["service"]["run"]) and r["trial_ids"] and r,
                    "the trial stored")
        trial_id = run["trial_ids"][0]
        credited = _wait(lambda: (s := api.ok(api.get(f"/api/assignments/{doc['id']}"))["sessions"][0])["status"] == "done"
                         and s, "session 1 credited")
    finally:
        clinic.service.shutdown()
    trial = store.trials.get(trial_id)
    walked = trial["metrics"]["metrics"]["walking_min"]
    assert trial["status"] == "complete" and trial["metrics"]["trial"]["end_reason"] == "operator_ended"
    assert 0.1 < walked < 1.0  # stopped early: what was walked, not the 30 min planned
    assert credited["trial_id"] == trial_id and credited["source"] == "measured"
    assert credited["minutes"] == pytest.approx(walked) and credited["minutes_planned"] == 30
    after = api.ok(api.get(f"/api/assignments/{doc['id']}"))
    overall = after["adherence"]["overall"]
    assert overall["sessions_done"] == 1 and overall["minutes_done"] == pytest.approx(walked)
    assert trial_id not in [t["id"] for t in after["walking_trials"]]  # no longer offered to link by hand
    dose = [e for e in store.audit.query(action="programme.dose") if e["detail"].get("trial") == trial_id]
    assert len(dose) == 1 and dose[0]["username"] == "ana" and dose[0]["detail"]["from_run"] is True
    assert dose[0]["detail"]["session"] == session["id"]
    # idempotent: the same trial counted again changes nothing and audits nothing
    again = store.programmes.credit_run_trial(session["id"], trial, actor=ACTOR)
    assert again["already"] is True and again["minutes"] == pytest.approx(walked)
    assert [e for e in store.audit.query(action="programme.dose") if e["detail"].get("trial") == trial_id] == dose


def test_a_session_with_a_dose_keeps_it_and_a_trial_without_a_walk_counts_for_nothing(store):
    """A later trial of the same run (a Repeat) or a dose entered by hand first is not replaced: the
    trial stays on offer to take instead; an invalid trial leaves the session planned."""
    patient = store.patients.create({"identifier": "P-KEEP", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    doc = store.programmes.assign(patient["id"], template, "2026-01-05", actor=ACTOR)
    first, second = doc["sessions"][0]["id"], doc["sessions"][1]["id"]
    store.programmes.enter_dose(first, {"minutes": 25.0}, actor=ACTOR)
    walked = {"id": 41, "status": "complete", "protocol": "backward-treadmill", "patient_id": patient["id"],
              "metrics": {"metrics": {"walking_min": 12.5, "steps": 900, "duration_s": 760.0}}}
    kept = store.programmes.credit_run_trial(first, walked, actor=ACTOR)
    assert "session 1 already has a dose (manual)" in kept["none"] and "offered on the programme page" in kept["none"]
    assert store.programmes.session(first)["dose"] == {"minutes": 25.0, "done_on": "2026-01-05"}
    invalid = {**walked, "id": 42, "status": "invalid"}
    assert "not complete" in store.programmes.credit_run_trial(second, invalid, actor=ACTOR)["none"]
    assert store.programmes.session(second)["status"] == "planned"
