"""A login session ends 12 h after its sign-in however busy (s28 X8; :data:`station.store.logins.MAX_AGE_S`),
and the pages say so, in headless Chromium against the real station, on a tablet (1180×820) and a phone
(390×844): on the live view while a trial records, which goes on, the sign-in page (not "after inactivity") says
Stop is one sign-in away and leads back to the live view, where the trial is still there and is saved whole (the
patients page's case, nothing recording, is in tests/e2e/test_session_ended_words.py).

The station's clock cannot be moved here: the sessions' sign-in time is moved 12 h back in the station's
database (as another program writes it), so the station itself ends them, the live stream at its next check
of the session (every 5 s) and the API at the next request.

Back on the live view, the page says only the next trial the station told it (s28 P12, X8's find): signed in
again while a trial recorded, it showed "Next: Eyes open, trial 1" (the trial just ended) beside "Trial
complete." until its status was read again: the trial's "instructions" event named the new trial, but the page
drew the trial of the status it had read before. Every change of the words above the plate is recorded as it
happens (this was tests/e2e/test_live_next_trial_after_sign_in.py, the same run of the same trial: one station
and one 30-s trial for both).
"""

from __future__ import annotations

import pytest

from test_dashboard import ADMIN, api, at, by_id, css, page_width, sign_in, wait
from test_session_ended_words import MAX_AGE as WORDS, sign_ins_made_12_hours_old
from test_trial_saving_live import recording_on_tablet_and_phone

pytestmark = pytest.mark.e2e

RUNNING = ("A trial is being recorded on this station now. Stop is one sign-in away: sign in, and the live view "
           "shows Stop.")

WATCH = """
window.__seen = [];
const note = () => window.__seen.push([document.getElementById("state-condition").textContent,
                                       document.getElementById("message").textContent]);
const watch = new MutationObserver(note);
for (const id of ["state-condition", "message"])
  watch.observe(document.getElementById(id), {childList: true, characterData: true, subtree: true});
note();
"""
"""Records every change of the words above the plate (the trial named, the message) as it happens."""


def test_a_live_view_whose_session_is_12_hours_old_leads_back_to_the_trial_still_recording(station_for, browsers,
                                                                                            shots):
    station = station_for("patient")
    tablet, phone, _patient = recording_on_tablet_and_phone(station, browsers, "AGE-01")
    sign_ins_made_12_hours_old(station)
    for driver, name, size in ((tablet, "tablet", (1180, 820)), (phone, "phone", (390, 844))):
        wait(driver, f"the {name}'s sign-in page", lambda d: "/login" in d.current_url and "expired=age" in d.current_url,
             timeout_s=15)
        assert [p.text for p in css(driver, "p.message")] == [WORDS, RUNNING]
        assert "inactivity" not in driver.page_source
        assert page_width(driver) <= size[0] and css(driver, "input[name=username]")[0].is_displayed()
        driver.save_screenshot(str(shots / f"login-max-age-trial-{name}.png"))
    sign_in(tablet, station.url, ADMIN)
    wait(tablet, "the live view again", at("/live"))
    wait(tablet, "the live stream", lambda d: by_id(d, "conn").text == "live")
    assert by_id(tablet, "trial-state").get_attribute("data-state") == "recording"  # the first trial, still going
    tablet.execute_script(WATCH)
    wait(tablet, "the trial's end, the next one offered",
         lambda d: "Next: Eyes closed" in by_id(d, "state-condition").text and "Trial complete." in by_id(d, "message").text,
         timeout_s=60)
    tablet.save_screenshot(str(shots / "live-after-sign-in-tablet.png"))
    seen = tablet.execute_script("return window.__seen")
    # the moment it happened: the trial just ended, its result said, and the next trial named as it is
    after_end = [condition for condition, said in seen if "Trial complete." in said]
    assert after_end and all(not c.startswith("Next:") or c == "Next: Eyes closed" for c in after_end), seen
    assert not any(c.startswith("Next: Eyes open") for c, _said in seen), seen
    assert "Next: Eyes closed" in css(tablet, "body")[0].text
    wait(tablet, "the trial saved", lambda d: len(api(d, "GET", "/api/station")["body"]["service"]["run"]["trial_ids"]) == 1,
         timeout_s=15)
    run = api(tablet, "GET", "/api/station")["body"]["service"]["run"]
    trial = api(tablet, "GET", f"/api/trials/{run['trial_ids'][0]}")["body"]
    assert trial["status"] == "complete" and trial["frame_count"] > 0 and trial["frames_lost"] == 0
