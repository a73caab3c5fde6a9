"""A walk test the patient did not finish (stopped before the stop gate, or never started) reads on
the visit results as a walk not completed, not only as an invalid trial; other invalid walk trials
(a false gate order, a beam out of line) and a clinician's own judgement do not."""

from __future__ import annotations

from station.protocols.loader import builtin_protocols
from station.protocols.report import session_results

from dashboard_support import ACTOR

BACKENDS = ("sqlite", "postgresql")
"""The tests using the store run on the station's SQLite and on the hub's PostgreSQL (conftest)."""


def invalid_walk(store, session_id: int, code: str, message: str) -> dict:
    writer = store.trials.start_trial(session_id, "backward-walk-3m", "fast", {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": "backward-walk-3m", "condition": "fast", "label": "fast", "trial": 1, "attempt": 1,
               "valid": False, "end_reason": "invalid", "issues": [{"code": code, "message": message, "at_s": None}],
               "hold_end": None, "warnings": [], "completed": False, "duration_s": 60.0, "time_held_s": None,
               "walk": {"setting": "overground", "walk_time_s": None, "initial_contacts_s": [0.7, 1.3]}}
    doc = {"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test", "metrics": {},
           "note": "Invalid trial: no walk measures.", "trial": outcome}
    return writer.finish(doc, valid=False, reason=message)


def lines(store, session_id: int) -> list[dict]:
    doc = session_results(store, session_id, builtin_protocols(), actor=ACTOR)
    return doc["protocols"][0]["conditions"][0]["trials"]


def test_a_patient_who_stopped_or_never_started_did_not_complete_the_walk(store, patient):
    session = store.sessions.create(patient["id"], {"label": "3mbw"}, actor=ACTOR)
    invalid_walk(store, session["id"], "person_stopped", "The patient stopped walking 3.2 s after the go.")
    invalid_walk(store, session["id"], "gate_not_reached", "The patient did not start walking.")
    assert [t["walk_not_completed"] for t in lines(store, session["id"])] == [True, True]


def test_a_gate_fault_or_a_clinicians_judgement_is_not_a_walk_not_completed(store, patient):
    session = store.sessions.create(patient["id"], {"label": "3mbw"}, actor=ACTOR)
    invalid_walk(store, session["id"], "gate_order", "The gate at 3 m was passed before the gate at 1 m.")
    judged = invalid_walk(store, session["id"], "person_stopped", "The patient stopped walking 3.2 s after the go.")
    store.trials.judge(judged["id"], {"valid": False, "validity_reason": "she held the rail"}, actor=ACTOR)
    assert [t["walk_not_completed"] for t in lines(store, session["id"])] == [False, False]
