"""Training sessions (biofeedback games) stored with their settings and per-target results, audited,
and counted as programme sessions with their minutes when the patient's programme trains balance."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis.biofeedback import DIRECTIONS, make_schedule, score_game
from station.store.db import NotFound, ValidationError

from programme_support import ACTOR


def _game(minutes=2.0):
    schedule = make_schedule("steady", 2, {d: 10.0 for d in DIRECTIONS}, seed=11, session_s=minutes * 60)
    t = np.arange(0, minutes * 60 + 0.5, 0.01)
    result = score_game(schedule, t, np.zeros_like(t), np.zeros_like(t))
    return schedule.to_dict(), result


def _record(store, patient, minutes=2.0, **kw):
    settings, result = _game(minutes)
    return store.training.record(patient["id"], game="steady", level=2, settings=settings, result=result,
                                 minutes=minutes, completed=True, actor=ACTOR, **kw)


def test_stored_with_settings_targets_and_score_and_audited(store, patient):
    settings, result = _game()
    reach_settings = make_schedule("reach", 1, {d: 8.0 for d in DIRECTIONS}, seed=3).to_dict()
    row = store.training.record(patient["id"], game="reach", level=1, settings=reach_settings,
                                result={"score": 62.5, "targets": [{"index": 0, "time_to_reach_s": 1.2, "time_held_s": 1.0,
                                                                    "path_efficiency": 0.8, "hit": True}]},
                                minutes=1.5, completed=False, actor=ACTOR)
    assert row["dose"] == {"none": "the patient is on no active programme"}
    got = store.training.get(row["id"])
    assert got["settings"]["seed"] == 3 and len(got["settings"]["targets"]) == 16
    assert got["result"]["targets"][0]["path_efficiency"] == 0.8 and got["score"] == 62.5 and got["minutes"] == 1.5
    history = store.training.history(patient["id"], actor=ACTOR)
    assert [h["id"] for h in history] == [row["id"]]
    actions = [e["action"] for e in store.audit.query(patient_id=patient["id"])]
    assert "training.record" in actions and "training.view" in actions


def test_counts_as_a_balance_programme_session_and_adds_same_day_games(store, patient, builtins, wall):
    programme = store.programmes.assign(patient["id"], builtins["balance-training"], "2026-01-05", actor=ACTOR)
    first = _record(store, patient, minutes=2.0)
    sessions = store.programmes.get(programme["id"])["sessions"]
    assert first["dose"] == {"programme_session_id": sessions[0]["id"], "minutes": 2.0}
    assert sessions[0]["status"] == "done" and sessions[0]["dose"] == {"minutes": 2.0, "done_on": "2026-01-05"}
    assert sessions[0]["dose_source"] == "measured"
    second = _record(store, patient, minutes=3.0)  # the same visit: one programme session, 5 minutes
    sessions = store.programmes.get(programme["id"])["sessions"]
    assert second["dose"] == {"programme_session_id": sessions[0]["id"], "minutes": 5.0}
    assert sessions[0]["dose"] == {"minutes": 5.0, "done_on": "2026-01-05"} and sessions[1]["status"] == "planned"
    wall.to_day("2026-01-07")  # another day: the next planned session
    third = _record(store, patient, minutes=1.0)
    sessions = store.programmes.get(programme["id"])["sessions"]
    assert third["dose"]["programme_session_id"] == sessions[1]["id"] and sessions[1]["dose"] == {"minutes": 1.0, "done_on": "2026-01-07"}
    actions = [e["action"] for e in store.audit.query(patient_id=patient["id"])]
    assert actions.count("programme.dose") == 3
    # The patient's programmes export carries the games too (oldest first).
    import json

    from station.store.export import patient_programmes_json

    doc = json.loads(patient_programmes_json(store, patient["id"], actor=ACTOR))
    assert [t["id"] for t in doc["training_sessions"]] == [first["id"], second["id"], third["id"]]
    assert doc["training_sessions"][0]["programme_session_id"] == sessions[0]["id"]


def test_a_walking_programme_takes_no_game_dose(store, patient, builtins):
    store.programmes.assign(patient["id"], builtins["backward-walking-stroke"], "2026-01-05", actor=ACTOR)
    row = _record(store, patient)
    assert row["dose"] == {"none": "the patient's programme does not train balance"}
    assert row["programme_session_id"] is None


def test_bad_records_are_refused_and_erasure_removes_them(store, patient):
    settings, result = _game()
    with pytest.raises(ValidationError) as info:
        store.training.record(patient["id"], game="golf", level=9, settings=settings, result={"score": 140},
                              minutes=-1, completed=True, actor=ACTOR)
    assert set(info.value.fields) == {"game", "level", "minutes", "score"}
    with pytest.raises(NotFound):
        store.training.record(999, game="steady", level=1, settings=settings, result=result, minutes=1.0,
                              completed=True, actor=ACTOR)
    row = _record(store, patient)
    store.patients.erase(patient["id"], patient["identifier"], actor=ACTOR)
    with pytest.raises(NotFound):
        store.training.get(row["id"])
