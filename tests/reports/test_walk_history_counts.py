"""A walk's counts in the patient's history, and two sessions of one visit named as sessions.

- A count is said as counted in the history too: a session of three 10-metre walks of 13, 13 and 14 steps is
  the point "13, 13 and 14 steps (3 trials; median 13)", drawn at the median (one of the counts), never their
  mean, 13.33 steps; the history had no steps at all before, nor pauses. Two trials (a stumbled third marked
  invalid) are charted at a count one of them made, the lower of the two, never a half count (12.5 steps), so
  the change is whole too.
- A backward-treadmill programme's pauses and steps have a history beside the time walking: pauses lead
  (fewer is better, no published MDC), steps on demand; the history PDF lists the pauses with the other key
  measures, as counted ("first 3 pauses ..., last 1 pause ..., change -2 pauses").
- A visit that ran a test in two sessions lists its trials by session (``session``: number and start), so the
  page reads "Session 1 (10:02)", "Session 2 (10:40)", not "Attempt 1" twice; the number is the session's in the
  visit, the same whichever condition it ran."""

from __future__ import annotations

import pytest

from station.protocols.report import patient_history, session_results
from station.reports.build import make_report
from station.reports.charts import series_chart
from station.store.store import Store

from reports_support import ACTOR, pdf_text
from test_walk_change_by_visit import TEN_METRE, TREADMILL, _belt

WALK = {"walk_time_s": 12.0, "walk_speed_m_s": 0.5, "cadence_steps_min": 90.0}


def _trials(store, session_id: int, protocol: str, condition: str, each: list[dict]) -> None:
    """Valid walk trials 1, 2, ... of ``protocol``'s ``condition`` in the session, measuring ``each``'s metrics."""
    for number, metrics in enumerate(each, start=1):
        writer = store.trials.start_trial(session_id, protocol, condition, {"method": "nominal"}, 100.0, actor=ACTOR)
        outcome = {"protocol": protocol, "condition": condition, "label": condition, "trial": number, "attempt": 1,
                   "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
                   "completed": True, "duration_s": 20.0, "time_held_s": None}
        writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                       "metrics": metrics, "trial": outcome}, valid=True)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


def _patient(store, identifier: str) -> int:
    return store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "M"}, actor=ACTOR)["id"]


def _session(store, patient_id: int, started_at: str, label: str) -> int:
    return store.sessions.create(patient_id, {"label": label, "started_at": started_at}, actor=ACTOR)["id"]


def _series(store, patient_id: int, protocols, protocol: str, metric: str) -> dict:
    return next(s for s in patient_history(store, patient_id, protocols, actor=ACTOR)["series"]
                if s["protocol"] == protocol and s["metric"] == metric)


def test_a_session_s_step_counts_are_counts_in_the_history(store, protocols):
    patient = _patient(store, "HIST-STEPS")
    first = _session(store, patient, "2026-11-02T09:00:00+00:00", "10-metre walk")
    _trials(store, first, TEN_METRE, "comfortable", [{**WALK, "steps": n} for n in (13, 13, 14)])
    second = _session(store, patient, "2026-11-09T09:00:00+00:00", "10-metre walk")
    _trials(store, second, TEN_METRE, "comfortable", [{**WALK, "steps": n} for n in (12, 13)])
    steps = _series(store, patient, protocols, TEN_METRE, "steps")
    one, two = steps["points"]
    assert one["counts"] == [13, 13, 14] and one["value"] == 13  # the median, one of the counts (the mean: 13.33)
    assert one["words"] == "13, 13 and 14 steps (3 trials; median 13)"
    assert two["counts"] == [12, 13] and two["value"] == 12  # a count trial 1 made, not the median, 12.5 steps
    assert two["words"] == "12 and 13 steps (2 trials; charted: 12, the lower of the two)"
    assert steps["summary"] == "median_low" and steps["count"] and steps["unit"] == "steps" and not steps["key"]
    assert steps["label"] == "Steps (whole recording)"  # from the go to past the last gate, not the timed 10 m
    assert steps["change"] == -1 and steps["change_words"] == "-1 step (between the counts charted for each session)"
    speed = _series(store, patient, protocols, TEN_METRE, "walk_speed_m_s")  # a measured value stays the mean, said so
    assert speed["summary"] == "mean" and not speed["count"] and "counts" not in speed["points"][0]


def test_a_treadmill_programme_s_pauses_and_steps_have_a_history(store, protocols, clinic, poppler):
    patient = _patient(store, "HIST-PAUSES")
    for day, pauses, steps, walked in (("02", 3, 1510, 17.0), ("05", 2, 1702, 18.5), ("09", 1, 1890, 19.6)):
        session = _session(store, patient, f"2026-11-{day}T10:00:00+00:00", "treadmill")
        _trials(store, session, TREADMILL, "session",
                [{**_belt(0.5, 96.0), "pauses": pauses, "pause_s": 5.0 * pauses, "steps": steps, "walking_min": walked}])
    pauses = _series(store, patient, protocols, TREADMILL, "pauses")
    assert [p["counts"] for p in pauses["points"]] == [[3], [2], [1]]
    assert [p["words"] for p in pauses["points"]] == ["3 pauses", "2 pauses", "1 pause"]
    assert pauses["key"] and pauses["better"] == "lower" and pauses["better_words"] == "fewer is better"
    assert pauses["mdc"] is None and pauses["change"] == -2 and pauses["change_words"] == "-2 pauses"
    steps = _series(store, patient, protocols, TREADMILL, "steps")
    assert [p["words"] for p in steps["points"]] == ["1510 steps", "1702 steps", "1890 steps"] and not steps["key"]
    assert steps["better"] is None and "the dose" in steps["better_words"]
    minutes = _series(store, patient, protocols, TREADMILL, "walking_min")
    assert minutes["better_words"] == "more is better at the same belt speed"

    text = " ".join(pdf_text(make_report("patient", store, patient, protocols=protocols, clinic=clinic,
                                         actor=ACTOR)).split())
    assert "on the treadmill: Pauses (no step for 3 s or more), fewer is better" in text, text
    assert "first 3 pauses (2026-11-02), last 1 pause (2026-11-09), change -2 pauses" in text, text
    assert "No minimal detectable change is published for this measure in this test" in text, text
    assert "except a walk's counts (steps, pauses)" in text, text


