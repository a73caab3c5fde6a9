"""The change beside a walk test's value on the visit results and the visit PDF compares like with like:
the visit's value (the mean over the visit's trials, results.summarise) against the previous visit's
(its sessions grouped as the visit page groups them, report.visit_numbers, and the same mean), the MDC's
baseline group read from the previous visit's value; a setting the clinician entered (the treadmill's
belt speed) against the previous visit's setting(s).

Before, the reference took the history's last session of the visit against the session just before it,
which could be the visit's own first session: the page showed the visit's mean 0.45 m/s beside
"+0.10 m/s since <the same morning, 09:00>" (0.50 against 0.40), read against the MDC of the group of
0.40 m/s."""

from __future__ import annotations

import pytest

from station.protocols.report import patient_history, session_results
from station.reports.build import make_report
from station.store.store import Store

from reports_support import ACTOR, pdf_text

TEN_METRE = "ten-metre-walk"
TREADMILL = "backward-treadmill"


def _session(store, patient_id: int, started_at: str, protocol: str, condition: str, metrics: dict,
             walk: dict | None = None) -> int:
    """A session with one valid walk trial of ``protocol``'s ``condition`` measuring ``metrics``."""
    session = store.sessions.create(patient_id, {"label": protocol, "started_at": started_at}, actor=ACTOR)
    writer = store.trials.start_trial(session["id"], protocol, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": protocol, "condition": condition, "label": condition, "trial": 1, "attempt": 1, "valid": True,
               "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [], "completed": True,
               "duration_s": 120.0, "time_held_s": None, **({"walk": walk} if walk else {})}
    writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                   "metrics": metrics, "trial": outcome}, valid=True)
    return session["id"]


def _walk(speed_m_s: float, cadence: float = 96.0) -> dict:
    return {"walk_time_s": 10.0 / speed_m_s, "walk_speed_m_s": speed_m_s, "cadence_steps_min": cadence,
            "step_time_cv_pct": 4.1, "stride_time_cv_pct": 2.9, "step_symmetry": 0.91, "steps": 13}


def _belt(belt_m_s: float, cadence: float) -> dict:
    return {"walking_min": 19.6, "planned_min": 20.0, "pauses": 1, "pause_s": 5.0, "steps": 1890,
            "cadence_steps_min": cadence, "step_time_cv_pct": 4.2, "walk_time_s": 1176.0, "walk_speed_m_s": belt_m_s,
            "belt_speed_m_s": belt_m_s, "walk_distance_m": 1176.0 * belt_m_s}


