"""The history's time-held charts say what their dashed line is and show each condition's point (R's
review, session 24, L3): the line at 30 s was an unlabelled green dashed line, read as a target (it is
the trial's length, the most a time held can be), and the mCTSIB's four conditions held 30 s at one
visit were four circles drawn on one spot: one dot. Now the line is grey and labelled "30 s: the
longest a trial runs", and points of several conditions at one value sit side by side."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, css, wait

pytestmark = pytest.mark.e2e

CONDITIONS = ("firm_eo", "firm_ec", "foam_eo", "foam_ec")


def stored_patient(data_dir) -> int:
    """A patient with two mCTSIB visits, every condition held 30 s at the second: the patient's id."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)  # beside the running station
    actor = Actor(None, "test")
    patient = store.patients.create({"identifier": "MCT-HIST", "birth_year": 1946, "sex": "F", "conditions": []},
                                    actor=actor)
    for day, held in (("2026-11-02", (30.0, 30.0, 18.5, 9.2)), ("2026-11-16", (30.0, 30.0, 30.0, 30.0))):
        session = store.sessions.create(patient["id"], {"label": "mctsib", "started_at": f"{day}T10:00:00+00:00"},
                                        actor=actor)
        for condition, time_held in zip(CONDITIONS, held):
            writer = store.trials.start_trial(session["id"], "mctsib", condition, {"method": "nominal"}, 100.0, actor=actor)
            outcome = {"protocol": "mctsib", "condition": condition, "trial": 1, "attempt": 1, "valid": True,
                       "end_reason": "duration" if time_held == 30.0 else "stepped_off", "issues": [], "warnings": [],
                       "completed": time_held == 30.0, "hold_end": None, "duration_s": 30.0, "time_held_s": time_held}
            writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                           "metrics": {"mean_velocity_cm_s": 1.5}, "trial": outcome}, valid=True)
    store.close()
    return patient["id"]


CEILING_LABEL_CLEAR = """
const svg = document.querySelector(arguments[0]);
const text = svg.querySelector('text.ceiling-label').getBBox();
const lineY = +svg.querySelector('line.ceiling').getAttribute('y1');
const widest = Math.max(...[...svg.querySelectorAll('path')].map((p) => +p.getAttribute('stroke-width') || 1));
const overlaps = (b) => b.x < text.x + text.width && text.x < b.x + b.width && b.y < text.y + text.height && text.y < b.y + b.height;
return {inside: text.y >= 0 && text.x >= 0,
        below: lineY - widest / 2 - (text.y + text.height),  // px between the label's box and the lines drawn at 30 s
        on_points: [...svg.querySelectorAll('circle.point')].map((c) => c.getBBox()).some(overlaps)};"""
"""The time held's ceiling label against what is drawn on its line: whole in the chart, above the thickest line drawn at
30 s, on no point."""


def test_the_time_held_chart_names_its_line_and_shows_every_condition(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, patient_id = reading_pages.tablet_and_phone(stored_patient)
    chart = '.history-chart[data-protocol="mctsib"][data-metric="time_held_s"] svg.chart'
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/patients/{patient_id}/history")
        wait(driver, "the time held chart", lambda d: css(d, f"{chart} circle.point"), timeout_s=20)
        labels = [e.get_attribute("textContent") for e in css(driver, f"{chart} text.ceiling-label")]
        assert labels == ["30 s: the longest a trial runs"], labels
        points = driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map((c) => [+c.getAttribute('cx'), +c.getAttribute('cy')])",
            f"{chart} circle.point")
        assert len(points) == 8, points
        top = min(y for _, y in points)  # the value 30 s: the second visit's four, and the first's two
        at_30 = sorted({round(x, 1) for x, y in points if abs(y - top) < 0.5})
        assert len(at_30) == 6, points  # each its own spot: 2 side by side at the first visit, 4 at the second
        # the label readable above its line (s27: on a phone it sat on the 30-s lines and points), whole in the chart
        clear = driver.execute_script(CEILING_LABEL_CLEAR, chart)
        assert clear["inside"] and clear["below"] >= 1 and not clear["on_points"], clear
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", css(driver, chart)[0])
        driver.save_screenshot(str(shots / f"mctsib-history-{size[0]}.png"))
