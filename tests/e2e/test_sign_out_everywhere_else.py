""""Sign out everywhere else" on the account page (s28 X8; X7's L5), in headless Chromium against the real
station, on a tablet (1180×820) and a phone (390×844): the tablet's press ends the phone's sign-in, whose
open live view goes to the sign-in page saying it was signed out by "Sign out everywhere else" (s28 X9); the
tablet stays signed in and is told how many sign-ins were ended. Screenshots of both pages at both sizes. Nothing is
recorded: the test shares the station and browsers of ``reading_pages`` (tests/e2e/conftest.py); the tablet, signed
out at the end by the phone's press, is signed in again for the next test."""

from __future__ import annotations

import pytest

from test_dashboard import ADMIN, PHONE, TABLET, at, by_id, css, page_width, sign_in, sign_in_page_says, \
    signed_in_again, wait

pytestmark = pytest.mark.e2e

OTHERS = ("You were signed out here by \u201cSign out everywhere else\u201d in another tab, window or device signed in "
          "as you; please sign in again (if that was not you, change your password on your account page).")


def _press(driver) -> None:
    button = [b for b in css(driver, "form.card button[type=submit]") if b.text == "Sign out everywhere else"]
    assert len(button) == 1
    button[0].click()


def test_sign_out_everywhere_else_ends_the_phone_s_sign_in_and_keeps_the_tablet_s(reading_pages, shots):
    url = reading_pages.station.url
    tablet, phone, _ = reading_pages.tablet_and_phone(lambda data_dir: None)
    phone.get(url + "/live")
    wait(phone, "the phone's live stream", lambda d: by_id(d, "conn").text == "live")

    tablet.get(url + "/account")
    assert page_width(tablet) <= TABLET[0]
    tablet.save_screenshot(str(shots / "account-tablet.png"))
    _press(tablet)
    wait(tablet, "the account page's answer", lambda d: css(d, "p.message"))
    assert css(tablet, "p.message")[0].text == ("Signed out everywhere else: 1 other sign-in was ended. "
                                                "You stay signed in here.")
    tablet.save_screenshot(str(shots / "account-signed-out-others-tablet.png"))
    sign_in_page_says(phone, PHONE, "signed_out=others", OTHERS, shots / "login-signed-out-others-phone.png")

    tablet.get(url + "/patients")  # the tablet is still signed in
    wait(tablet, "the tablet's patients page", at("/patients"))
    sign_in(phone, url, ADMIN)
    wait(phone, "the phone's live view again", at("/live"))
    phone.get(url + "/account")
    _press(phone)
    wait(phone, "the phone's account page's answer", lambda d: css(d, "p.message"))
    assert page_width(phone) <= PHONE[0]
    assert css(phone, "p.message")[0].text.startswith("Signed out everywhere else: 1 other sign-in was ended.")
    phone.save_screenshot(str(shots / "account-signed-out-others-phone.png"))
    signed_in_again(tablet, url)  # signed out by the phone's press
