"""A few minutes before a sign-in's end 12 hours after it (however busy: s28 X8), the header says when, in the
inactivity notice's place and style (s28 X9), in headless Chromium against the real station, on a tablet
(1180×820) and a phone (390×844): "You will be signed out at 18:40, 12 h after signing in; a running trial goes on
recording." (as short as the inactivity notice, to keep to the header's room). Before, only the inactivity was counted down: the page went to the
sign-in page unannounced, on the live view in the middle of a trial too.

The station's clock cannot be moved here: the sessions' sign-in time is moved back in the station's database
(as another program writes it), 11 h 55 min, and the page loaded again (it asks the station the time left when
it loads, then counts it itself). The notice moves nothing on the page (its room is the header's all the time),
and comes on the live view while a trial records, when the inactivity notice is held back. (The patients page's case,
nothing recording, is in tests/e2e/test_session_ended_words.py, on the station the page-reading tests share.)
"""

from __future__ import annotations

import sqlite3

import pytest

from test_dashboard import by_id, wait
from test_trial_saving_live import recording_on_tablet_and_phone

pytestmark = pytest.mark.e2e

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


def test_the_live_view_says_it_while_a_trial_records(station_for, browsers, shots):
    station = station_for("patient")
    tablet, phone, _patient = recording_on_tablet_and_phone(station, browsers, "ENDS-01")
    sign_ins_moved_back(station, 12 * 3600 - 5 * 60)
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        driver.refresh()
        wait(driver, f"the {name}'s live stream", lambda d: by_id(d, "conn").text == "live", timeout_s=20)
        wait(driver, f"the {name}'s notice", lambda d: d.execute_script(ENDS)["shown"], timeout_s=10)
        assert by_id(driver, "trial-state").get_attribute("data-state") in ("recording", "checking", "done")
        says_when(driver, name)
        driver.save_screenshot(str(shots / f"live-sign-in-ends-{name}.png"))
