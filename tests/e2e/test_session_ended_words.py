"""A page whose login session was ended on purpose elsewhere says why on the sign-in page it goes to (s28 X9),
in headless Chromium against the real station, on a tablet (1180×820) and a phone (390×844).

The patients page's own request (Station.api, app.js) is answered 401 ``ended: "signed_out_others"``,
``"password_changed"`` or ``"disabled"``: "Sign out everywhere else" pressed on the other device, the user's
password changed by an administrator, the account disabled by one. The sign-in page said "Your session ended
after inactivity" for all three. Each page is looked at on both sizes (screenshots).

A session ends 12 h after its sign-in however busy (s28 X8; :data:`station.store.logins.MAX_AGE_S`): a request of the
page's own is answered 401 ``ended: "max_age"`` and the sign-in page says so (the live view's case, a trial
recording, is tests/e2e/test_session_ends_notice.py). The station's clock cannot be moved here: the sessions'
sign-in time is moved 12 h back in the station's database (as another program writes it).

A few minutes before that end, the header says when, in the inactivity notice's place (s28 X9), and nothing on the page
moves (the live view's case, a trial recording, is tests/e2e/test_session_ends_notice.py): the page's own sign-in is
moved back 11 h 55 min and the page loaded again.

Nothing is recorded: the tests share the station and browsers of ``reading_pages`` (tests/e2e/conftest.py), each
signed in again as the administrator at their end.
"""

from __future__ import annotations

import pytest

from test_dashboard import ADMIN, PHONE, TABLET, api, at, css, page_width, sign_in, sign_in_page_says, \
    signed_in_again, wait
from test_session_ends_notice import ENDS, HEADER_WITHOUT_IT, MAX_AGE, says_when, sign_ins_made_12_hours_old, \
    sign_ins_moved_back
from test_session_notice import assert_nothing_moved, controls

pytestmark = pytest.mark.e2e

WORDS = {
    "others": ("You were signed out here by \u201cSign out everywhere else\u201d in another tab, window or device "
               "signed in as you; please sign in again (if that was not you, change your password on your account "
               "page)."),
    "password": ("You were signed out because your password was changed (by you on another device, or by an "
                 "administrator); please sign in with the new password."),
    "disabled": ("You were signed out because an administrator disabled your account; ask an administrator if you "
                 "need it again."),
}
CLINICIAN = ("cat", "cat password 123")

ASK = """
const done = arguments[0];
if (typeof Station === "undefined") done(location.pathname);  // the page's own request went first: signed out
else Station.api("GET", "/api/patients").then(() => done("answered"), (err) => done(err.status));
"""


def _asks(driver) -> None:
    """The page's own request, as any of its buttons makes: refused, it goes to the sign-in page. The page may
    have asked first (its time-left check of the 12-h end, app.js) and be there already: the same 401, met by
    the page's own request a moment earlier (a run under load found it so: "Station is not defined")."""
    driver.set_script_timeout(10)
    assert driver.execute_async_script(ASK) in (401, "/login")


def _on_the_patients_page(drivers, url) -> None:
    for driver in drivers:
        driver.set_script_timeout(10)
        driver.get(url + "/patients")
        wait(driver, "the patients page", at("/patients"))


