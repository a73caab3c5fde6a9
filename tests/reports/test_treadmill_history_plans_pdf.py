"""The history PDF's treadmill chart joins no sessions of another plan or belt speed (review s24 F13, as the
history page now draws them): 2.0 min of 2 planned at 1.2 km/h, then 1.2 and 0.9 min of 30 planned at 1.5 and
1.8 km/h were one falling line, read as a decline while the belt got faster."""

from __future__ import annotations

import time

import pytest
from reportlab.graphics.shapes import PolyLine
from reportlab.platypus import KeepTogether

from station.protocols.report import patient_history
from station.reports.build import make_report
from station.reports.charts import series_chart
from station.reports.history_report import history_story
from station.store.store import Store

from reports_support import ACTOR, pdf_text

CALIBRATION = {"created_utc": "2026-12-05T20:06:44+00:00", "method": "masses", "zero_counts": [0, 0, 0, 0],
               "n_per_count": [1e-3] * 4}


def _polylines(drawing) -> list:
    return [shape for shape in drawing.contents if isinstance(shape, PolyLine)]


def test_a_point_apart_starts_a_line_of_its_own():
    points = [("2026-12-06T02:20:00Z", 2.0), ("2026-12-06T02:24:00Z", 1.2), ("2026-12-06T02:26:00Z", 0.9),
              ("2026-12-08T02:26:00Z", 1.5)]
    joined = series_chart(points, width=300, height=120, unit="min", floor=0.0)
    apart = series_chart(points, width=300, height=120, unit="min", floor=0.0, apart={1, 2})
    assert len(_polylines(joined)) == 1
    assert [len(line.points) // 2 for line in _polylines(apart)] == [2]  # 0.9 and 1.5 of one plan; 2.0, 1.2 alone


def _treadmill_sessions(store, plans) -> int:
    """A patient's treadmill sessions, one per ``(minutes walked, minutes planned, km/h, cadence, pauses)``: their
    patient's id."""
    patient = store.patients.create({"identifier": "PLANS-PDF", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    for minutes, planned, kmh, cadence, pauses in plans:
        session = store.sessions.create(patient["id"], {"label": "treadmill"}, actor=ACTOR)
        writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", CALIBRATION, 100.0,
                                          actor=ACTOR)
        writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                       "metrics": {"walking_min": minutes, "planned_min": planned, "belt_speed_m_s": kmh / 3.6,
                                   "steps": 60, "cadence_steps_min": cadence, "pauses": pauses}}, valid=True)
    return patient["id"]


def test_the_history_pdf_says_sessions_of_another_plan_are_not_joined(tmp_path, protocols, clinic, poppler):
    store = Store.open(tmp_path / "data")
    try:
        patient = _treadmill_sessions(store, ((2.0, 2.0, 1.2, 90.0, 0), (1.2, 30.0, 1.5, 90.0, 0),
                                              (0.9, 30.0, 1.8, 90.0, 0)))
        pdf = make_report("patient", store, patient, protocols=protocols, clinic=clinic, actor=ACTOR)
        (tmp_path / "history.pdf").write_bytes(pdf)  # for a look (pdftoppm)
        text = " ".join(pdf_text(pdf).split())
    finally:
        store.close()
    assert "Sessions of another plan or belt speed are not joined by a line: their times are not compared." in text, text


