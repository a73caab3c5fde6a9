"""Hosoi et al. (2023) published the 10-metre walk's MDC after stroke by group of comfortable speed
(comfortable pace 0.05 / 0.11 / 0.21 m/s below 0.4, 0.4-0.8, above 0.8 m/s; fast pace 0.04 / 0.12 /
0.19 m/s, grouped by the comfortable speed too). A change is read against the group of the session it
is measured from, on the visit results, the history and the programme; before, the 10-metre walk
had "no MDC published" and a clinician could not tell a real change from noise."""

from __future__ import annotations

import pytest

from station.programmes.change import at_programme_baseline, comparable_mdc, outcome_change
from station.protocols.loader import builtin_protocols
from station.protocols.report import patient_history, session_results
from station.reports.references import Citations, reference_words

from dashboard_support import ACTOR
from test_walk_results import WALK_VALUES

PROTOCOL = "ten-metre-walk"


def walk_session(store, patient_id: int, speeds: dict[str, float]) -> dict:
    """A session of the 10-metre walk with one valid trial per condition (``{"comfortable": 0.62}``)."""
    session = store.sessions.create(patient_id, {"label": PROTOCOL}, actor=ACTOR)
    for condition, speed in speeds.items():
        writer = store.trials.start_trial(session["id"], PROTOCOL, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
        outcome = {"protocol": PROTOCOL, "condition": condition, "label": condition, "trial": 1, "attempt": 1,
                   "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
                   "completed": True, "duration_s": 120.0, "time_held_s": None}
        writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                       "metrics": {**WALK_VALUES, "walk_speed_m_s": speed}, "trial": outcome}, valid=True)
    return session


def speed_change(store, session_id: int, condition: str, visit: bool = False) -> dict:
    doc = session_results(store, session_id, builtin_protocols(), actor=ACTOR, visit=visit)
    cond = next(c for c in doc["protocols"][0]["conditions"] if c["id"] == condition)
    speed = next(m for m in cond["key_measures"] if m["metric"] == "walk_speed_m_s")
    return next(r for r in speed["references"] if r["kind"] == "change")


@pytest.fixture
def after_stroke(store):
    return store.patients.create({"identifier": "S-10", "birth_year": 1950, "sex": "F", "conditions": ["stroke:left"]},
                                 actor=ACTOR)


def test_a_comfortable_speed_change_is_read_against_the_group_it_started_from(store, after_stroke):
    walk_session(store, after_stroke["id"], {"comfortable": 0.35})
    second = walk_session(store, after_stroke["id"], {"comfortable": 0.42})  # +0.07 from the slowest group
    change = speed_change(store, second["id"], "comfortable")
    assert change["mdc"]["value"] == 0.05 and change["beyond_mdc"] is True
    assert "this patient's group: below 0.4 m/s (0.35 m/s at the earlier session)" in change["mdc"]["population"]
    assert "Hosoi" in change["mdc"]["citation"]
    third = walk_session(store, after_stroke["id"], {"comfortable": 0.50})  # +0.08, now from the 0.4-0.8 group
    change = speed_change(store, third["id"], "comfortable")
    assert change["mdc"]["value"] == 0.11 and change["beyond_mdc"] is False
    words = reference_words(change, "m/s", Citations())
    assert "MDC 0.11 m/s [1] for the group 0.4–0.8 m/s, 0.42 m/s at the earlier session: within the" in words

    history = patient_history(store, after_stroke["id"], builtin_protocols(), actor=ACTOR)
    series = next(s for s in history["series"] if s["protocol"] == PROTOCOL and s["metric"] == "walk_speed_m_s")
    assert series["mdc"]["value"] == 0.05 and series["exceeds_mdc"] is True  # +0.15 since the first session (0.35)


