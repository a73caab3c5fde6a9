"""A timed walk's "At a glance" row (on a phone: the tags at the head of each condition) says its speed and its change since the previous session
against the minimal detectable change, in headless Chromium at tablet and phone size, against the
real station (simulated hardware) holding three sessions of the 10-metre walk of a patient after
stroke. Before, the fast pace's row (no walking class for it) was empty, and a change against the
MDC was only in the measures below.

Hosoi et al. (2023), by group of comfortable speed at the earlier session: comfortable 0.43 -> 0.51 m/s
(+0.08 from the 0.4-0.8 m/s group: within its MDC 0.11), fast 0.60 -> 0.73 m/s (+0.13, grouped by the
comfortable 0.43 m/s: beyond the fast pace's MDC 0.12, a real improvement)."""

from __future__ import annotations

import time

import pytest

from test_dashboard import PHONE, css, wait

pytestmark = pytest.mark.e2e

SPEEDS = ((0.35, 0.52), (0.43, 0.60), (0.51, 0.73))
"""(comfortable, fast) walking speed of each session, m/s, oldest first."""


def stored_clinic(data_dir) -> int:
    """A patient after stroke with three sessions of the 10-metre walk 25 days apart (one valid trial per
    pace, stored as the trial engine stores them); the last session's id."""
    from station.store.audit import Actor
    from station.store.store import Store

    now = time.time()
    clock = {"t": now - 60 * 86400}
    store = Store.open(data_dir, wall_clock=lambda: clock["t"])  # beside the running station
    actor = Actor(None, "test")
    patient = store.patients.create({"identifier": "GLANCE-1", "birth_year": 1950, "sex": "F",
                                     "conditions": ["stroke:left"]}, actor=actor)
    for i, speeds in enumerate(SPEEDS):
        clock["t"] = now - (60 - 25 * i) * 86400
        session = store.sessions.create(patient["id"], {"label": "10-metre walk"}, actor=actor)
        for condition, speed in zip(("comfortable", "fast"), speeds):
            writer = store.trials.start_trial(session["id"], "ten-metre-walk", condition, {"method": "nominal"}, 100.0,
                                              actor=actor)
            outcome = {"protocol": "ten-metre-walk", "condition": condition, "label": condition, "trial": 1, "attempt": 1,
                       "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
                       "completed": True, "duration_s": 120.0, "time_held_s": None}
            writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                           "metrics": {"walk_time_s": 6.0 / speed, "walk_speed_m_s": speed, "cadence_steps_min": 96.0,
                                       "steps": 14}, "trial": outcome}, valid=True)
    store.close()
    return session["id"]


def test_a_timed_walk_at_a_glance_says_speed_and_change_against_the_mdc(reading_pages):
    station = reading_pages.station
    tablet, phone, last = reading_pages.tablet_and_phone(stored_clinic)
    for driver, name, size in ((tablet, "tablet", None), (phone, "phone", PHONE)):
        driver.get(f"{station.url}/sessions/{last}")
        # a tablet has the "At a glance" table; a phone shows the same tags at the head of each condition
        where = ".glance tr[data-condition]" if name == "tablet" else ".card.condition > .actions"

        def glance_rows(d):  # texts read inside the wait (the page draws the rows once its data came)
            texts = [" ".join(r.text.split()) for r in css(d, where)]
            return texts if len(texts) == 2 and all("since" in t for t in texts) else None

        comfortable, fast = wait(driver, "the glance rows with their changes", glance_rows, timeout_s=20)
        # the comfortable pace: its walking class (Perry) says the speed; +0.08 from 0.43 m/s, MDC 0.11 for 0.4-0.8
        assert "speed 0.51 m/s: limited community walking" in comfortable, comfortable
        assert "+0.08 m/s since" in comfortable and "within the MDC: may be noise" in comfortable, comfortable
        # the fast pace: no class, so its speed; +0.13 grouped by the comfortable 0.43 m/s: beyond the fast MDC 0.12
        assert "speed 0.73 m/s" in fast, fast
        assert "+0.13 m/s since" in fast and "beyond the MDC: a real improvement" in fast, fast
        tags = [t for t in css(driver, '[data-condition="fast"] .tag.valid') if t.text]
        assert tags and "real improvement" in tags[0].text  # an improvement is not coloured as a warning
        assert driver.execute_script("return document.documentElement.scrollWidth") <= (size or (1180,))[0]
        if name == "phone":  # the history says the same: an improvement beyond the MDC is named as one
            driver.get(css(driver, "#back-link")[0].get_attribute("href") + "/history")  # the visit's patient
            fast_row = wait(driver, "the speed chart's row of the fast pace", lambda d: " ".join(" ".join(
                r.text for r in css(d, '.history-chart[data-metric="walk_speed_m_s"] tr[data-condition="fast"]')).split()))
            assert "+0.21 m/s since the first (beyond the MDC: a real improvement)" in fast_row, fast_row
        if name == "tablet":  # every measure on demand, by name (not the metric keys of the file)
            toggle = next(b for b in css(driver, '[data-condition="fast"] button') if b.text == "Show all measures")
            toggle.click()
            table = wait(driver, "all measures", lambda d: " ".join(
                t.text for t in css(d, '[data-condition="fast"] details > .actions + div:not([hidden]) > table') if t.text))
            assert "Cadence" in table and "Speed over the timed distance" in table, table
            # the fast pace's speed against its previous session: named and coloured as an improvement
            verdicts = [(t.get_attribute("data-verdict"), t.get_attribute("class"), t.get_attribute("textContent"))
                        for t in css(driver, '[data-condition="fast"] .change-ref .tag[data-verdict]')]
            assert ("better", "tag valid", "beyond the MDC: a real improvement") in verdicts, verdicts
            assert "cadence_steps_min" not in table and "Other" not in table, table