def test_the_history_pdf_joins_no_cadence_or_count_of_another_plan_or_belt_speed(tmp_path, protocols):
    """The cadence and the pauses (every per-session treadmill measure) as the time walked: 92 steps/min of a 2-min
    session at 1.2 km/h, then 80 and 84 of 30-min sessions at 1.5 km/h, then 100 at 1.8 km/h were one line (read as
    a fall and a rise); now only the two sessions of one plan are joined, and the words under it say so."""
    store = Store.open(tmp_path / "data")
    try:
        patient = _treadmill_sessions(store, ((2.0, 2.0, 1.2, 92.0, 0), (1.2, 30.0, 1.5, 80.0, 2),
                                              (1.5, 30.0, 1.5, 84.0, 1), (0.9, 30.0, 1.8, 100.0, 3)))
        story, _doc, _trials = history_story(store, patient, protocols, actor=ACTOR, wall_clock=time.time, paper="a4")
    finally:
        store.close()
    blocks = {block._content[0].getPlainText(): block._content for block in story if isinstance(block, KeepTogether)}
    treadmill = {title: content for title, content in blocks.items() if title.startswith("Backward")}
    cadence = next(content for title, content in treadmill.items() if ": Cadence" in title)
    pauses = next(content for title, content in treadmill.items() if ": Pauses" in title)
    # each by its own rule (the one its change since the first follows): the cadence at one belt speed (the two at
    # 1.5 km/h joined), the pauses at one plan (the three of 30 min joined)
    for content, line, words in (
            (cadence, [2], "Sessions at another belt speed are not joined by a line: they are not compared."),
            (pauses, [3], "Sessions of another plan (planned minutes) are not joined by a line: they are not compared.")):
        assert [len(line.points) // 2 for line in _polylines(content[1])] == line, content[0].getPlainText()
        assert content[2].getPlainText().endswith(words), content[2].getPlainText()


def _series_and_pdf_blocks(tmp_path, protocols, plans) -> tuple[dict, dict]:
    """patient_history's treadmill series by measure and the history PDF's blocks by measure (title's last part)."""
    store = Store.open(tmp_path / "data")
    try:
        patient = _treadmill_sessions(store, plans)
        series = {s["metric"]: s for s in patient_history(store, patient, protocols, actor=ACTOR)["series"]}
        story, _doc, _trials = history_story(store, patient, protocols, actor=ACTOR, wall_clock=time.time, paper="a4")
    finally:
        store.close()
    blocks = {block._content[0].getPlainText(): block._content for block in story if isinstance(block, KeepTogether)}
    by_label = {series[m]["label"]: m for m in series}
    return series, {by_label[label]: content for title, content in blocks.items() if title.startswith("Backward")
                    for label in by_label if f": {label}" in title}


def test_one_rule_per_session_joins_the_chart_and_says_the_change(tmp_path, protocols):
    """s25: the time walked's chart broke its line at a belt-speed-only change (30 min planned at 1.2, then 1.5 km/h)
    while its change since the first session compared the two ('-5.0 min'); the cadence's broke at a plan-only change
    while its change compared them. Now each session is 'apart' from the one before by the rule of the measure's change
    (walk_words.treadmill_not_compared): the time walked at one plan and belt speed, a count at one plan, the cadence
    at one belt speed; the chart (here the PDF's, the page reads the same points) joins exactly the others."""
    series, blocks = _series_and_pdf_blocks(tmp_path, protocols, ((20.0, 30.0, 1.2, 90.0, 1), (15.0, 30.0, 1.5, 92.0, 2),
                                                                  (16.0, 20.0, 1.5, 95.0, 2)))
    apart = {m: [bool(pt.get("apart")) for pt in series[m]["points"]] for m in ("walking_min", "cadence_steps_min", "pauses")}
    assert apart == {"walking_min": [False, True, True], "cadence_steps_min": [False, True, False],
                     "pauses": [False, False, True]}
    # the change since the first session by the same rule: the time walked at another belt speed is not compared
    assert series["walking_min"]["change"] is None
    assert series["walking_min"]["not_compared"] == "not compared: planned 30 vs 20 min, belt speed 1.2 vs 1.5 km/h"
    # two sessions of one plan and belt: compared, and joined
    two, blocks_two = _series_and_pdf_blocks(tmp_path / "two", protocols, ((20.0, 30.0, 1.2, 90.0, 1),
                                                                            (15.0, 30.0, 1.2, 92.0, 2)))
    assert two["walking_min"]["change"] == pytest.approx(-5.0) and not two["walking_min"].get("apart_words")
    assert [len(line.points) // 2 for line in _polylines(blocks_two["walking_min"][1])] == [2]
    # a belt-speed-only change: not compared, and not joined
    speed, blocks_speed = _series_and_pdf_blocks(tmp_path / "speed", protocols, ((20.0, 30.0, 1.2, 90.0, 1),
                                                                                  (15.0, 30.0, 1.5, 92.0, 2)))
    assert speed["walking_min"]["change"] is None
    assert speed["walking_min"]["not_compared"] == "not compared: belt speed 1.2 vs 1.5 km/h"
    assert _polylines(blocks_speed["walking_min"][1]) == []
    assert "change not compared: belt speed 1.2 vs 1.5 km/h" in blocks_speed["walking_min"][2].getPlainText()
    # the cadence of the two sessions at 1.5 km/h (of 30, then 20 min planned) joined
    assert [len(line.points) // 2 for line in _polylines(blocks["cadence_steps_min"][1])] == [2]
    # a plan-only change: the cadence compared (+3) and joined, the time walked neither
    plan, blocks_plan = _series_and_pdf_blocks(tmp_path / "plan", protocols, ((15.0, 30.0, 1.5, 92.0, 2),
                                                                               (16.0, 20.0, 1.5, 95.0, 2)))
    assert plan["cadence_steps_min"]["change"] == pytest.approx(3.0) and not plan["cadence_steps_min"].get("not_compared")
    assert [len(line.points) // 2 for line in _polylines(blocks_plan["cadence_steps_min"][1])] == [2]
    assert not plan["cadence_steps_min"].get("apart_words")
    assert plan["walking_min"]["not_compared"] == "not compared: planned 30 vs 20 min"
    assert _polylines(blocks_plan["walking_min"][1]) == []
    assert blocks["walking_min"][2].getPlainText().endswith(
        "Sessions of another plan or belt speed are not joined by a line: their times are not compared.")
