"""The patient page's trials listing carries a walk trial's time and speed as its result stores them,
so the page shows them without fetching each trial (each fetch would audit a view of the trial).
Before, the listing held only the sway measures and the page pointed to the visit's Results. On the
station's SQLite and the hub's PostgreSQL."""

from __future__ import annotations

import pytest

from station.store.audit import Actor
from web import create_app

from dashboard_support import ACTOR, CHEAP, CLINICIAN_PW

BACKENDS = ("sqlite", "postgresql")


def _walk(store, session_id: int, walk_time_s: float | None, valid: bool = True) -> int:
    writer = store.trials.start_trial(session_id, "ten-metre-walk", "comfortable", {"method": "nominal"}, 100.0, actor=ACTOR)
    metrics = {} if walk_time_s is None else {"walk_time_s": walk_time_s, "walk_speed_m_s": 6.0 / walk_time_s,
                                              "cadence_steps_min": 109.0}
    return writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                          "metrics": metrics}, valid=valid, reason=None if valid else "The patient stopped.")["id"]


@pytest.fixture
def client(tmp_path, store):
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True})
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=Actor(None, "test"))
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    assert client.post("/api/login", json={"username": "ana", "password": CLINICIAN_PW},
                       headers={"X-CSRF-Token": token}).status_code == 200
    return client


def test_the_patients_trials_listing_has_each_walks_time_and_speed(client, store, patient):
    session = store.sessions.create(patient["id"], {"label": "10mwt"}, actor=ACTOR)
    walked = _walk(store, session["id"], 5.08)
    stopped = _walk(store, session["id"], None, valid=False)
    views_before = len(store.audit.query(action="trial.view", patient_id=patient["id"]))
    doc = client.get(f"/api/patients/{patient['id']}").get_json()
    trials = {t["id"]: t for s in doc["sessions"] for t in s["trials"]}
    assert trials[walked]["metrics"]["walk_time_s"] == pytest.approx(5.08)
    assert trials[walked]["metrics"]["walk_speed_m_s"] == pytest.approx(6.0 / 5.08)
    assert trials[stopped]["metrics"]["walk_time_s"] is None  # an invalid walk stored no time
    # one view of the patient, no view of each trial
    assert len(store.audit.query(action="trial.view", patient_id=patient["id"])) == views_before
    # the session's listing too (the same summary)
    assert {t["id"]: t["metrics"]["walk_time_s"] for t in store.sessions.get(session["id"])["trials"]}[walked] == \
        pytest.approx(5.08)
