"""A login session that ended because the station's clock was set back says so, in headless Chromium
against the real station, on a tablet (1180×820) and a phone (390×844).

The station ends a session whose last activity lies more than 60 s in the future (used while the
clock ran ahead, NTP set it back since: :mod:`station.store.logins`); its API answers ``401`` with
``ended: "clock_set_back"``. The real clock cannot be stepped here, so the page's own API helper
(``Station.api``) is given that answer, after the session was ended on the station: the helper must
take the clinician to the sign-in page, which says why (not "after inactivity"). The test reads pages
only: it shares the station and browsers of ``reading_pages`` (tests/e2e/conftest.py), each signed in
again at its end.
"""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, at, sign_in_page_says, signed_in_again, wait

pytestmark = pytest.mark.e2e

CLOCK_ANSWER = """
const done = arguments[0];
const csrf = document.querySelector('meta[name="csrf-token"]').content;
// the session is ended on the station first; once it has answered, every request of the page (its own
// polls too) gets the station's answer for a session ended by the clock. (Not before: a poll answered so
// while the sign-out was still on its way took the page to the sign-in page, and this script, unloaded
// with it, never answered: a "script timeout" once in a full run.)
window.fetch.bind(window)("/api/logout", {method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf}})
  .then((r) => {
    window.fetch = async () => new Response(JSON.stringify({error: "your session ended because the station's clock "
      + "was set back (corrected by the network's time); sign in again", expired: true, ended: "clock_set_back"}),
      {status: 401, headers: {"Content-Type": "application/json"}});
    return Station.api("GET", "/api/patients").catch(() => done(r.status));
  });
"""


def test_the_sign_in_page_says_the_clock_was_set_back(reading_pages, shots):
    url = reading_pages.station.url
    tablet, phone, _ = reading_pages.tablet_and_phone(lambda data_dir: None)
    for name, size, driver in (("tablet", TABLET, tablet), ("phone", PHONE, phone)):
        driver.get(url + "/patients")
        wait(driver, f"the {name}'s patients page", at("/patients"))
        driver.set_script_timeout(10)
        assert driver.execute_async_script(CLOCK_ANSWER) in (200, 204)  # signed out on the station
        sign_in_page_says(driver, size, "expired=clock", "Your session ended because the station's clock was set back "
                          "(corrected by the network's time); please sign in again.", shots / f"login-clock-{name}.png")
        signed_in_again(driver, url)
