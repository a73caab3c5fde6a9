"""The visit PDF's and history PDF's numbers and words of walk tests read as a clinician means them:
a crossed cut-off says the verdict for this patient ("10.28 s: high fall risk (slower than 4.5 s)"), not
the source's sentence alone; a value, a change and an MDC print at their unit's precision ("0.54 m/s",
not "0.5431 m/s"), a change always signed, a change of a percentage in points; a treadmill's belt speed
as the clinician typed it (km/h); a withheld step length says why; counts are visits and tests, with
plain plurals; a trial's storage state ("(complete)") is not printed."""

from __future__ import annotations

import time

import pytest

from station.protocols.report import session_results
from station.reports.build import make_report
from station.store.store import Store

from reports_support import ACTOR, pdf_text

pytestmark = pytest.mark.usefixtures("poppler")

DAY = 86400.0


@pytest.fixture
def clinic_store(tmp_path):
    """A fresh store whose wall clock the test moves (visits weeks apart) and a patient after stroke."""
    clock = {"t": time.time() - 60 * DAY}
    store = Store.open(tmp_path / "data", wall_clock=lambda: clock["t"])
    patient = store.patients.create({"identifier": "WORDS-1", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=ACTOR)
    yield store, patient["id"], clock
    store.close()


def _walk(store, session_id: int, protocol: str, condition: str, metrics: dict, walk: dict | None = None,
          valid: bool = True) -> int:
    writer = store.trials.start_trial(session_id, protocol, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": protocol, "condition": condition, "label": condition, "trial": 1, "attempt": 1,
               "valid": valid, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
               "completed": True, "duration_s": 60.0, "time_held_s": None,
               "walk": {"setting": "overground", "initial_contacts_s": [], **(walk or {})}}
    writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                   "metrics": metrics, "trial": outcome}, valid=valid)
    return writer.trial_id if hasattr(writer, "trial_id") else 0


def _words(store, protocols, clinic, kind: str, object_id: int) -> str:
    pdf = make_report(kind, store, object_id, protocols=protocols, clinic=clinic, actor=ACTOR, paper="a4")
    return " ".join(pdf_text(pdf).split())


def _older_adult(store) -> int:
    """A patient of the 3-m backward walk's cut-offs' population (born 1950, no condition recorded)."""
    return store.patients.create({"identifier": "WORDS-2", "birth_year": 1950, "sex": "F", "conditions": []},
                                 actor=ACTOR)["id"]


def test_a_crossed_cut_off_says_the_verdict_for_the_patient(clinic_store, protocols, clinic):
    store, _patient_id, _clock = clinic_store
    patient_id = _older_adult(store)
    session = store.sessions.create(patient_id, {"label": "3mbw"}, actor=ACTOR)
    _walk(store, session["id"], "backward-walk-3m", "fast", {"walk_time_s": 10.28, "walk_speed_m_s": 0.2918, "steps": 23},
          {"walk_time_s": 10.28, "walk_distance_m": 3.0, "walk_speed_m_s": 0.2918})
    (key,) = [m for c in session_results(store, session["id"], protocols, actor=ACTOR)["protocols"][0]["conditions"]
              for m in c["key_measures"] if m["metric"] == "walk_time_s"]
    carter = next(r for r in key["references"] if r.get("above") == 4.5)
    assert (carter["verdict"], carter["finding"], carter["limit_words"]) == ("above", "high fall risk", "slower than 4.5 s")
    text = _words(store, protocols, clinic, "session", session["id"])
    assert "10.28 s: high fall risk (slower than 4.5 s). The cut-off: 3-m backward walk slower than 4.5 s" in text, text
    assert "10.28 s: in the range of older adults who had fallen (slower than 5.5 s)" in text
    assert "Steps (whole recording)" in text  # the steps of the whole recording, not of the 3 timed metres
    assert "0.29 m/s" in text and "0.2918" not in text


def test_a_whole_measured_value_keeps_the_pages_decimals_and_a_count_reads_whole(clinic_store, protocols, clinic):
    """A step symmetry of exactly 1 printed "1" in the PDF where the visit's page says "1.00" (a measure
    without a unit rule: three significant digits, Station.fmtSig); the steps, a count, stay "23"."""
    store, patient_id, _clock = clinic_store
    session = store.sessions.create(patient_id, {"label": "3mbw"}, actor=ACTOR)
    _walk(store, session["id"], "backward-walk-3m", "fast",
          {"walk_time_s": 10.0, "walk_speed_m_s": 0.3, "steps": 23, "step_symmetry": 1.0},
          {"walk_time_s": 10.0, "walk_distance_m": 3.0, "walk_speed_m_s": 0.3})
    text = _words(store, protocols, clinic, "session", session["id"])
    assert "Step symmetry (1: both steps alike) 1.00 " in text, text
    assert "Steps (whole recording) 23 " in text and "23.0" not in text


def test_a_met_cut_off_reads_within_the_criterion(clinic_store, protocols, clinic):
    store, _patient_id, _clock = clinic_store
    patient_id = _older_adult(store)
    session = store.sessions.create(patient_id, {"label": "3mbw"}, actor=ACTOR)
    _walk(store, session["id"], "backward-walk-3m", "fast", {"walk_time_s": 4.99, "walk_speed_m_s": 0.601},
          {"walk_time_s": 4.99, "walk_distance_m": 3.0, "walk_speed_m_s": 0.601})
    text = _words(store, protocols, clinic, "session", session["id"])
    # a fall-risk cut-off not crossed never says "criterion met" (read as screened positive; outside review)
    assert "4.99 s: not slower than the 5.5 s fall-history cut-off (at or below 5.5 s)." in text and "criterion" not in text, text
    assert "4.99 s: high fall risk (slower than 4.5 s)" in text


