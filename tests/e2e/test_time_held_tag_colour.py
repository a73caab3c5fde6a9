"""A single-leg hold that ended before the trial's 30 s is a result, coloured by what it means (P6's five-second read,
session 27): every short hold was tagged "held 12.1 s" in amber, the warning colour, for what is a normal result.
Now, on the visit results, against the published cut-offs that apply to the patient (Vellas et al. 1997's 5 s for a
75-year-old): below one the warning (amber), at or above it not (green); with none applied (a patient after stroke,
the cut-off set in healthy people), neutral. Each trial's own page says the hold alike: its box amber below the
cut-off only, else plain (it was amber for every short hold; P8's read, session 28). At tablet and phone size."""

from __future__ import annotations

import time

import pytest

from test_dashboard import PHONE, TABLET, css, wait

pytestmark = pytest.mark.e2e

HOLDS = {"HELD-75": (75, [], {"left": 3.2, "right": 12.1}), "HELD-STROKE": (65, ["stroke:left"], {"left": 12.1})}
"""identifier: (age, conditions, {leg: seconds held before the foot came down})"""


def stored_holds(data_dir) -> dict[str, int]:
    """Each patient's single-leg session of short holds: identifier -> session id."""
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)  # beside the running station
    actor = Actor(None, "test")
    year = time.gmtime().tm_year
    out = {}
    try:
        for identifier, (age, conditions, holds) in HOLDS.items():
            patient = store.patients.create({"identifier": identifier, "birth_year": year - age, "sex": "F",
                                             "conditions": conditions}, actor=actor)
            session = store.sessions.create(patient["id"], {"label": "single-leg"}, actor=actor)
            for leg, held in holds.items():
                writer = store.trials.start_trial(session["id"], "single-leg", leg, {"method": "nominal"}, 100.0, actor=actor)
                outcome = {"protocol": "single-leg", "condition": leg, "trial": 1, "attempt": 1, "valid": True,
                           "end_reason": "touchdown", "issues": [], "warnings": [], "completed": False,
                           "hold_end": None, "duration_s": 30.0, "time_held_s": held}
                writer.finish({"fs_hz": 100.0, "samples": 0, "profile": "station", "version": "test",
                               "metrics": {"mean_velocity_cm_s": 3.0}, "trial": outcome}, valid=True, reason=None)
            out[identifier] = session["id"]
    finally:
        store.close()
    return out


TAGS = """return [...document.querySelectorAll('.protocol-results[data-protocol="single-leg"] .condition')].map((c) =>
  [c.dataset.condition, [...c.querySelectorAll('.trial-list li .tag')].map((t) => [t.textContent, t.className])]);"""
LINKS = """return [...document.querySelectorAll('.protocol-results[data-protocol="single-leg"] .condition')].map((c) =>
  [c.dataset.condition, c.querySelector('.trial-list li a[href^="/trials/"]').getAttribute('href')]);"""
"""Each condition's first trial's page."""


def test_a_short_hold_is_coloured_by_the_cut_off_that_applies(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, sessions = reading_pages.tablet_and_phone(stored_holds)
    boxes = {}
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        seen = {}
        for identifier, session_id in sessions.items():
            driver.get(f"{station.url}/sessions/{session_id}")
            wait(driver, "the single-leg trials", lambda d: css(d, ".protocol-results .trial-list li .tag"), timeout_s=20)
            seen[identifier] = dict(driver.execute_script(TAGS))
            driver.execute_script("document.querySelector('.trial-list').scrollIntoView({block: 'center'})")
            driver.save_screenshot(str(shots / f"held-tags-{identifier}-{name}.png"))
            # each trial's own page says the hold in the same colours (its box amber below the cut-off only)
            for leg, href in driver.execute_script(LINKS):
                driver.get(f"{station.url}{href}")
                box = wait(driver, "the trial's verdict", lambda d: css(d, "#held-box"), timeout_s=20)[0]
                boxes[(identifier, leg, name)] = (box.text, box.get_attribute("class"))
                driver.save_screenshot(str(shots / f"held-trial-{identifier}-{leg}-{name}.png"))
        # below Vellas's 5 s (it applies to a 75-year-old): the warning; 12.1 s, above it: not a warning
        assert seen["HELD-75"] == {"left": [["held 3.2 s", "tag flag"]], "right": [["held 12.1 s", "tag valid"]]}, seen
        # after stroke the cut-off is not applied: nothing to read the hold against, neutral
        assert seen["HELD-STROKE"] == {"left": [["held 12.1 s", "tag neutral"]]}, seen
    for name in ("tablet", "phone"):  # the trial page's box: amber was every short hold's (P8, session 28)
        assert boxes[("HELD-75", "left", name)][1] == "warn-box", boxes
        assert boxes[("HELD-75", "right", name)][1] == "note-box", boxes
        assert boxes[("HELD-STROKE", "left", name)][1] == "note-box", boxes
        assert boxes[("HELD-75", "right", name)][0].startswith("Held 12.1 s of 30 s"), boxes
        assert driver.execute_script("return document.documentElement.scrollWidth") <= (TABLET if driver is tablet else PHONE)[0]
