"""A history PDF of one visit charts no history (s29 P14, item 4): it drew a chart of one dot for each key measure
(7 pages for a visit of several tests), each under "Measured at 1 visit; first ...". Now it says there is no history
yet and gives the visit's values in a table, each with the cut-offs that apply and the MDC a later change is read
against; a key measure measured once in a longer history is a row of a table too, the others charted."""

from __future__ import annotations

import time

from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Table

from station.protocols.report import patient_history, visit_numbers
from station.reports.references import Citations
from station.reports.history_report import history_story, series_block
from station.store.store import Store

from reports_support import ACTOR
from test_history_pdf_band_within_trial import _hold


def _walks(store, session_id: int, times: tuple[float, ...]) -> None:
    """3-m backward walks of ``times`` s, 24 steps each, as the runner stores them."""
    for trial, value in enumerate(times, start=1):
        writer = store.trials.start_trial(session_id, "backward-walk-3m", "fast", {"method": "nominal"}, 100.0, actor=ACTOR)
        outcome = {"protocol": "backward-walk-3m", "condition": "fast", "trial": trial, "attempt": 1, "valid": True,
                   "end_reason": "gate_reached", "issues": [], "hold_end": None, "warnings": [], "completed": True,
                   "duration_s": 60.0, "time_held_s": None, "walk": {"setting": "overground", "initial_contacts_s": []}}
        writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                       "metrics": {"walk_time_s": value, "walk_distance_m": 3.0, "walk_speed_m_s": 3.0 / value,
                                   "steps": 24, "cadence_steps_min": 100.0}, "trial": outcome}, valid=True)


def _story(tmp_path, protocols, visits: list[list[tuple]]):
    """The history story of a patient with ``visits``, each a list of ("walk", times) / ("hold", seconds), a month
    apart: (its flowables, their plain text)."""
    store = Store.open(tmp_path / "data")
    try:
        patient = store.patients.create({"identifier": "ONE-VISIT", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        for month, tests in enumerate(visits, start=10):
            for minute, (kind, value) in enumerate(tests):
                session = store.sessions.create(patient["id"], {"label": kind, "started_at":
                                                                f"2026-{month:02d}-02T10:{minute:02d}:00+00:00"}, actor=ACTOR)
                (_walks if kind == "walk" else _hold)(store, session["id"], value)
        story, _doc, _trials = history_story(store, patient["id"], protocols, actor=ACTOR, wall_clock=time.time,
                                             paper="a4")
    finally:
        store.close()
    return story, " ".join(_words(story).split())


def _words(flowable) -> str:
    if isinstance(flowable, list):
        return " ".join(_words(f) for f in flowable)
    if isinstance(flowable, KeepTogether):
        return _words(flowable._content)
    if isinstance(flowable, Table):
        return " ".join(_words(cell) for row in flowable._cellvalues for cell in row)
    return flowable.getPlainText() if hasattr(flowable, "getPlainText") else ""


def _charts(story) -> int:
    return sum(isinstance(f, Drawing) for b in story if isinstance(b, KeepTogether) for f in b._content)


def test_a_history_of_one_visit_says_there_is_none_yet_and_gives_the_values_in_a_table(tmp_path, protocols):
    story, text = _story(tmp_path, protocols, [[("walk", (3.69, 3.63)), ("hold", 12.0)]])
    assert _charts(story) == 0, text  # were 3 charts of one dot each
    assert "Key measures of the one visit One visit so far: there is no history to chart yet" in text, text
    assert "Measured at 1 visit" not in text and "Grey band" not in text, text
    # the baseline said once above the table, not on each row (s31 P17, item 2); nothing published to read it by: "–"
    assert text.count("Each value is the baseline: later visits are compared with it.") == 1, text
    assert "Baseline" not in text, text
    assert "Speed, higher is better 0.82 m/s –" in text, text
    assert ("Standing on the left leg Time held, higher is better 12.0 s Cut-off 5 s: below it, higher risk of injurious "
            "falls [1]. A later change is real beyond the MDC, 24.1 s [2]") in text, text


def test_a_measure_measured_once_in_a_longer_history_is_a_row_the_others_charted(tmp_path, protocols):
    story, text = _story(tmp_path, protocols, [[("walk", (3.69,))], [("walk", (3.2,)), ("hold", 12.0)]])
    assert _charts(story) == 2, text  # the walk's speed and cadence, at two visits
    assert "Key measures over time" in text and "Measured at 2 visits" in text, text
    assert ("Measured once so far No chart: a change shows from the second time the test is done. Each value is the "
            "baseline: later visits are compared with it.") in text, text
    assert "Time held, higher is better 12.0 s (2026-11-02) Cut-off 5 s" in text, text  # its day: of which visit


def test_a_chart_of_one_point_says_once_that_it_is_the_first_measurement_the_baseline(tmp_path, protocols):
    """series_block of a measure measured once (the history PDF tables these: history_story charts none; said right if
    one is drawn, s32 P item 2): it said "Measured at 1 visit; first 12.0 s (...)" and then, with no MDC, the baseline
    sentence at its end ("it" read as whatever came last), with an MDC no baseline at all but "Grey band: first value
    ± MDC" beside an MDC read against no change. Now: the value, that it is the first measurement and the baseline,
    once, then the MDC as the measured-once table says it, what a later change is read against."""
    store = Store.open(tmp_path / "data")
    try:
        patient = store.patients.create({"identifier": "ONE-POINT", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        session = store.sessions.create(patient["id"], {"label": "hold", "started_at": "2026-10-02T10:00:00+00:00"},
                                        actor=ACTOR)
        _hold(store, session["id"], 12.0)
        history = patient_history(store, patient["id"], protocols, actor=ACTOR, wall_clock=time.time)
    finally:
        store.close()
    said = {}
    for series in history["series"]:
        assert len(series["points"]) == 1, series
        block = series_block(series, Citations(), 160 * mm, visit_numbers(history["sessions"]), ceiling=30.0)
        assert _charts([block]) == 1  # the one point drawn
        said[series["metric"]] = " ".join(_words(block._content[2]).split())
    baseline = "the first measurement. Baseline: later visits are compared with it."
    assert said["path_length_cm"] == f"Measured once: 88.4 cm (2026-10-02), {baseline}", said  # no MDC published
    assert said["time_held_s"].startswith(
        f"Measured once: 12.0 s (2026-10-02), {baseline} A later change is real beyond the MDC, 24.1 s [1] ("), said
    assert said["time_held_s"].endswith("Grey band: first value ± MDC (24.1 s), stopped at 30.0 s, the longest a "
                                        "trial runs. Dashed line at 5 s: below it, higher risk of injurious falls [2]."), said
    for words in said.values():  # once each, and nothing of a change there is none of
        assert words.count("aseline") == 1 and "; first" not in words and "the change is" not in words, words