def test_a_change_is_signed_at_its_unit_s_precision_and_a_cv_change_in_points(clinic_store, protocols, clinic):
    store, patient_id, clock = clinic_store
    ids = []
    for i, (speed, cv) in enumerate(((0.5431, 4.1), (0.6, 5.3))):
        clock["t"] += 25 * DAY * (i > 0)
        session = store.sessions.create(patient_id, {"label": "10 m"}, actor=ACTOR)
        _walk(store, session["id"], "ten-metre-walk", "comfortable",
              {"walk_time_s": 6.0 / speed, "walk_speed_m_s": speed, "cadence_steps_min": 96.4, "stride_time_cv_pct": cv},
              {"walk_time_s": 6.0 / speed, "walk_distance_m": 6.0, "walk_speed_m_s": speed})
        ids.append(session["id"])
    text = _words(store, protocols, clinic, "session", ids[-1])
    assert "change +0.06 m/s" in text, text  # a rise signed, as a fall is
    assert "(0.54 m/s)" in text and "0.5431" not in text and "0.004850" not in text
    assert "change +1.2 points" in text and "1.200 %" not in text  # a CV's change is in percentage points
    assert "96.4 steps/min" in text and "96.40" not in text
    history = _words(store, protocols, clinic, "patient", patient_id)
    assert "2 visits (2 tests with trials)" in history and "session(s)" not in history, history
    assert "Measured at 2 visits" in history
    assert "change +0.06 m/s" in history
    if "Stride-time variability" in history:  # a key series there: its change in percentage points
        assert "change +1.2 points" in history


def test_a_treadmill_belt_speed_is_printed_as_entered_in_km_h(clinic_store, protocols, clinic):
    store, patient_id, _clock = clinic_store
    session = store.sessions.create(patient_id, {"label": "treadmill"}, actor=ACTOR)
    _walk(store, session["id"], "backward-treadmill", "session",
          {"walking_min": 1.982, "planned_min": 2.0, "steps": 150, "cadence_steps_min": 80.0, "walk_speed_m_s": 0.5},
          {"setting": "treadmill", "walking_min": 1.982, "planned_min": 2.0, "belt_speed_m_s": 0.5, "walk_speed_m_s": 0.5})
    text = _words(store, protocols, clinic, "session", session["id"])
    assert "Belt speed (entered) 1.8 km/h (0.50 m/s)" in text, text
    assert "0.5000" not in text and "1.982" not in text and "1 min 59 s" in text  # minutes and seconds, not "2.0 min"


def test_a_withheld_step_length_says_why_and_counts_read_plainly(clinic_store, protocols, clinic):
    store, patient_id, _clock = clinic_store
    session = store.sessions.create(patient_id, {"label": "3mbw"}, actor=ACTOR)
    withheld = {"walking_speed_m_s": 0.731, "step_length_m": 0.4, "off_pct": 32.9, "words": "long words"}
    _walk(store, session["id"], "backward-walk-3m", "fast", {"walk_time_s": 5.45, "walk_speed_m_s": 0.55, "steps": 12},
          {"walk_time_s": 5.45, "walk_distance_m": 3.0, "walk_speed_m_s": 0.55, "imu_estimate_withheld": withheld})
    lines = [t for c in session_results(store, session["id"], protocols, actor=ACTOR)["protocols"][0]["conditions"]
             for t in c["trials"]]
    said = ("Step length not given: the lower-back sensor's speed estimate (0.73 m/s) is 33 % above the light gates' "
            "0.55 m/s.")
    assert lines[0]["step_length_withheld"] == said  # the visit results' trial line (results.js shows it)
    text = _words(store, protocols, clinic, "session", session["id"])
    assert said in text
    assert ": 1 test, 1 trial." in text and "session(s)" not in text and "trial(s)" not in text, text
    assert "1 valid of 1 analysed trial." in text


def test_a_walk_not_completed_does_not_print_the_storage_state(clinic_store, protocols, clinic):
    store, patient_id, _clock = clinic_store
    session = store.sessions.create(patient_id, {"label": "3mbw"}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], "backward-walk-3m", "fast", {"method": "nominal"}, 100.0, actor=ACTOR)
    message = "The patient stopped walking 3.2 s after the go."
    outcome = {"protocol": "backward-walk-3m", "condition": "fast", "label": "fast", "trial": 1, "attempt": 1,
               "valid": False, "end_reason": "invalid", "issues": [{"code": "person_stopped", "message": message, "at_s": None}],
               "hold_end": None, "warnings": [], "completed": False, "duration_s": 60.0, "time_held_s": None,
               "walk": {"setting": "overground", "walk_time_s": None, "initial_contacts_s": [0.7, 1.3]}}
    writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test", "metrics": {},
                   "note": "Invalid trial: no walk measures.", "trial": outcome}, valid=False, reason=message)
    text = _words(store, protocols, clinic, "session", session["id"])
    assert f": walk not completed: {message}" in text and "(complete)" not in text, text
