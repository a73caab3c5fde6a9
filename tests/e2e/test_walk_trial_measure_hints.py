"""A walk trial's page says what its second time and its regularities are, in headless Chromium at
tablet (1024×768) and phone (390×844) size.

Before, a 3-m backward walk's page listed "Time 3.53 s" (the test's time, from the go to the gate) and
further down "Time walking 4.74 s" with no word of what it was (the lower-back sensor's first to last
step of the whole recording): a second result of the test, to a reader. And a step regularity of 1.01
stood beside "1 = every step alike; higher = more regular", more than alike."""

from __future__ import annotations

import pytest

from test_dashboard import page_width, wait
from test_phone_fixes_walk_rows import RATE_HZ, frames_of, in_store
from test_walk_values_whole import at_1024

pytestmark = pytest.mark.e2e


def _store(data_dir) -> int:
    """A 3-m backward walk of 3.53 s whose sensor found steps over 4.74 s: the trial's id."""
    return in_store(data_dir, _fill)


def _fill(store, actor) -> int:
    patient = store.patients.create({"identifier": "WALK-HINTS", "birth_year": 1950, "sex": "F"}, actor=actor)
    session = store.sessions.create(patient["id"], {"label": "3-metre backward walk test (from standing)"}, actor=actor)
    writer = store.trials.start_trial(session["id"], "backward-walk-3m", "fast", {"method": "nominal"}, RATE_HZ, actor=actor)
    writer.append(frames_of(6.0))
    metrics = {"walk_time_s": 3.53, "walk_speed_m_s": 3.0 / 3.53, "duration_s": 4.74, "steps": 9,
               "cadence_steps_min": 101.7, "step_regularity": 1.01, "stride_regularity": 0.98}
    return writer.finish({"kind": "walk", "fs_hz": RATE_HZ, "samples": 600, "profile": "walk", "version": "test",
                          "metrics": metrics, "initial_contacts_s": []}, valid=True)["id"]


ROWS = """
return Object.fromEntries([...document.querySelectorAll('#measures table.measures tr[data-metric]')].map((tr) =>
  [tr.dataset.metric, [tr.querySelector('th').firstChild.textContent, (tr.querySelector('th .hint') || {}).textContent || '',
                       tr.querySelector('td').textContent]]));"""


def test_a_walks_second_time_and_its_regularities_say_what_they_are(reading_pages, shots):
    station = reading_pages.station
    browsers_at, trial_id = at_1024(*reading_pages.tablet_and_phone(_store))
    for driver, size, name in browsers_at:
        driver.get(f"{station.url}/trials/{trial_id}")
        rows = wait(driver, "the walk's measures", lambda d: d.execute_script(ROWS) or None, timeout_s=20)
        assert rows["walk_time_s"][0] == "Time" and rows["walk_time_s"][2] == "3.53 s", (name, rows)
        label, hint, value = rows["duration_s"]
        assert (label, value) == ("Time walking (IMU)", "4.74 s"), (name, rows)
        assert hint == "first to last step of the whole recording, not the test's time", (name, rows)
        for key, what in (("step_regularity", "step"), ("stride_regularity", "stride")):
            assert rows[key][1] == f"higher = more regular; about 1: every {what} alike", (name, rows)
        assert rows["step_regularity"][2] == "1.01", (name, rows)
        assert page_width(driver) <= size[0], name
        driver.execute_script("document.querySelector('#measures').scrollIntoView()")
        driver.save_screenshot(str(shots / f"walk-trial-hints-{name}.png"))
