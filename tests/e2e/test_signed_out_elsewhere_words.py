"""A live view left open while its user signs out elsewhere (another tab, a password change, an
administrator) says so on the sign-in page it leads to, not "ended after inactivity" (X2, session 25),
in headless Chromium against the real station, on a tablet (1180×820) and a phone (390×844).

The live stream keeps the login session it was opened with, so it learns of the sign-out at its next
check of the session (every 5 s) and sends ``logout`` ``{expired: false, ended: "signed_out_tab"}``
(:func:`web.live.logout_reason`); live.js takes the clinician to ``/login?...&signed_out=tab``. The page's own
requests under way as the other tab signed out are refused with the same reason (the store keeps sign-outs since
s32): one of them, answered first, took the page to the inactivity sign-in page (1 run in 10 here, under load).
A sign-out the station could not record (a failing SD card) says ``signed_out_unrecorded`` the same way;
its page (``signed_out=unrecorded``) is shown here too. Nothing is recorded: the test shares the station
and browsers of ``reading_pages`` (tests/e2e/conftest.py), each signed in again at its end.
"""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, at, sign_in_page_says, signed_in_again, wait

pytestmark = pytest.mark.e2e

SIGN_OUT_ELSEWHERE = """
const done = arguments[0];
const csrf = document.querySelector('meta[name="csrf-token"]').content;
// the sign-out of another tab: the same cookie, while this page's live stream stays open
fetch("/api/logout", {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf}})
  .then((r) => done(r.status));
"""


def test_a_live_view_says_its_user_was_signed_out_elsewhere(reading_pages, shots):
    url = reading_pages.station.url
    tablet, phone, _ = reading_pages.tablet_and_phone(lambda data_dir: None)
    for name, size, driver in (("tablet", TABLET, tablet), ("phone", PHONE, phone)):
        driver.get(url + "/live")
        wait(driver, "the live view", at("/live"))
        driver.set_script_timeout(10)
        assert driver.execute_async_script(SIGN_OUT_ELSEWHERE) == 204
        sign_in_page_says(driver, size, "signed_out=tab", "You were signed out in another tab or window of this "
                          "browser; please sign in again.", shots / f"login-signed-out-tab-{name}.png")
        # a session ended elsewhere whose reason the station did not keep (a station before it kept sign-outs)
        driver.get(url + "/login?next=%2Flive&signed_out=elsewhere")
        sign_in_page_says(driver, size, "signed_out=elsewhere", "You were signed out from another tab, window or "
                          "device, by a change of your password or by an administrator; please sign in again.",
                          shots / f"login-signed-out-elsewhere-{name}.png")
        driver.get(url + "/login?next=%2Flive&signed_out=unrecorded")
        sign_in_page_says(driver, size, "signed_out=unrecorded", "You are signed out on this browser; the station could "
                          "not record the sign-out (its storage failed to write or is full): tell the administrator.",
                          shots / f"login-signed-out-unrecorded-{name}.png")
        signed_in_again(driver, url)