def test_a_count_s_chart_reaches_whole_numbers():
    """A patient who never paused: an axis of 0 to 4, not ticks of thousandths (0.0005 pauses)."""
    points = [("2026-11-02T10:00:00Z", 0.0), ("2026-11-09T10:00:00Z", 0.0)]
    ticks = [s.text for s in series_chart(points, width=300, height=120, unit="pauses", floor=0.0,
                                          top_at_least=4.0).getContents() if hasattr(s, "text")]
    assert "4" in ticks and not any("0.0" in t for t in ticks), ticks


def test_two_sessions_of_a_visit_name_their_trials_by_session(store, protocols):
    patient = _patient(store, "HIST-SESSIONS")
    ids = []
    for minute in ("02", "40"):
        ids.append(_session(store, patient, f"2026-11-09T10:{minute}:00+00:00", "10-metre walk"))
        _trials(store, ids[-1], TEN_METRE, "comfortable", [{**WALK, "steps": 13}] * 2)
    doc = session_results(store, ids[0], protocols, actor=ACTOR, visit=True)
    [condition] = doc["protocols"][0]["conditions"]
    named = [(t["session"]["number"], t["session"]["started_at"][11:16], t["trial"]) for t in condition["trials"]]
    assert named == [(1, "10:02", 1), (1, "10:02", 2), (2, "10:40", 1), (2, "10:40", 2)], named
    alone = session_results(store, ids[0], protocols, actor=ACTOR)  # one session: its trials and attempts, as before
    assert all("session" not in t for t in alone["protocols"][0]["conditions"][0]["trials"])


def test_a_visit_s_sessions_have_one_number_whatever_the_condition(store, protocols):
    """Sessions 1, 2 and 3 of one visit: comfortable pace run in 1 and 3, fast in 2 and 3. Session 3 is "Session 3"
    under both (it was "Session 2" under both, and "Session 1" was the first session under one, the second under
    the other); the visit's sessions (the notes') carry the same numbers."""
    patient = _patient(store, "HIST-THREE")
    ids = [_session(store, patient, f"2026-11-09T10:{minute}:00+00:00", "10-metre walk") for minute in ("00", "20", "40")]
    for sid, conditions in zip(ids, (("comfortable",), ("fast",), ("comfortable", "fast"))):
        for condition in conditions:
            _trials(store, sid, TEN_METRE, condition, [{**WALK, "steps": 13}])
    empty = _session(store, patient, "2026-11-09T10:50:00+00:00", "10-metre walk")  # opened, nothing recorded
    doc = session_results(store, ids[1], protocols, actor=ACTOR, visit=True)
    named = {c["id"]: [(t["session_id"], t["session"]["number"], t["session"]["started_at"][11:16]) for t in c["trials"]]
             for c in doc["protocols"][0]["conditions"]}
    assert named == {"comfortable": [(ids[0], 1, "10:00"), (ids[2], 3, "10:40")],
                     "fast": [(ids[1], 2, "10:20"), (ids[2], 3, "10:40")]}, named
    assert [(s["id"], s["number"]) for s in doc["sessions"]] == [(ids[0], 1), (ids[1], 2), (ids[2], 3)]
    assert empty not in [s["id"] for s in doc["sessions"]]  # not the visit's: no number the page never shows


def test_the_visit_page_numbers_its_sessions_as_the_history_does(store, protocols):
    """A visit's sessions at 10:00 and 10:40 ran the 10-metre walk; one at 10:20 was opened and left (no trial). The
    visit results number them as the history's chart does (one helper, report.session_numbers_in_visit), whichever
    of them the page is opened on: 10:40 is "Session 2" on both. Before, the page opened on the session without a
    trial counted it: the 10:40 session's trials read "Session 3 (10:40)" beside the
    chart's "Session 2" (the page can be opened on any session of the visit: /sessions/<id>)."""
    patient = _patient(store, "HIST-EMPTY-MIDDLE")
    first = _session(store, patient, "2026-11-09T10:00:00+00:00", "10-metre walk")
    empty = _session(store, patient, "2026-11-09T10:20:00+00:00", "10-metre walk")
    last = _session(store, patient, "2026-11-09T10:40:00+00:00", "10-metre walk")
    for sid in (first, last):
        _trials(store, sid, TEN_METRE, "comfortable", [{**WALK, "steps": 13}])
    charted = {s["id"]: (s["number"], s["visit_sessions"])
               for s in patient_history(store, patient, protocols, actor=ACTOR)["sessions"]}
    assert charted == {first: (1, 2), last: (2, 2)}, charted
    for opened in (first, empty, last):
        doc = session_results(store, opened, protocols, actor=ACTOR, visit=True)
        [condition] = doc["protocols"][0]["conditions"]
        lines = {t["session_id"]: t["session"]["number"] for t in condition["trials"]}
        assert lines == {first: 1, last: 2}, (opened, lines)
        numbers = {s["id"]: s["number"] for s in doc["sessions"]}
        assert {sid: n for sid, n in numbers.items() if n is not None} == {first: 1, last: 2}, (opened, numbers)
        assert numbers.get(empty, None) is None, (opened, numbers)  # no trial: on no chart, no number
