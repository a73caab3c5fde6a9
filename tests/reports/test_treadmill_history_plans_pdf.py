"""The history PDF's treadmill chart joins no sessions of another plan or belt speed (review s24 F13, as the
history page now draws them): 2.0 min of 2 planned at 1.2 km/h, then 1.2 and 0.9 min of 30 planned at 1.5 and
1.8 km/h were one falling line, read as a decline while the belt got faster."""

from __future__ import annotations

import time

from reportlab.graphics.shapes import PolyLine
from reportlab.platypus import KeepTogether

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
    for content in (cadence, pauses):
        assert [len(line.points) // 2 for line in _polylines(content[1])] == [2], content[0].getPlainText()
        assert content[2].getPlainText().endswith(
            "Sessions of another plan or belt speed are not joined by a line."), content[2].getPlainText()
