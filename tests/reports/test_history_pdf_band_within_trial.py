"""The history PDF's grey ±MDC band of a time held stays within what a trial can hold (s28 P13, P12's leftover):
single-leg stance held 30 s then 12 s, its MDC 24.1 s: the band around the first 30 s was drawn from 5.9 s up to
54.1 s, past the 30 s a trial lasts (a time nobody can hold, read as room to improve). Now it stops at the trial's
length, as it stops at 0 s below (the floor)."""

from __future__ import annotations

import time

import pytest

from reportlab.graphics.shapes import Circle, Line, Rect
from reportlab.platypus import KeepTogether

from station.reports.charts import GREY_BAND, GREY_LINE, series_chart
from station.reports.history_report import history_story
from station.store.store import Store

from reports_support import ACTOR


def _hold(store, session_id: int, held: float) -> None:
    writer = store.trials.start_trial(session_id, "single-leg", "left", {"method": "nominal"}, 100.0, actor=ACTOR)
    outcome = {"protocol": "single-leg", "condition": "left", "trial": 1, "attempt": 1, "valid": True,
               "end_reason": "duration" if held >= 30.0 else "touch_down", "issues": [], "hold_end": None,
               "warnings": [], "completed": True, "duration_s": 30.0, "time_held_s": held}
    writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                   "metrics": {"ellipse_area_cm2": 12.0, "mean_velocity_cm_s": 2.9, "path_length_cm": 88.4,
                               "time_held_s": held},
                   "trial": outcome}, valid=True)


def _band_and_points(drawing) -> tuple[tuple[float, float], list[float]]:
    """The band's (bottom, top) y and each point's y in the drawing (reportlab's y grows upwards)."""
    (band,) = [s for s in drawing.contents if isinstance(s, Rect) and s.fillColor == GREY_BAND]
    edges = sorted(s.y1 for s in drawing.contents if isinstance(s, Line) and s.strokeColor == GREY_LINE)
    assert edges == pytest.approx([band.y, band.y + band.height])
    return (band.y, band.y + band.height), [s.cy for s in drawing.contents if isinstance(s, Circle)]


def test_the_band_stops_at_the_ceiling_as_at_the_floor():
    points = [("2026-11-02T10:00:00Z", 30.0), ("2026-12-02T10:00:00Z", 12.0)]
    (bottom, top), (full, _twelve) = _band_and_points(
        series_chart(points, width=300, height=130, unit="s", mdc=24.1, floor=0.0, ceiling=30.0))
    assert abs(top - full) < 1e-6  # the band's top is the 30 s point's height: 30 s, not 54.1 s
    (_, above), (first, _) = _band_and_points(series_chart(points, width=300, height=130, unit="s", mdc=24.1, floor=0.0))
    assert above > first + 10  # without a ceiling (a measure with no most): ± the MDC, as before


def test_the_history_pdf_clips_a_time_helds_band_to_the_trials_length(tmp_path, protocols):
    store = Store.open(tmp_path / "data")
    try:
        patient = store.patients.create({"identifier": "BAND-1", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        for held in (30.0, 12.0):
            session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=ACTOR)
            _hold(store, session["id"], held)
        story, doc, _trials = history_story(store, patient["id"], protocols, actor=ACTOR, wall_clock=time.time,
                                            paper="a4")
    finally:
        store.close()
    (series,) = [s for s in doc["series"] if s["metric"] == "time_held_s" and s.get("key")]
    assert series["mdc"]["value"] > 20, series["mdc"]  # a band that would reach past 30 s
    blocks = [b._content for b in story if isinstance(b, KeepTogether)]
    (content,) = [c for c in blocks if "Time held" in c[0].getPlainText() or "time held" in c[0].getPlainText()]
    (bottom, top), (full, twelve) = _band_and_points(content[1])
    assert abs(top - full) < 1e-6, (top, full)  # up to the 30 s of the first session, no higher
    assert bottom < twelve < top  # 12 s: within the band (-18 s, less than the MDC)
    # the caption says where the band stops (it read "Grey band: first value ± MDC (24.1 s)", a band up to 54.1 s)
    words = content[2].getPlainText()
    assert "Grey band: first value ± MDC (24.1 s), stopped at 30.0 s, the longest a trial runs." in words, words
