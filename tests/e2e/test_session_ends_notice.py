"""A few minutes before a sign-in's end 12 hours after it (however busy: s28 X8), the header says when, in the
inactivity notice's place and style (s28 X9), in headless Chromium against the real station, on a tablet
(1180×820) and a phone (390×844): "You will be signed out at 18:40, 12 h after signing in; a running trial goes on
recording." (as short as the inactivity notice, to keep to the header's room). Before, only the inactivity was counted down: the page went to the
sign-in page unannounced, on the live view in the middle of a trial too.

The station's clock cannot be moved here: the sessions' sign-in time is moved back in the station's database
(as another program writes it), 11 h 55 min, and the page loaded again (it asks the station the time left when
it loads, then counts it itself). The notice moves nothing on the page (its room is the header's all the time),
and comes on the live view while a trial records, when the inactivity notice is held back.

At the 12-h end (:data:`station.store.logins.MAX_AGE_S`; was tests/e2e/test_session_max_age_words.py, a station of its
own) the live view, a trial recording, goes to the sign-in page, which says so (not "after inactivity") and that Stop
is one sign-in away, and leads back to the live view, where the trial is still there and is saved whole: the
sessions' sign-in time is moved 12 h back, so the station itself ends them, the live stream at its next check of the
session (every 5 s). Back on the live view, the page says only the next trial the station told it (s28 P12, X8's
find): signed in again while a trial recorded, it showed "Next: Eyes open, trial 1" (the trial just ended) beside
"Trial complete." until its status was read again: the trial's "instructions" event named the new trial, but the page
drew the trial of the status it had read before. Every change of the words above the plate is recorded as it happens
(this was tests/e2e/test_live_next_trial_after_sign_in.py: the same run of the same trial).

The two tests share the station of the recording tests (tests/e2e/conftest.py ``recording_station``), each its own
patient and trial, each closing its test at its end. (The patients page's cases, nothing recording, are in
tests/e2e/test_session_ended_words.py, on the station the page-reading tests share.)
"""

from __future__ import annotations

import sqlite3

import pytest

from test_dashboard import ADMIN, api, at, by_id, css, page_width, sign_in, wait
from test_trial_saving_live import recording_on_tablet_and_phone

pytestmark = pytest.mark.e2e

MAX_AGE = ("Your session ended 12 hours after you signed in (a sign-in lasts 12 hours at most, even while in use); "
           "please sign in again.")
RUNNING = ("A trial is being recorded on this station now. Stop is one sign-in away: sign in, and the live view "
           "shows Stop.")

ENDS = """
const n = document.getElementById('session-ends'); const r = n.getBoundingClientRect();
const idle = document.getElementById('session-notice');
return {shown: r.width > 0 && getComputedStyle(n).visibility === 'visible',
        idleShown: getComputedStyle(idle).visibility === 'visible',
        brandShown: getComputedStyle(document.querySelector('.bar .brand')).visibility === 'visible',
        text: document.getElementById('session-ends-text').textContent,
        inside: r.top >= 0 && r.left >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
        background: getComputedStyle(n).backgroundColor, idleBackground: getComputedStyle(idle).backgroundColor,
        header: document.querySelector('header.bar').getBoundingClientRect().height}
"""

HEADER_WITHOUT_IT = """
const n = document.getElementById('session-ends'); n.style.display = 'none';
const h = document.querySelector('header.bar').getBoundingClientRect().height; n.style.display = '';
return h;
"""


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


def sign_ins_made_12_hours_old(station, at_least: int = 2) -> None:
    """Every sign-in of ``station`` made 12 h and 1 s ago, in its database (at least ``at_least`` of them)."""
    db = sqlite3.connect(station.data_dir / "station.sqlite3", isolation_level=None)
    try:
        assert db.execute("UPDATE login_sessions SET created_s = created_s - 12 * 3600 - 1").rowcount >= at_least
    finally:
        db.close()


def sign_ins_moved_back(station, seconds: float, csrf_token: str | None = None) -> None:
    """The sign-ins of ``station`` (or the one whose CSRF token is ``csrf_token``) made ``seconds`` earlier, in its
    database (at least one)."""
    db = sqlite3.connect(station.data_dir / "station.sqlite3", isolation_level=None)
    try:
        which, given = ("WHERE csrf_token = ?", (csrf_token,)) if csrf_token is not None else ("", ())
        assert db.execute(f"UPDATE login_sessions SET created_s = created_s - ? {which}", (seconds, *given)).rowcount >= 1
    finally:
        db.close()


def says_when(driver, name: str) -> dict:
    seen = driver.execute_script(ENDS)
    assert seen["shown"] and seen["inside"] and not seen["idleShown"] and not seen["brandShown"], (name, seen)
    assert seen["background"] == seen["idleBackground"], (name, seen)  # the inactivity notice's style
    text = seen["text"]
    assert any(text == f"You will be signed out at {at}, 12 h after signing in; a running trial goes on recording."
               for at in _about_5_min_from_now(driver)), (name, text)
    assert seen["header"] == driver.execute_script(HEADER_WITHOUT_IT), (name, "the header grew")
    return seen


def _about_5_min_from_now(driver) -> set[str]:
    """The clock times from 4 to 6 min from now, as this browser's pages give times (Station.clock)."""
    now = driver.execute_script("return Date.now()") / 1000
    return {driver.execute_script("return Station.clock(new Date(arguments[0] * 1000).toISOString())", now + s)
            for s in range(4 * 60, 6 * 60 + 1, 30)}


def test_the_live_view_says_it_while_a_trial_records(recording_station, browsers, shots):
    station = recording_station.station
    tablet, phone, _patient = recording_on_tablet_and_phone(station, browsers, "ENDS-01")
    sign_ins_moved_back(station, 12 * 3600 - 5 * 60)
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        driver.refresh()
        wait(driver, f"the {name}'s live stream", lambda d: by_id(d, "conn").text == "live", timeout_s=20)
        wait(driver, f"the {name}'s notice", lambda d: d.execute_script(ENDS)["shown"], timeout_s=10)
        assert by_id(driver, "trial-state").get_attribute("data-state") in ("recording", "checking", "done")
        says_when(driver, name)
        driver.save_screenshot(str(shots / f"live-sign-in-ends-{name}.png"))
    recording_station.left_free(tablet)  # the trial closed while it records (its end is not what this test checks)


def test_a_live_view_whose_session_is_12_hours_old_leads_back_to_the_trial_still_recording(recording_station, browsers,
                                                                                            shots):
    station = recording_station.station
    tablet, phone, _patient = recording_on_tablet_and_phone(station, browsers, "AGE-01")
    sign_ins_made_12_hours_old(station)
    for driver, name, size in ((tablet, "tablet", (1180, 820)), (phone, "phone", (390, 844))):
        wait(driver, f"the {name}'s sign-in page", lambda d: "/login" in d.current_url and "expired=age" in d.current_url,
             timeout_s=15)
        assert [p.text for p in css(driver, "p.message")] == [MAX_AGE, RUNNING]
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
    recording_station.left_free(tablet)
