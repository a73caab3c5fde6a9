"""The history's chart of a walk measure over several conditions says whose note is whose, in headless
Chromium at tablet (1024×768) and phone (390×844) size.

Before, the 10-metre walk's speed chart (comfortable and fast pace) of a patient without a stroke ended
with two sentences side by side, "The published minimal detectable change (0.21 m/s) was set in people
after stroke; it is not applied ... The published minimal detectable change (0.19 m/s) was set in ...",
without saying which pace each belonged to. Now each starts with its condition; a note the conditions
share is said once. Screenshots in the test's shots folder (tests/e2e/conftest.py)."""

from __future__ import annotations

import pytest

from test_dashboard import css, page_width, wait
from test_phone_fixes_walk_rows import RATE_HZ, frames_of, in_store
from test_walk_values_whole import at_1024

pytestmark = pytest.mark.e2e

CARD = '.history-chart.wide-chart[data-protocol="ten-metre-walk"][data-metric="{metric}"]'


def _store(data_dir) -> int:
    """A 78-year-old without a stroke, two visits of the 10-metre walk at both paces: the patient's id."""
    return in_store(data_dir, _fill)


def _fill(store, actor) -> int:
    patient = store.patients.create({"identifier": "TEN-HISTORY", "birth_year": 1948, "sex": "F"}, actor=actor)
    for day, speeds in (("2026-10-05", (0.92, 0.95)), ("2026-11-02", (0.94, 0.93))):
        session = store.sessions.create(patient["id"], {"label": "10-metre walk test, comfortable and fast",
                                                         "started_at": f"{day}T10:00:00+00:00"}, actor=actor)
        for condition, speed in zip(("comfortable", "fast"), speeds):
            writer = store.trials.start_trial(session["id"], "ten-metre-walk", condition, {"method": "nominal"}, RATE_HZ,
                                              actor=actor)
            writer.append(frames_of(10.0))
            writer.finish({"kind": "walk", "fs_hz": RATE_HZ, "samples": 1000, "profile": "walk", "version": "test",
                           "metrics": {"walk_time_s": 6.0 / speed, "walk_speed_m_s": speed, "cadence_steps_min": 100.0},
                           "initial_contacts_s": []}, valid=True)
    return patient["id"]


NOTE = "return document.querySelector(arguments[0]).querySelector(':scope > p.muted.small').textContent"


def test_each_conditions_note_says_whose_it_is(reading_pages, shots):
    station = reading_pages.station
    browsers_at, patient_id = at_1024(*reading_pages.tablet_and_phone(_store))
    for driver, size, name in browsers_at:
        driver.get(f"{station.url}/patients/{patient_id}/history")
        wait(driver, "the speed chart", lambda d: css(d, CARD.format(metric="walk_speed_m_s")), timeout_s=20)
        speed = driver.execute_script(NOTE, CARD.format(metric="walk_speed_m_s"))
        comfortable, _, fast = speed.partition(" As fast as safely possible: ")
        assert comfortable.startswith("Comfortable pace: The published minimal detectable change ("), (name, speed)
        assert fast.startswith("The published minimal detectable change ("), (name, speed)
        assert speed.count("was set in people after stroke") == 2, (name, speed)
        # a note both conditions share: said once, without a condition
        cadence = driver.execute_script(NOTE, CARD.format(metric="cadence_steps_min"))
        assert cadence == "No published minimal detectable change for this measure in this test.", (name, cadence)
        assert page_width(driver) <= size[0], name
        driver.execute_script("arguments[0].scrollIntoView()", css(driver, CARD.format(metric="walk_speed_m_s"))[0])
        driver.save_screenshot(str(shots / f"history-ten-metre-notes-{name}.png"))
