"""A walk trial with no frames at all, on the trial page and the visit results at tablet (1024×768) and
phone (390×844) size in headless Chromium: its figure says once that nothing was recorded.

Before, the figure showed "No acceleration recorded (was the IMU worn and connected?)" in the trace's
place and, under it, the caption "No frames were recorded in this trial.": two messages, the first
pointing at the sensor when nothing at all had been recorded. Screenshots in the test's shots folder (tests/e2e/conftest.py)."""

from __future__ import annotations

import pytest

from test_dashboard import page_width, wait
from test_phone_fixes_walk_rows import RATE_HZ, in_store
from test_walk_values_whole import at_1024

pytestmark = pytest.mark.e2e

NOTHING = "Nothing was recorded in this trial: no readings from the plate or the lower-back sensor"


def _store(data_dir) -> tuple[int, int]:
    """A 10-metre walk timed by the light gates (6.1 s) whose recording holds no frames at all (neither the
    plate nor the lower-back sensor gave a reading): (session id, trial id)."""
    return in_store(data_dir, _fill)


def _fill(store, actor) -> tuple[int, int]:
    patient = store.patients.create({"identifier": "NO-FRAMES", "birth_year": 1950, "sex": "F"}, actor=actor)
    session = store.sessions.create(patient["id"], {"label": "10mwt"}, actor=actor)
    writer = store.trials.start_trial(session["id"], "ten-metre-walk", "comfortable", {"method": "nominal"}, RATE_HZ,
                                      actor=actor)
    walk = {"setting": "overground", "initial_contacts_s": [], "walk_time_s": 6.1, "walk_distance_m": 6.0,
            "walk_speed_m_s": 6.0 / 6.1}
    outcome = {"protocol": "ten-metre-walk", "condition": "comfortable", "label": "Comfortable pace", "trial": 1,
               "attempt": 1, "valid": True, "end_reason": "gate_reached", "issues": [], "hold_end": None, "warnings": [],
               "completed": True, "duration_s": 12.0, "time_held_s": None, "walk": walk}
    trial = writer.finish({"kind": "walk", "fs_hz": RATE_HZ, "samples": 0, "profile": "walk", "version": "test",
                           "metrics": {"walk_time_s": 6.1, "walk_speed_m_s": 6.0 / 6.1}, "trial": outcome}, valid=True)
    return session["id"], trial["id"]


FIGURES = """
document.querySelectorAll('main details').forEach((x) => x.open = true);
return [...document.querySelectorAll('main figure.walk-figure')].map((f) => f.innerText.trim()).filter(Boolean);"""


def test_a_walk_with_no_frames_says_once_that_nothing_was_recorded(reading_pages, shots):
    station = reading_pages.station
    browsers_at, (session_id, trial_id) = at_1024(*reading_pages.tablet_and_phone(_store))
    for driver, size, name in browsers_at:
        for page, path in (("trial", f"/trials/{trial_id}"), ("visit", f"/sessions/{session_id}")):
            driver.get(station.url + path)
            figures = wait(driver, "the walk's figure", lambda d: d.execute_script(FIGURES) or None, timeout_s=20)
            assert figures == [NOTHING], (name, page, figures)  # one message, no caption repeating it
            main = driver.find_element("tag name", "main").text
            assert "IMU worn" not in main and "No frames were recorded" not in main, (name, page, main)
            assert page_width(driver) <= size[0]
            driver.execute_script("document.querySelector('main figure.walk-figure').scrollIntoView()")
            driver.save_screenshot(str(shots / f"no-frames-{page}-{name}.png"))
