"""The live page while a test is being opened on a slow SD card, on a tablet (1180x820) and a phone
(390x844): the visit's write waiting for the card (over OPENING_SAID_AFTER_S, 1 s), both pages say in the
card's words that the test is being opened and that it opens by itself once the card has written, on the
screen; the Open test button is not offered again meanwhile; once the card has written, the test opens
(Start offered), the words are gone, and the patient has the one visit. The words name the test being opened (its
title), on the page that follows too. The state's badge says the test is
being opened meanwhile, not "no test open". Screenshots in the test's shots
folder (opening, then open).

The real station (``balance-station run --simulate``) on a slow card: the shared recording station's
(tests/e2e/conftest.py ``recording_station``: its COMMIT waits while the flag file ``slow_card`` exists), nothing in
the station's code."""

from __future__ import annotations

import time

import pytest

from test_dashboard import ADMIN, PHONE, api, at, by_id, select_protocol, sign_in, signed_in_again, wait
from test_full_disk_live import ON_SCREEN

pytestmark = pytest.mark.e2e

OPENING = ("Opening the test “Romberg test (feet together, eyes open then closed)”: the station's storage (its SD card) "
           "is slow to write just now")
"""The words on both pages, the test named: the tablet that follows did not choose it (P8's read, session 28: it said
'Opening the test: ...' without which)."""
SLOW_FOR_S = 6.0
"""How long the card holds the visit's COMMIT once both pages say it is being opened, s (below the open
command's 10-s answer: the tap's request is answered with the test opened)."""


def _message(driver) -> str:
    return by_id(driver, "message").text


def test_a_test_opened_on_a_slow_card_says_it_is_being_opened_then_opens(recording_station, browsers, shots):
    flag = recording_station.slow_card
    station = recording_station.station
    url = station.url
    tablet, _ = browsers("tablet")
    signed_in_again(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "OPEN-SLOW-01", "birth_year": 1950, "sex": "F"})
    assert created["status"] == 201, created
    patient_id = created["body"]["id"]
    live = f"{url}/live?patient={patient_id}"
    phone, _ = browsers("phone", PHONE)
    phone.get(url + "/login")
    sign_in(phone, url, ADMIN)
    wait(phone, "the phone's patients page", at("/patients"))
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        driver.get(live)
        wait(driver, f"the {name}'s live stream", lambda d: by_id(d, "conn").text == "live")
    select_protocol(phone, "romberg")

    flag.touch()  # the card slow from now on: the visit's COMMIT waits
    try:
        by_id(phone, "open-run").click()  # on the phone (the tablet follows: its controls' column shows the words)
        for driver, name in ((tablet, "tablet"), (phone, "phone")):
            wait(driver, f"the opening words on the {name}", lambda d: _message(d).startswith(OPENING), timeout_s=20)
            words, on_screen = _message(driver), driver.execute_script(ON_SCREEN, "message")
            driver.save_screenshot(str(shots / f"{name}-opening-on-a-slow-card.png"))
            assert "failed" not in words and "another program" not in words, words
            assert words.endswith("Please wait: the test opens by itself as soon as the card has written it (Start then "
                                  "becomes available); there is no need to press Open test again."), words
            assert on_screen, f"{name}: the opening words are off the screen"
            assert by_id(driver, "trial-state").text.lower() == "opening the test"  # (was "no test open")
            assert not by_id(driver, "open-run").is_enabled(), f"{name}: Open test offered again while opening"
            assert not by_id(driver, "btn-start").is_enabled(), f"{name}: Start offered before the test is open"
            assert not by_id(driver, "page-error").is_displayed(), by_id(driver, "page-error").text
        time.sleep(SLOW_FOR_S)
    finally:
        flag.unlink(missing_ok=True)  # the card writes the visit
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        wait(driver, f"the test open on the {name}", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
        wait(driver, f"the opening words gone on the {name}", lambda d: OPENING not in _message(d), timeout_s=10)
        assert not by_id(driver, "page-error").is_displayed(), by_id(driver, "page-error").text
        driver.save_screenshot(str(shots / f"{name}-opened.png"))
    run = api(tablet, "GET", "/api/station")["body"]["service"]["run"]
    assert run is not None and run["patient_id"] == patient_id, run
    visits = api(tablet, "GET", f"/api/patients/{patient_id}")["body"]["sessions"]
    assert [v["id"] for v in visits] == [run["session_id"]], visits  # the one visit, the test's
    recording_station.left_free(tablet)
