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


@pytest.fixture
def visits(tmp_path):
    """The visit above (31 and 34 steps, 1 and 2 pauses) a week after one of a single session (36 steps, 2 pauses),
    and a third visit a week later (34 steps, 0 pauses): (store, each visit's last session id)."""
    store = Store.open(tmp_path / "data")
    patient = store.patients.create({"identifier": "COUNT-2", "birth_year": 1952, "sex": "F"}, actor=ACTOR)
    last = []
    for day, rows in (("02", ((0, 36, 2),)), ("09", ((0, 31, 1), (30, 34, 2))), ("16", ((0, 34, 0),))):
        for minute, steps, pauses in rows:
            sid = _session(store, patient["id"], f"2026-11-{day}T10:{minute:02d}:00+00:00", TREADMILL, "session",
                           {**_belt(0.5, 96.0), "steps": steps, "pauses": pauses, "pause_s": 5.0 * pauses},
                           {"setting": "treadmill", "belt_speed_m_s": 0.5})
        last.append(sid)
    yield store, last
    store.close()


def _change(doc: dict, metric: str) -> dict:
    [ref] = [r for r in _measure(doc, TREADMILL, metric)["references"] if r["kind"] == "change"]
    return ref


def test_a_count_changes_against_the_previous_visit_s_count_as_counted(visits, protocols):
    """Steps and pauses have their change since the previous visit, as the other measures do (before: none), whole
    and with its noun, each visit's count one a trial made (as the history charts it: the median, the lower of the
    middle two), never a mean; which way is better in words; no MDC, so no change is called real."""
    store, last = visits
    doc = session_results(store, last[1], protocols, actor=ACTOR, visit=True)
    pauses, steps = _change(doc, "pauses"), _change(doc, "steps")
    assert pauses["count"] and pauses["change"] == -1 and pauses["change_words"] == "-1 pause"  # 1 (of 1 and 2) - 2
    assert pauses["previous"]["words"] == "2 pauses" and pauses["previous"]["started_at"].startswith("2026-11-02T10:00")
    assert pauses["compared"] == "Counts compared: 1 (the lower of 1 and 2) against 2."
    assert pauses["better_words"] == "fewer is better"
    # said once: in the since-line, not again in the measure's own words below it (nor in the PDF's row)
    assert _measure(doc, TREADMILL, "pauses")["words"] == "Stood still 1 and 2 times (2 sessions), 8 s a session on average."
    assert pauses["mdc"] is None and pauses["mdc_verdict"] is None and pauses["beyond_mdc"] is None
    assert pauses["mdc_note"] == "Counts have no published minimal detectable change, so no change in a count is judged real."
    assert steps["change"] == -5 and steps["change_words"] == "-5 steps" and steps["previous"]["value"] == 36  # 31 - 36
    # the treadmill's steps: why no direction is better, in the few words of a since-line (before: the history chart's
    # whole "no better direction by itself: more steps is more walking (the dose); compare sessions of the same ...")
    assert steps["better_words"] == "more steps is more walking, not better by itself" and steps["better"] is None
    later = session_results(store, last[2], protocols, actor=ACTOR, visit=True)  # against a visit of two sessions
    assert _change(later, "pauses")["change_words"] == "-1 pause" and _change(later, "pauses")["previous"]["words"] == "1 pause"
    assert _change(later, "steps")["change_words"] == "+3 steps" and _change(later, "steps")["compared"] == \
        "Counts compared: 34 against 31 (the lower of 31 and 34)."
    first = session_results(store, last[0], protocols, actor=ACTOR, visit=True)
    assert _change(first, "pauses")["previous"] is None and _change(first, "pauses")["change"] is None
    assert _measure(first, TREADMILL, "pauses")["words"].endswith("; fewer is better.")  # no since-line to say it


def test_the_visit_pdf_says_a_count_s_change(visits, protocols, clinic, poppler):
    store, last = visits
    text = " ".join(pdf_text(make_report("session", store, last[1], protocols=protocols, clinic=clinic,
                                         actor=ACTOR)).split())
    assert "Since the visit of 2026-11-02 (2 pauses): change -1 pause; fewer is better. Counts compared: 1 (the " \
           "lower of 1 and 2) against 2. Counts have no published minimal detectable change" in text, text
    assert text.count("fewer is better") == 1, text
    assert "change -5 steps" in text and "-5.00" not in text, text
    # the steps' row as short (before: "...; no better direction by itself: more steps is more walking (the dose);
    # compare sessions of the same planned minutes. ... for a count: the change is shown, none is called real.")
    assert "(36 steps): change -5 steps; more steps is more walking, not better by itself. Counts compared: 31 (the lower " \
           "of 31 and 34) against 36. Counts have no published minimal detectable change, so no change in a count is judged real." in text, text
    assert "the change is shown" not in text and "compare sessions of the same planned minutes" not in text, text


def test_counts_words():
    from station.protocols.walk_words import counts_words

    assert counts_words([31, 34], "treadmill") == "31 and 34 (2 sessions)"
    assert counts_words([13, 14, 13], "overground") == "13, 14 and 13 (3 trials)"
    # several trials that counted the same: "in each of" them, not a bare count read as their total (s28 P13)
    assert counts_words([13, 13], "overground") == "13 in each of 2 trials" and counts_words([13.0], None) == "13"
    assert counts_words([24, 24, 24, 24], "overground") == "24 in each of 4 trials"
    assert counts_words([40, 40], "treadmill") == "40 in each of 2 sessions"
    assert counts_words([], "treadmill") == "–"
