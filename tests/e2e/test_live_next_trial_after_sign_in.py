"""The live page says only the next trial the station told it (s28 P12, X8's find): signed in again while a
trial recorded (the sign-in 12 hours old), the page showed "Next: Eyes open, trial 1" (the trial just ended)
beside "Trial complete." until its status was read again: the trial's "instructions" event named the new
trial, but the page drew the trial of the status it had read before. Watched in headless Chromium against the
real station, on a tablet (1180×820), every change of the words above the plate recorded as it happened."""

from __future__ import annotations

import pytest

from test_dashboard import ADMIN, at, by_id, css, sign_in, wait
from test_session_max_age_words import _sign_ins_made_12_hours_old
from test_trial_saving_live import recording_on_tablet_and_phone

pytestmark = pytest.mark.e2e

WATCH = """
window.__seen = [];
const note = () => window.__seen.push([document.getElementById("state-condition").textContent,
                                       document.getElementById("message").textContent]);
const watch = new MutationObserver(note);
for (const id of ["state-condition", "message"])
  watch.observe(document.getElementById(id), {childList: true, characterData: true, subtree: true});
note();
"""


def test_after_signing_in_again_mid_trial_the_next_trial_is_the_one_the_station_named(station_for, browsers, shots):
    station = station_for("patient")
    tablet, _phone, _patient = recording_on_tablet_and_phone(station, browsers, "NEXT-01")
    _sign_ins_made_12_hours_old(station)
    wait(tablet, "the sign-in page", lambda d: "/login" in d.current_url and "expired=age" in d.current_url,
         timeout_s=15)
    sign_in(tablet, station.url, ADMIN)
    wait(tablet, "the live view again", at("/live"))
    wait(tablet, "the live stream", lambda d: by_id(d, "conn").text == "live")
    assert by_id(tablet, "trial-state").get_attribute("data-state") == "recording"  # the first trial, still going
    tablet.execute_script(WATCH)
    wait(tablet, "the trial's end, the next one offered",
         lambda d: "Next: Eyes closed" in by_id(d, "state-condition").text and "Trial complete." in by_id(d, "message").text,
         timeout_s=60)
    tablet.save_screenshot(str(shots / "live-next-after-sign-in-tablet.png"))
    seen = tablet.execute_script("return window.__seen")
    # the moment it happened: the trial just ended, its result said, and the next trial named as it is
    after_end = [condition for condition, said in seen if "Trial complete." in said]
    assert after_end and all(not c.startswith("Next:") or c == "Next: Eyes closed" for c in after_end), seen
    assert not any(c.startswith("Next: Eyes open") for c, _said in seen), seen
    assert "Next: Eyes closed" in css(tablet, "body")[0].text
