"""The patient's training games through the JSON API: login required, audited, 404 for an unknown
patient; and the patient page carries the training-games section."""

from __future__ import annotations

from station.analysis.biofeedback import DIRECTIONS, make_schedule
from station.store.audit import Actor

BACKENDS = ("sqlite", "postgresql")
"""Every test here runs on the station's SQLite and on the hub's PostgreSQL (conftest's ``backend``);
those marked ``@sqlite_only`` say why they run on SQLite only."""


def _game(store, patient_id, score, game="reach"):
    schedule = make_schedule(game, 2, {d: 10.0 for d in DIRECTIONS}, seed=4)
    result = {"game": game, "score": score, "hits": 3, "targets_shown": 4,
              "targets": [{"index": 0, "direction": "f", "time_to_reach_s": 1.1, "time_held_s": 1.5,
                           "path_efficiency": 0.7, "hit": True}]}
    return store.training.record(patient_id, game=game, level=2, settings=schedule.to_dict(), result=result,
                                 minutes=2.0, completed=True, actor=Actor.system())


def test_training_history_api(clinician, anon, store):
    patient = clinician.post("/api/patients", {"identifier": "T-1", "birth_year": 1950, "sex": "F"}).json
    first = _game(store, patient["id"], 55.0)
    second = _game(store, patient["id"], 72.5)
    r = clinician.get(f"/api/patients/{patient['id']}/training")
    assert r.status_code == 200
    sessions = r.json["sessions"]
    assert [s["id"] for s in sessions] == [second["id"], first["id"]]
    assert sessions[0]["score"] == 72.5 and sessions[0]["title"] == "Reach and hold" and sessions[0]["hits"] == 3
    assert "path efficiency" in r.json["score_definitions"]["reach"]
    assert "training.view" in [e["action"] for e in store.audit.query(patient_id=patient["id"])]
    assert anon.get(f"/api/patients/{patient['id']}/training").status_code == 401
    assert clinician.get("/api/patients/99999/training").status_code == 404


def test_patient_page_has_the_training_section(clinician):
    patient = clinician.post("/api/patients", {"identifier": "T-2", "birth_year": 1950, "sex": "F"}).json
    page = clinician.get(f"/patients/{patient['id']}").get_data(as_text=True)
    assert 'id="training-history"' in page and "js/training_history.js" in page


def test_opening_a_game_without_a_trial_service_says_so(clinician):
    patient = clinician.post("/api/patients", {"identifier": "T-3", "birth_year": 1950, "sex": "F"}).json
    r = clinician.post("/api/station/run", {"patient_id": patient["id"], "protocol": "biofeedback-training",
                                            "training": "reach"})
    assert r.status_code == 422 and "training" in r.json["fields"]
