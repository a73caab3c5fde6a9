"""The patient page names two walk tests whose short names are the same by their whole titles, in
headless Chromium at tablet (1024×768) and phone (390×844) size.

Before, a visit with the 3-metre backward walk from standing (Carter) and the one over the middle
3 m of 5 m (DeMark) read "3-metre backward walk test (run 2 times)", and both of its trials tables
"3-metre backward walk test: 2 trials, 2 valid": one test run twice, to a physiotherapist, when two
different tests (timed differently, read against different references) were run once each."""

from __future__ import annotations

import pytest

from test_dashboard import css, page_width, wait
from test_phone_fixes_walk_rows import RATE_HZ, frames_of, in_store
from test_walk_values_whole import at_1024

pytestmark = pytest.mark.e2e

CARTER = "3-metre backward walk test (from standing)"
DEMARK = "3-metre backward walk test (speed over the middle 3 m of 5 m)"


def _store(data_dir) -> int:
    """One visit: each backward walk test run once (a session each, labelled with the protocol's title
    as the tablet opens it) and a 10-metre walk: the patient's id."""
    return in_store(data_dir, _fill)


def _fill(store, actor) -> int:
    from station.protocols.loader import builtin_protocols

    protocols = builtin_protocols()
    patient = store.patients.create({"identifier": "TWO-BACKWARD", "birth_year": 1950, "sex": "F"}, actor=actor)
    for minute, protocol, condition, time_s, distance_m in ((0, "backward-walk-3m", "fast", 3.6, 3.0),
                                                             (10, "backward-walk-3m-5m", "comfortable", 3.2, 3.0),
                                                             (20, "ten-metre-walk", "comfortable", 6.4, 6.0)):
        session = store.sessions.create(patient["id"], {"label": protocols[protocol].title,
                                                         "started_at": f"2026-11-02T10:{minute:02d}:00+00:00"}, actor=actor)
        writer = store.trials.start_trial(session["id"], protocol, condition, {"method": "nominal"}, RATE_HZ, actor=actor)
        writer.append(frames_of(8.0))
        writer.finish({"kind": "walk", "fs_hz": RATE_HZ, "samples": 800, "profile": "walk", "version": "test",
                       "metrics": {"walk_time_s": time_s, "walk_speed_m_s": distance_m / time_s}, "initial_contacts_s": []},
                      valid=True)
    return patient["id"]


def test_two_backward_walk_tests_are_named_apart(reading_pages, shots):
    station = reading_pages.station
    browsers_at, patient_id = at_1024(*reading_pages.tablet_and_phone(_store))
    for driver, size, name in browsers_at:
        driver.get(f"{station.url}/patients/{patient_id}")
        wait(driver, "the visit's card", lambda d: len(css(d, "#sessions .session-card h3")) == 1, timeout_s=20)
        (heading,) = [h.text for h in css(driver, "#sessions .session-card h3")]
        assert "run 2 times" not in heading, (name, heading)
        assert heading.endswith(f" · {CARTER}, {DEMARK}, 10-metre walk test, comfortable and fast"), (name, heading)
        summaries = driver.execute_script(
            "return [...document.querySelectorAll('#sessions details.session-trials > summary')].map((s) => s.textContent)")
        assert summaries == [f"{CARTER}: 1 trial, 1 valid", f"{DEMARK}: 1 trial, 1 valid", "10-metre walk test, comfortable and fast: 1 trial, 1 valid"], \
            (name, summaries)
        assert page_width(driver) <= size[0], name
        driver.execute_script("document.querySelector('#sessions').scrollIntoView()")
        driver.save_screenshot(str(shots / f"patient-two-backward-walks-{name}.png"))
