"""A walk's first visit says that its values are the baseline, not that a comparison is missing. The history PDF
of a patient seen once said under each chart "No minimal detectable change is published for this measure in this
test." (the time walking, the pauses, the cadence), and the visit PDF "First visit with this test: no earlier value
to compare.", where nothing is compared anyway; the visit results page said "Counts have no published minimal
detectable change" / "No published minimal detectable change for this measure here" beside the first visit
(tests/e2e/test_walk_change_by_visit_pages.py). Now both PDFs say "Baseline: later visits are compared with it.";
a measure with an earlier value and no MDC still says that no MDC is published (the counts' words too)."""

from __future__ import annotations

import pytest

from station.reports.build import make_report
from station.store.store import Store

from reports_support import ACTOR, pdf_text
from test_walk_change_by_visit import TEN_METRE, TREADMILL, _belt, _session, _walk

BASELINE = "Baseline: later visits are compared with it."


@pytest.fixture
def seen(tmp_path):
    """A patient after stroke with a 10-metre walk and a treadmill session on 2 Nov, and the same a week later:
    (store, patient id, the first visit's treadmill session id, the second's)."""
    store = Store.open(tmp_path / "data")
    patient = store.patients.create({"identifier": "FIRST-1", "birth_year": 1952, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=ACTOR)
    last = []
    for day, speed, cadence, pauses in (("02", 0.40, 90.0, 1), ("09", 0.45, 96.0, 3)):
        _session(store, patient["id"], f"2026-11-{day}T09:00:00+00:00", TEN_METRE, "comfortable", _walk(speed))
        last.append(_session(store, patient["id"], f"2026-11-{day}T10:00:00+00:00", TREADMILL, "session",
                             {**_belt(0.5, cadence), "pauses": pauses}, {"setting": "treadmill", "belt_speed_m_s": 0.5}))
    yield store, patient["id"], last[0], last[1]
    store.close()


def _text(pdf: bytes) -> str:
    return " ".join(pdf_text(pdf).split())


def test_a_first_visit_is_the_baseline_in_the_visit_pdf(seen, protocols, clinic, poppler):
    store, _patient, first, second = seen
    text = _text(make_report("session", store, first, protocols=protocols, clinic=clinic, actor=ACTOR))
    assert f"First visit with this test. {BASELINE}" in text, text
    # once per test, on its first measure, as the visit results page says it (it stood on each of the 11 measures)
    assert text.count("First visit with this test") == 2, text
    assert "no earlier value to compare" not in text and "no published MDC" not in text, text
    assert "Counts have no published minimal detectable change" not in text, text
    # the next visit: its changes, and where no MDC is published, said so
    text = _text(make_report("session", store, second, protocols=protocols, clinic=clinic, actor=ACTOR))
    assert BASELINE not in text, text
    assert "Since the visit of 2026-11-02 (1 pause): change +2 pauses; fewer is better. Counts have no published " \
           "minimal detectable change" in text, text
    assert "change +6.0 steps/min; no published MDC for this test" in text, text
    # a count unchanged says so as every other change does (it read "change 0 steps")
    assert "Since the visit of 2026-11-02 (13 steps): no change; no better direction by itself." in text, text
    assert "change 0 steps" not in text, text


def test_a_history_of_one_visit_is_the_baseline_in_the_history_pdf(seen, protocols, clinic, poppler):
    store, patient, _first, _second = seen
    # a patient seen once, for a treadmill session
    solo = store.patients.create({"identifier": "FIRST-2", "birth_year": 1952, "sex": "F"}, actor=ACTOR)
    _session(store, solo["id"], "2026-11-02T10:00:00+00:00", TREADMILL, "session", _belt(0.5, 90.0),
             {"setting": "treadmill", "belt_speed_m_s": 0.5})
    text = _text(make_report("patient", store, solo["id"], protocols=protocols, clinic=clinic, actor=ACTOR))
    # one visit: its values in a table, no chart of one dot each (s29 P14), each the baseline: said once above the
    # table, not on each row (s31 P17, item 2)
    assert "One visit so far: there is no history to chart yet" in text, text
    assert text.count("Each value is the baseline: later visits are compared with it.") == 1 and BASELINE not in text
    # nothing published to read them against: no column of dashes
    assert "treadmill 19 min 36 s" in text and "treadmill 1 pause" in text, text
    assert "Test: condition Measure Value " in text and "Reading" not in text and " –" not in text, text
    assert "No minimal detectable change is published" not in text, text
    # seen twice: the change, and no MDC said where none is published
    text = _text(make_report("patient", store, patient, protocols=protocols, clinic=clinic, actor=ACTOR))
    assert BASELINE not in text, text
    assert "change +6.0 steps/min. No minimal detectable change is published for this measure in this test." in text, text