def test_pages_whose_sessions_were_ended_on_purpose_say_why_on_the_sign_in_page(reading_pages, browsers, shots):
    url = reading_pages.station.url
    tablet, phone, _ = reading_pages.tablet_and_phone(lambda data_dir: None)
    _on_the_patients_page((tablet, phone), url)
    created = api(tablet, "POST", "/api/users", {"username": CLINICIAN[0], "password": CLINICIAN[1],
                                                 "role": "clinician"})
    assert created["status"] == 201, created
    cat = created["body"]["id"]

    # "Sign out everywhere else" on the phone: the tablet's page
    assert api(phone, "POST", "/api/account/sign-out-others")["body"]["ended"] == 1
    _asks(tablet)
    sign_in_page_says(tablet, TABLET, "signed_out=others", WORDS["others"], shots / "login-others-tablet.png")

    # the phone's clinician: the administrator (the tablet, signed in again) sets her a new password
    sign_in(tablet, url, ADMIN)
    wait(tablet, "the tablet's patients page again", at("/patients"))
    phone.get(url + "/patients")
    css(phone, "nav form button[type=submit]")[0].click()  # Sign out
    wait(phone, "the phone's sign-in page", at("/login"))
    sign_in(phone, url, CLINICIAN)
    wait(phone, "the clinician's patients page", at("/patients"))
    assert api(tablet, "PATCH", f"/api/users/{cat}", {"password": "another password 1"})["status"] == 200
    _asks(phone)
    sign_in_page_says(phone, PHONE, "signed_out=password", WORDS["password"], shots / "login-password-phone.png")

    # signed in with the new password; the administrator disables the account
    sign_in(phone, url, ("cat", "another password 1"))
    wait(phone, "the clinician's patients page again", at("/patients"))
    assert api(tablet, "PATCH", f"/api/users/{cat}", {"disabled": True})["status"] == 200
    _asks(phone)
    sign_in_page_says(phone, PHONE, "signed_out=disabled", WORDS["disabled"], shots / "login-disabled-phone.png")

    # each page on the other size too
    for name, size, driver in (("tablet", TABLET, browsers("tablet-2", TABLET)[0]), ("phone", PHONE, phone)):
        for why, words in WORDS.items():
            driver.get(f"{url}/login?next=%2Fpatients&signed_out={why}")
            assert css(driver, "p.message")[0].text == words
            assert page_width(driver) <= size[0] and css(driver, "input[name=username]")[0].is_displayed()
            driver.save_screenshot(str(shots / f"login-{why}-{name}-again.png"))
    signed_in_again(phone, url)  # the shared phone as the next test expects it (the tablet is signed in again above)


def test_a_page_whose_session_is_12_hours_old_says_so_on_the_sign_in_page(reading_pages, shots):
    """A request of the patients page's own (Station.api, app.js) is answered 401 ``ended: "max_age"``."""
    url = reading_pages.station.url
    tablet, phone, _ = reading_pages.tablet_and_phone(lambda data_dir: None)
    _on_the_patients_page((tablet, phone), url)
    sign_ins_made_12_hours_old(reading_pages.station)
    for name, size, driver in (("tablet", TABLET, tablet), ("phone", PHONE, phone)):
        _asks(driver)
        sign_in_page_says(driver, size, "expired=age", MAX_AGE, shots / f"login-max-age-{name}.png")
    for driver in (tablet, phone):
        signed_in_again(driver, url)


def test_a_page_says_when_the_sign_in_ends_a_few_minutes_before_and_nothing_moves(reading_pages, shots):
    url = reading_pages.station.url
    tablet, phone, _ = reading_pages.tablet_and_phone(lambda data_dir: None)
    for name, size, driver in (("tablet", TABLET, tablet), ("phone", PHONE, phone)):
        _on_the_patients_page((driver,), url)
        before = controls(driver)
        assert not driver.execute_script(ENDS)["shown"]  # a sign-in far from its end: nothing said
        assert driver.execute_script(ENDS)["header"] == driver.execute_script(HEADER_WITHOUT_IT), name
        csrf = driver.execute_script("return document.querySelector('meta[name=\"csrf-token\"]').content")
        sign_ins_moved_back(reading_pages.station, 12 * 3600 - 5 * 60, csrf)  # this page's sign-in: 5 min left
        driver.get(url + "/patients")
        wait(driver, "the notice", lambda d: d.execute_script(ENDS)["shown"], timeout_s=10)
        says_when(driver, name)
        assert page_width(driver) <= size[0]
        assert_nothing_moved(name, before, controls(driver), ())
        driver.save_screenshot(str(shots / f"sign-in-ends-{name}.png"))
        # a fresh sign-in for the next test (this one ends in 5 min)
        assert api(driver, "POST", "/api/logout")["status"] == 204
        signed_in_again(driver, url)
