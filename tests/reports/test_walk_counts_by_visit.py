"""A count is said as counted: a visit of two treadmill sessions of 31 and 34 steps (1 and 2 pauses) reads
"31 and 34 (2 sessions)" and "1 and 2 (2 sessions)" on the visit results (key measures) and the visit PDF, never
their mean rounded, "33" (32.5) or "2 times" (1.5), counts nobody counted. Each session's count is what a clinician
reads against the plan (the time walking is per session too); a total would mix sessions of different plans. The
key measure's ``value`` stays the mean, as the API gave it; ``counts`` are what the pages say."""

from __future__ import annotations

import pytest

from station.protocols.report import session_results
from station.reports.build import make_report
from station.store.store import Store

from reports_support import ACTOR, pdf_text
from test_walk_change_by_visit import TREADMILL, _belt, _measure, _session


@pytest.fixture
def visit(tmp_path):
    """A visit of two treadmill sessions (31 and 34 steps, 1 and 2 pauses): (store, the last session's id)."""
    store = Store.open(tmp_path / "data")
    patient = store.patients.create({"identifier": "COUNT-1", "birth_year": 1952, "sex": "F"}, actor=ACTOR)
    last = None
    for minute, steps, pauses in ((0, 31, 1), (30, 34, 2)):
        last = _session(store, patient["id"], f"2026-11-09T10:{minute:02d}:00+00:00", TREADMILL, "session",
                        {**_belt(0.5, 96.0), "steps": steps, "pauses": pauses, "pause_s": 5.0 * pauses},
                        {"setting": "treadmill", "belt_speed_m_s": 0.5})
    yield store, last
    store.close()


def test_a_visit_s_counts_are_each_session_s(visit, protocols):
    store, last = visit
    doc = session_results(store, last, protocols, actor=ACTOR, visit=True)
    steps, pauses = _measure(doc, TREADMILL, "steps"), _measure(doc, TREADMILL, "pauses")
    assert steps["counts"] == [31, 34] and pauses["counts"] == [1, 2]
    assert steps["value"] == pytest.approx(32.5)  # the mean, as before (the API's value)
    assert pauses["words"].startswith("Stood still 1 and 2 times (2 sessions), "), pauses["words"]
    [section] = doc["protocols"]
    assert section["conditions"][0]["counts"] == {"pauses": [1, 2], "steps": [31, 34]}


def test_the_visit_pdf_says_each_session_s_count(visit, protocols, clinic, poppler):
    store, last = visit
    text = pdf_text(make_report("session", store, last, protocols=protocols, clinic=clinic, actor=ACTOR))
    assert "Steps 31 and 34 (2 sessions)" in text, text
    assert "Pauses (no step for 3 s or more) 1 and 2 (2 sessions)" in text, text
    assert "Steps 32" not in text and "Steps 33" not in text, text
    assert "except a walk's counts (steps, pauses)" in text, text  # not "Values are means over the valid trials"


def test_counts_words():
    from station.protocols.walk_words import counts_words

    assert counts_words([31, 34], "treadmill") == "31 and 34 (2 sessions)"
    assert counts_words([13, 14, 13], "overground") == "13, 14 and 13 (3 trials)"
    assert counts_words([13, 13], "overground") == "13" and counts_words([13.0], None) == "13"
    assert counts_words([], "treadmill") == "–"
