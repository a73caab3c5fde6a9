"""A treadmill session's belt speed is the clinician's entry, not a measurement: between two sessions its
change is a change of the session's dose, said so (in km/h, as entered) without minimal-detectable-change
words, the same way on the visit results, the history page's data, the visit PDF and the ``trial`` command's
summary (the history PDF leads with the measured key measures only: no belt speed there).

Before, the belt speed got the measured measures' change line: "first session" / "+0.10 m/s since ...
No published minimal detectable change for this measure here" on the visit results and "First session
of this test: no earlier value to compare; no published MDC for this test" in the visit PDF, and the
``trial`` command printed it as "speed 0.50 m/s" (beside "time 59.22 s", the time walking again in
seconds)."""

from __future__ import annotations

import pytest

from station.commands.trial import format_summary
from station.protocols.report import patient_history, session_results, stored_result
from station.protocols.results import summarise
from station.reports.build import make_report
from station.reports.text import belt_speed
from station.store.store import Store

from reports_support import ACTOR, pdf_text

BELTS_M_S = (0.5, 0.6)
"""The belt speed entered at each session, oldest first (1.8 and 2.2 km/h)."""


def _metrics(belt_m_s: float, planned_min: float = 20.0, walking_min: float = 19.6) -> dict:
    return {"walking_min": walking_min, "planned_min": planned_min, "pauses": 1, "pause_s": 5.0, "steps": 1890,
            "cadence_steps_min": 96.5, "step_time_cv_pct": 4.2, "walk_time_s": walking_min * 60.0,
            "walk_speed_m_s": belt_m_s, "belt_speed_m_s": belt_m_s, "walk_distance_m": walking_min * 60.0 * belt_m_s}


def _trial_doc(belt_m_s: float, planned_min: float = 20.0, walking_min: float = 19.6) -> dict:
    outcome = {"protocol": "backward-treadmill", "condition": "session", "label": "session", "trial": 1, "attempt": 1,
               "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
               "completed": True, "duration_s": planned_min * 60.0, "time_held_s": None,
               "walk": {"setting": "treadmill", "belt_speed_m_s": belt_m_s, "walking_min": walking_min,
                        "planned_min": planned_min}}
    return {"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
            "metrics": _metrics(belt_m_s, planned_min, walking_min), "trial": outcome}


@pytest.fixture
def treadmill_store(tmp_path):
    """A patient after stroke with two backward treadmill sessions a week apart: (store, patient id,
    [session ids])."""
    store = Store.open(tmp_path / "data")
    patient = store.patients.create({"identifier": "BELT-1", "birth_year": 1952, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=ACTOR)
    sessions = []
    for day, belt in zip(("2026-11-02", "2026-11-09"), BELTS_M_S):
        session = store.sessions.create(patient["id"], {"label": "treadmill", "started_at": f"{day}T10:00:00+00:00"},
                                        actor=ACTOR)
        writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, 100.0,
                                          actor=ACTOR)
        writer.finish(_trial_doc(belt), valid=True)
        sessions.append(session["id"])
    yield store, patient["id"], sessions
    store.close()


def _belt_measure(doc: dict) -> dict:
    [section] = doc["protocols"]
    [condition] = section["conditions"]
    return next(m for m in condition["key_measures"] if m["metric"] == "walk_speed_m_s")


def test_the_belt_speed_change_is_a_setting_not_a_measured_change(treadmill_store, protocols):
    store, patient_id, (first, second) = treadmill_store
    belt = _belt_measure(session_results(store, second, protocols, actor=ACTOR))
    changes = [r for r in belt["references"] if r["kind"] in ("change", "entered")]
    assert len(changes) == 1 and changes[0]["kind"] == "entered", belt["references"]
    ref = changes[0]
    assert ref["previous"]["value"] == 0.5 and ref["change"] == pytest.approx(0.1)
    assert not {"mdc", "mdc_note", "mdc_verdict", "beyond_mdc"} & set(ref), ref  # nothing to read it against
    # the first session: no change to say, and no "first session" line either
    belt = _belt_measure(session_results(store, first, protocols, actor=ACTOR))
    assert [r["previous"] for r in belt["references"] if r["kind"] == "entered"] == [None]
    # a measured key measure of the same session keeps its change against the MDC
    [section] = session_results(store, second, protocols, actor=ACTOR)["protocols"]
    cadence = next(m for m in section["conditions"][0]["key_measures"] if m["metric"] == "cadence_steps_min")
    assert [r["kind"] for r in cadence["references"]] == ["change"]

    series = {s["metric"]: s for s in patient_history(store, patient_id, protocols, actor=ACTOR)["series"]}
    assert series["walk_speed_m_s"]["entered"] is True and series["walk_speed_m_s"]["mdc"] is None
    assert series["walk_speed_m_s"]["mdc_note"] == ""
    assert series["cadence_steps_min"]["entered"] is False and series["walking_min"]["entered"] is False