@pytest.fixture
def visits(tmp_path):
    """A patient after stroke (the 10-metre walk's MDC by group of comfortable speed, Hosoi et al. 2023) seen
    at two visits a week apart, each of two 10-metre-walk sessions 30 min apart (comfortable 0.30 and
    0.46 m/s, visit mean 0.38; then 0.40 and 0.50, visit mean 0.45), and a treadmill session at each
    (belt 0.50 m/s; then two at 0.60 m/s, cadence 90 then 96 and 100 steps/min)."""
    store = Store.open(tmp_path / "data")
    patient = store.patients.create({"identifier": "VISIT-1", "birth_year": 1952, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=ACTOR)
    ids = {}
    for visit, day, speeds, belts in ((1, "2026-11-02", (0.30, 0.46), ((0.5, 90.0),)),
                                      (2, "2026-11-09", (0.40, 0.50), ((0.6, 96.0), (0.6, 100.0)))):
        ids[visit] = [_session(store, patient["id"], f"{day}T09:{minute:02d}:00+00:00", TEN_METRE, "comfortable",
                               _walk(speed)) for minute, speed in zip((0, 30), speeds)]
        ids[visit] += [_session(store, patient["id"], f"{day}T10:{minute:02d}:00+00:00", TREADMILL, "session",
                                _belt(belt, cadence), {"setting": "treadmill", "belt_speed_m_s": belt})
                       for minute, (belt, cadence) in zip((0, 30), belts)]
    yield store, patient["id"], ids
    store.close()


def _measure(doc: dict, protocol: str, metric: str) -> dict:
    section = next(s for s in doc["protocols"] if s["protocol"] == protocol)
    return next(m for m in section["conditions"][0]["key_measures"] if m["metric"] == metric)


def _ref(measure: dict, kind: str) -> dict:
    [ref] = [r for r in measure["references"] if r["kind"] == kind]
    return ref


def test_the_visit_value_changes_against_the_previous_visit_value(visits, protocols):
    store, _patient, ids = visits
    doc = session_results(store, ids[2][-1], protocols, actor=ACTOR, visit=True)
    speed = _measure(doc, TEN_METRE, "walk_speed_m_s")
    assert speed["value"] == pytest.approx(0.45)  # the visit's mean, as before
    ref = _ref(speed, "change")
    assert ref["previous"]["value"] == pytest.approx(0.38)  # the previous visit's mean (0.30, 0.46), not 0.40 this morning
    assert ref["previous"]["started_at"].startswith("2026-11-02T09:00")
    assert ref["previous"]["session_ids"] == ids[1][:2] and ref["previous"]["sessions"] == 2
    assert ref["change"] == pytest.approx(0.07)  # 0.45 - 0.38 (was 0.50 - 0.40 = +0.10, same visit)
    # the MDC of the previous visit's group (0.38 m/s: below 0.4, 0.05 m/s), not of this morning's 0.40 m/s (0.11)
    assert ref["mdc"]["value"] == 0.05 and ref["beyond_mdc"] is True
    assert "0.38 m/s at the earlier visit" in ref["mdc"]["population"], ref["mdc"]["population"]
    assert ref["mdc_verdict"]["tone"] == "better"

    # a measured value on the treadmill, but at 2.2 km/h against the previous visit's 1.8 km/h: cadence is compared at
    # one belt speed only (tests/reports/test_treadmill_plans.py), so no change (before: +8.0, 98 - 90)
    cadence = _ref(_measure(doc, TREADMILL, "cadence_steps_min"), "change")
    assert cadence["change"] is None and cadence["not_compared"] == "not compared: belt speed 1.8 vs 2.2 km/h", cadence
    steps = _ref(_measure(doc, TREADMILL, "steps"), "change")  # a count of the same 20-min plan: compared, as counted
    assert steps["change"] == 0 and not steps.get("not_compared"), steps


def test_the_first_visit_has_no_change_even_with_two_sessions(visits, protocols):
    store, _patient, ids = visits
    doc = session_results(store, ids[1][0], protocols, actor=ACTOR, visit=True)
    speed = _measure(doc, TEN_METRE, "walk_speed_m_s")
    assert speed["value"] == pytest.approx(0.38)
    ref = _ref(speed, "change")
    assert ref["previous"] is None and ref["change"] is None  # was +0.16 "since" the visit's own first session


def test_a_belt_speed_changes_against_the_previous_visit_setting(visits, protocols):
    store, _patient, ids = visits
    doc = session_results(store, ids[2][-1], protocols, actor=ACTOR, visit=True)
    ref = _ref(_measure(doc, TREADMILL, "walk_speed_m_s"), "entered")
    assert ref["previous"]["settings"] == [0.5] and ref["previous"]["value"] == 0.5
    assert ref["change"] == pytest.approx(0.1)  # both sessions of this visit at 0.60 m/s (was "unchanged" against 0.60)
    assert not {"mdc", "beyond_mdc", "mdc_verdict"} & set(ref)


def test_sessions_at_different_belt_speeds_are_each_said_and_no_change_made_up(visits, protocols):
    store, patient, ids = visits
    _session(store, patient, "2026-11-16T10:00:00+00:00", TREADMILL, "session", _belt(0.5, 99.0),
             {"setting": "treadmill", "belt_speed_m_s": 0.5})
    third = _session(store, patient, "2026-11-16T10:30:00+00:00", TREADMILL, "session", _belt(0.7, 101.0),
                     {"setting": "treadmill", "belt_speed_m_s": 0.7})
    doc = session_results(store, third, protocols, actor=ACTOR, visit=True)
    ref = _ref(_measure(doc, TREADMILL, "walk_speed_m_s"), "entered")
    assert ref["previous"]["settings"] == [0.6, 0.6] and ref["change"] is None  # 0.5 and 0.7 against 0.6: each said
    later = session_results(store, ids[2][-1], protocols, actor=ACTOR, visit=True)  # and from the later visit's side
    assert _ref(_measure(later, TREADMILL, "walk_speed_m_s"), "entered")["change"] == pytest.approx(0.1)


def test_the_visit_pdf_says_the_change_since_the_previous_visit(visits, protocols, clinic, poppler):
    store, _patient, ids = visits
    text = pdf_text(make_report("session", store, ids[2][-1], protocols=protocols, clinic=clinic, actor=ACTOR))
    assert "Since the visit of 2026-11-02 (0.38 m/s, mean of 2 sessions): change +0.07 m/s" in text, text
    assert "Set +0.4 km/h since the visit of 2026-11-02, when it was 1.8 km/h (0.50 m/s)" in text, text


def test_the_history_keeps_a_point_a_session_and_says_so(visits, protocols):
    store, patient, _ids = visits
    series = next(s for s in patient_history(store, patient, protocols, actor=ACTOR)["series"]
                  if s["protocol"] == TEN_METRE and s["metric"] == "walk_speed_m_s")
    assert [p["value"] for p in series["points"]] == [0.30, 0.46, 0.40, 0.50]
    assert series["change"] == pytest.approx(0.20)  # last session against the first, as the history page says


def test_the_history_pdf_says_its_values_are_a_session_s(visits, protocols, clinic, poppler):
    store, patient, _ids = visits
    text = pdf_text(make_report("patient", store, patient, protocols=protocols, clinic=clinic, actor=ACTOR))
    # was "Each value is the mean of the test's valid trials at one visit": four values at two visits here
    assert "Each value is the mean of the test's valid trials in one session" in text, text
    assert "at one visit" not in text
    assert "Measured 4 times at 2 visits; first 0.30 m/s (2026-11-02), last 0.50 m/s (2026-11-09), change +0.20 m/s" in text, text
