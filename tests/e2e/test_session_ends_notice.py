"""A few minutes before a sign-in's end 12 hours after it (however busy: s28 X8), the header says when, in the
inactivity notice's place and style (s28 X9), in headless Chromium against the real station, on a tablet
(1180×820) and a phone (390×844): "You will be signed out at 18:40, 12 h after signing in; a running trial goes on
recording." (as short as the inactivity notice, to keep to the header's room). Before, only the inactivity was counted down: the page went to the
sign-in page unannounced, on the live view in the middle of a trial too.

The station's clock cannot be moved here: the sessions' sign-in time is moved back in the station's database
(as another program writes it), 11 h 55 min, and the page loaded again (it asks the station the time left when
it loads, then counts it itself). The notice moves nothing on the page (its room is the header's all the time),
and comes on the live view while a trial records, when the inactivity notice is held back.
"""

from __future__ import annotations

import sqlite3

import pytest

from test_dashboard import admin_on_tablet_and_phone, by_id, page_width, wait
from test_session_notice import assert_nothing_moved, controls
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


def _sign_ins_moved_back(station, seconds: float) -> None:
    db = sqlite3.connect(station.data_dir / "station.sqlite3", isolation_level=None)
    try:
        assert db.execute("UPDATE login_sessions SET created_s = created_s - ?", (seconds,)).rowcount >= 1
    finally:
        db.close()


def _says_when(driver, name: str) -> dict:
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


def test_a_page_says_when_the_sign_in_ends_a_few_minutes_before_and_nothing_moves(station, browsers, shots):
    for name, size, driver in admin_on_tablet_and_phone(browsers, station.url):
        driver.get(station.url + "/patients")
        before = controls(driver)
        assert not driver.execute_script(ENDS)["shown"]  # a fresh sign-in: nothing said
        assert driver.execute_script(ENDS)["header"] == driver.execute_script(HEADER_WITHOUT_IT), name
        _sign_ins_moved_back(station, 12 * 3600 - 5 * 60)  # 5 min left
        driver.get(station.url + "/patients")
        wait(driver, "the notice", lambda d: d.execute_script(ENDS)["shown"], timeout_s=10)
        _says_when(driver, name)
        assert page_width(driver) <= size[0]
        assert_nothing_moved(name, before, controls(driver), ())
        driver.save_screenshot(str(shots / f"sign-in-ends-{name}.png"))


def test_the_live_view_says_it_while_a_trial_records(station_for, browsers, shots):
    station = station_for("patient")
    tablet, phone, _patient = recording_on_tablet_and_phone(station, browsers, "ENDS-01")
    _sign_ins_moved_back(station, 12 * 3600 - 5 * 60)
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        driver.refresh()
        wait(driver, f"the {name}'s live stream", lambda d: by_id(d, "conn").text == "live", timeout_s=20)
        wait(driver, f"the {name}'s notice", lambda d: d.execute_script(ENDS)["shown"], timeout_s=10)
        assert by_id(driver, "trial-state").get_attribute("data-state") in ("recording", "checking", "done")
        _says_when(driver, name)
        driver.save_screenshot(str(shots / f"live-sign-in-ends-{name}.png"))