def test_a_fast_pace_change_is_grouped_by_the_comfortable_speed_as_published(store, after_stroke):
    walk_session(store, after_stroke["id"], {"comfortable": 0.62, "fast": 0.80})
    later = walk_session(store, after_stroke["id"], {"comfortable": 0.70, "fast": 0.93})  # fast +0.13
    change = speed_change(store, later["id"], "fast")
    # grouped by the comfortable 0.62 m/s (fast MDC 0.12), not by the fast 0.80 m/s (0.19): a real change
    assert change["mdc"]["value"] == 0.12 and change["beyond_mdc"] is True
    assert "(0.62 m/s comfortable at the earlier session)" in change["mdc"]["population"]


def test_without_the_comfortable_speed_at_the_first_session_no_group_is_guessed(store, after_stroke):
    walk_session(store, after_stroke["id"], {"fast": 0.80})
    walk_session(store, after_stroke["id"], {"fast": 0.95})
    history = patient_history(store, after_stroke["id"], builtin_protocols(), actor=ACTOR)
    fast = next(s for s in history["series"] if s["condition"] == "fast" and s["metric"] == "walk_speed_m_s")
    assert fast["mdc"] is None and fast["exceeds_mdc"] is None
    assert "depends on the comfortable speed at the first session, which was not measured then" in fast["mdc_note"]


def test_the_mdc_is_not_shown_for_a_patient_without_a_stroke(store, patient):
    walk_session(store, patient["id"], {"comfortable": 0.35})
    later = walk_session(store, patient["id"], {"comfortable": 0.45})
    change = speed_change(store, later["id"], "comfortable")
    assert change["mdc"] is None and "stroke" in change["mdc_note"]


def test_a_programme_reads_its_changes_against_the_baseline_group():
    protocols = builtin_protocols()
    mdc, note = comparable_mdc("walk_speed_m_s", protocols[PROTOCOL], "comfortable", ["stroke:left"], 76.0)
    assert note == "" and [b["value"] for b in mdc["bands"]] == [0.05, 0.11, 0.21]
    points = [{"assessment_id": a, "label": a, "week": w, "value": v}
              for a, w, v in (("baseline", 0, 0.35), ("mid", 2, 0.38), ("end", 4, 0.46))]
    resolved, note = at_programme_baseline(mdc, points)
    assert resolved["value"] == 0.05 and note == ""
    assert [c["verdict"] for c in outcome_change(points, "higher", resolved)] == ["within measurement error",
                                                                                 "real improvement"]
    assert comparable_mdc("walk_speed_m_s", protocols[PROTOCOL], "fast", ["stroke:left"], 76.0)[0] is None  # another pace
    no_stroke, why = comparable_mdc("walk_speed_m_s", protocols[PROTOCOL], "comfortable", [], 76.0)  # the patient's
    assert no_stroke is None and "stroke" in why


def test_a_first_visit_names_its_own_speed_not_an_earlier_session(store, after_stroke):
    """The group of a first visit's MDC is read from this visit's comfortable speed: the words say so, never 'the
    earlier session' (there is none); the history names the first session its change is counted from."""
    first = walk_session(store, after_stroke["id"], {"comfortable": 1.17, "fast": 1.64})
    for condition, words in (("comfortable", "this patient's group: 0.8 m/s and above (1.17 m/s at this visit)"),
                             ("fast", "(1.17 m/s comfortable at this visit)")):
        change = speed_change(store, first["id"], condition, visit=True)  # the visit page's
        assert change["previous"] is None and words in change["mdc"]["population"]
        alone = speed_change(store, first["id"], condition)["mdc"]["population"]  # the session's own results
        assert words.replace("visit", "session") in alone and "earlier" not in alone
        assert "earlier" not in change["mdc"]["population"] + change["mdc"]["band_words"]
    walk_session(store, after_stroke["id"], {"comfortable": 1.30})
    history = patient_history(store, after_stroke["id"], builtin_protocols(), actor=ACTOR)
    series = next(s for s in history["series"] if s["condition"] == "comfortable" and s["metric"] == "walk_speed_m_s")
    assert "(1.17 m/s at the first session)" in series["mdc"]["population"]