def test_both_pdfs_say_the_belt_speed_change_as_a_setting(treadmill_store, protocols, clinic, poppler):
    store, patient_id, (_first, second) = treadmill_store
    visit = " ".join(pdf_text(make_report("session", store, second, protocols=protocols, clinic=clinic, actor=ACTOR)).split())
    assert ("Set +0.4 km/h since the visit of 2026-11-02, when it was 1.8 km/h (0.50 m/s): a change of the session's dose, "
            "not a measured change.") in visit, visit
    row = visit[visit.index("Belt speed (entered)"):][:400]
    assert "MDC" not in row and "First session" not in row, row
    # the history PDF leads with the measured key measures only (the minutes walked, the cadence): no belt speed
    history = " ".join(pdf_text(make_report("patient", store, patient_id, protocols=protocols, clinic=clinic,
                                            actor=ACTOR)).split())
    assert "Time walking" in history and "Belt speed" not in history, history


def test_the_trial_command_says_the_belt_speed_entered_as_the_pages_do(protocols):
    protocol = protocols["backward-treadmill"]
    trial = {"id": 1, "status": "complete", "condition": "session", "valid": True, "frame_count": 0, "frames_lost": 0,
             "metrics": _trial_doc(0.5)}
    text = format_summary(summarise(protocol, [stored_result(protocol, trial)], age_y=74.0, patient_conditions=[]),
                          protocol)
    assert "belt speed (entered) 1.8 km/h (0.50 m/s)" in text, text
    assert "    speed" not in text and "time 1176" not in text, text  # not a measured speed; the time walking said once
    lines = [line.strip() for line in text.splitlines()[2:]]
    assert lines[:2] == ["time walking 19 min 36 s", "pauses (no step for 3 s or more) 1"], text


# -- two sessions in one visit: each session's setting, never their mean -----------------------------------------

VISIT = (("2026-11-09T10:00:00+00:00", 0.5, 20.0, 19.6), ("2026-11-09T10:40:00+00:00", 0.6, 10.0, 9.8))
"""Two treadmill sessions 40 min apart (one visit): (start, belt m/s, planned min, walked min); before, the visit
read "2.0 km/h (0.55 m/s)" and "Walked 14.7 of the 15 min planned", a speed and a plan nobody set."""


@pytest.fixture
def visit_store(tmp_path):
    """(store, patient id, [session ids]) of :data:`VISIT`."""
    store = Store.open(tmp_path / "data")
    patient = store.patients.create({"identifier": "BELT-2", "birth_year": 1952, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=ACTOR)
    sessions = []
    for started, belt, planned, walked in VISIT:
        session = store.sessions.create(patient["id"], {"label": "treadmill", "started_at": started}, actor=ACTOR)
        writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, 100.0,
                                          actor=ACTOR)
        writer.finish(_trial_doc(belt, planned, walked), valid=True)
        sessions.append(session["id"])
    yield store, patient["id"], sessions
    store.close()


def test_a_visits_sessions_keep_each_their_belt_speed_and_plan(visit_store, protocols, clinic, poppler):
    store, patient_id, (first, second) = visit_store
    [section] = session_results(store, second, protocols, actor=ACTOR, visit=True)["protocols"]
    [condition] = section["conditions"]
    assert condition["settings"] == {"walk_speed_m_s": [0.5, 0.6], "belt_speed_m_s": [0.5, 0.6],
                                     "planned_min": [20.0, 10.0]}, condition.get("settings")
    assert not {"walk_speed_m_s", "belt_speed_m_s", "planned_min"} & set(condition["values"]), condition["values"]
    assert condition["values"]["walking_min"] == pytest.approx(14.7)  # measured: the mean of the sessions, as before
    measures = {m["metric"]: m for m in condition["key_measures"]}
    assert measures["walk_speed_m_s"]["value"] is None and measures["walk_speed_m_s"]["settings"] == [0.5, 0.6]
    # each session against its own plan, never their mean (before: "Walked 14.7 min a session on average, of the 20
    # and 10 min planned (2 sessions, 98 %)"): tests/reports/test_treadmill_plans.py
    assert measures["walking_min"]["words"] == ("Each session against its own plan, not averaged (planned 20 and 10 min, "
                                                "belt speed 1.8 and 2.2 km/h); more is better."), measures["walking_min"]["words"]
    # the history has each session's point, the visit PDF each session's speed
    belt = next(s for s in patient_history(store, patient_id, protocols, actor=ACTOR)["series"]
                if s["metric"] == "walk_speed_m_s")
    assert [p["value"] for p in belt["points"]] == [0.5, 0.6]
    visit = " ".join(pdf_text(make_report("session", store, second, protocols=protocols, clinic=clinic, actor=ACTOR)).split())
    assert "1.8 and 2.2 km/h (0.50 and 0.60 m/s; 2 sessions)" in visit, visit
    assert "0.55" not in visit and "2.0 km/h" not in visit and "15 min" not in visit, visit


def test_one_belt_speed_for_every_session_is_that_speed(protocols):
    protocol = protocols["backward-treadmill"]
    trials = [{"id": i, "status": "complete", "condition": "session", "valid": True, "frame_count": 0, "frames_lost": 0,
               "metrics": _trial_doc(0.5, 20.0, walked)} for i, walked in ((1, 19.6), (2, 18.0))]
    [condition] = summarise(protocol, [stored_result(protocol, t) for t in trials])["conditions"]
    assert condition["values"]["walk_speed_m_s"] == 0.5 and condition["values"]["planned_min"] == 20.0
    assert condition["settings"]["walk_speed_m_s"] == [0.5, 0.5]
    assert belt_speed(condition["settings"]["walk_speed_m_s"]) == "1.8 km/h (0.50 m/s)"
