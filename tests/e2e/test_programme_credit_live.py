"""A treadmill session started from a programme's session says on the live page that it was counted as that
session, in headless Chromium against the real station (simulated hardware: the virtual walker walks the belt),
at tablet (1180x820) and phone (390x844) size.

Before, the live page showed the session's result and nothing of the programme: whether the session counted (the
station credits it as the programme session's dose once stored, Programmes.credit_run_trial) was to be found on
the programme page. Now it reads "Counted as session 1 of the programme Backward treadmill walking after stroke (4
weeks): 6 s walked of 30 min planned." with a link back to the programme, as the programme page names its sessions.

The file's two tests share one station (each its own patient on its own programme, each closing the test it opened),
whose administrator is made in its store (the first-run setup page is tests/e2e/test_dashboard.py's)."""

from __future__ import annotations

import re

import pytest

from e2e_support import PHONE, TABLET, running_station, set_size
from test_dashboard import ADMIN, api, at, by_id, css, sign_in, signed_in_again, wait

pytestmark = pytest.mark.e2e

TITLE = "Backward treadmill walking after stroke (4 weeks)"  # as the programme page's heading names it


@pytest.fixture(scope="module")
def treadmill_station(tmp_path_factory):
    """One station for the file's tests (the virtual walker walks the belt), its administrator ADMIN made in its
    store."""
    with running_station(tmp_path_factory.mktemp("credit") / "data", "walk-false-start", ADMIN) as station:
        yield station


def test_a_programme_session_run_on_the_treadmill_says_it_was_counted(treadmill_station, browsers, shots):
    url = treadmill_station.url
    tablet, _ = browsers("tablet")
    signed_in_again(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "CREDIT-01", "birth_year": 1950, "sex": "F"})
    assert created["status"] == 201, created
    today = tablet.execute_script("return new Date().toISOString().slice(0, 10)")
    assigned = api(tablet, "POST", f"/api/patients/{created['body']['id']}/programmes",
                   {"template": "backward-walking-stroke", "start_date": today})
    assert assigned["status"] == 201, assigned
    programme = f"/assignments/{assigned['body']['id']}"

    # the programme page's Start for session 1: the live page, the walk panel open
    tablet.get(url + programme)
    wait(tablet, "the programme loaded", lambda d: by_id(d, "programme-page").get_attribute("data-loaded") == "yes")
    css(tablet, '.cal-item.session[data-number="1"]')[0].click()
    wait(tablet, "the session's Start button", lambda d: by_id(d, "run-session").is_displayed())
    by_id(tablet, "run-belt-speed").send_keys("1.8")
    by_id(tablet, "run-session").click()
    wait(tablet, "the live page", lambda d: "/live" in d.current_url, timeout_s=15)
    wait(tablet, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    assert not by_id(tablet, "programme-credit").is_displayed()  # nothing counted before a trial is stored
    by_id(tablet, "btn-start").click()
    wait(tablet, "the live cadence", lambda d: re.fullmatch(r"\d+\.\d", by_id(d, "walk-cadence").text.strip()), timeout_s=30)
    by_id(tablet, "btn-stop").click()  # stopped early: the session is done with what was walked
    wait(tablet, "the session's result", lambda d: css(d, '#walk-result-table tr[data-metric="walking_min"]'), timeout_s=30)
    walked = re.fullmatch(r"Time walking (\d+ s) of 30 min planned",
                          " ".join(css(tablet, '#walk-result-table tr[data-metric="walking_min"]')[0].text.split())).group(1)
    words = wait(tablet, "the programme session counted", lambda d: by_id(d, "programme-credit").is_displayed()
                 and by_id(d, "programme-credit").text, timeout_s=20)
    assert words == f"Counted as session 1 of the programme {TITLE}: {walked} walked of 30 min planned. See it on the programme", words
    link = css(tablet, "#programme-credit a")[0].get_attribute("href")
    assert link == url + programme, link
    tablet.save_screenshot(str(shots / "credit-1180x820.png"))

    # a phone opening the live page meanwhile reads it too (from the open test's stored trials)
    phone, _ = browsers("phone", PHONE)
    phone.get(url + "/login")
    sign_in(phone, url, ADMIN)
    wait(phone, "signed in", at("/patients"))
    phone.get(tablet.current_url)
    words = wait(phone, "the programme session counted", lambda d: by_id(d, "programme-credit").is_displayed()
                 and by_id(d, "programme-credit").text, timeout_s=20)
    assert words.startswith(f"Counted as session 1 of the programme {TITLE}: {walked} walked"), words
    assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    phone.save_screenshot(str(shots / "credit-390x844.png"))

    # the programme page agrees: session 1 done with what was walked
    by_id(tablet, "btn-close").click()
    wait(tablet, "the test closed", lambda d: by_id(d, "choose").is_displayed(), timeout_s=15)
    assert by_id(tablet, "programme-credit").is_displayed()  # still said after the test is closed
    css(tablet, "#programme-credit a")[0].click()
    wait(tablet, "the programme loaded", lambda d: by_id(d, "programme-page").get_attribute("data-loaded") == "yes")
    assert css(tablet, '.cal-item.session[data-number="1"]')[0].get_attribute("data-status") == "done"
    # stopped after seconds of the 30 minutes: a partial session, not a full one (review s24 F16)
    assert css(tablet, '.cal-item.session[data-number="1"]')[0].get_attribute("data-partial") == "yes"
    assert " · partial · " in css(tablet, '.cal-item.session[data-number="1"]')[0].text


def test_a_treadmill_session_opened_from_new_test_says_it_is_not_counted_and_offers_to_count_it(treadmill_station,
                                                                                                 browsers, shots):
    """Review s24 F7: a backward treadmill session of a patient on the backward-walking programme, opened from the
    live page's New test (not from the programme's calendar), was recorded and counted by nothing, and nothing said
    so ('0 of 12 sessions done' until the clinician found the trial on the programme page). Now the live page says
    it is not counted and takes it as the next planned session in one tap."""
    url = treadmill_station.url
    tablet, _ = browsers("tablet")
    signed_in_again(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "CREDIT-02", "birth_year": 1950, "sex": "F"})
    pid = created["body"]["id"]
    today = tablet.execute_script("return new Date().toISOString().slice(0, 10)")
    assigned = api(tablet, "POST", f"/api/patients/{pid}/programmes", {"template": "backward-walking-stroke", "start_date": today})
    assert assigned["status"] == 201, assigned
    tablet.get(f"{url}/live?patient={pid}")
    opened = api(tablet, "POST", "/api/station/run", {"patient_id": pid, "protocol": "backward-treadmill",
                                                     "walk": {"belt_speed_m_s": 0.5, "planned_min": 30}})
    assert opened["status"] in (200, 201), opened
    wait(tablet, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    by_id(tablet, "btn-start").click()
    wait(tablet, "the live cadence", lambda d: re.fullmatch(r"\d+\.\d", by_id(d, "walk-cadence").text.strip()), timeout_s=30)
    by_id(tablet, "btn-stop").click()
    words = wait(tablet, "the words that it is not counted", lambda d: by_id(d, "programme-credit").is_displayed()
                 and by_id(d, "programme-credit").text, timeout_s=30)
    words = " ".join(words.split())
    assert words.startswith(f"Not counted to the programme {TITLE}: this test was not started from one of its sessions. "
                            "Take it as session 1 (planned "), words
    for size, name in ((TABLET, "tablet"), (PHONE, "phone")):
        set_size(tablet, size)
        by_id(tablet, "programme-credit").location_once_scrolled_into_view
        tablet.save_screenshot(str(shots / f"not-counted-{name}.png"))
    set_size(tablet, TABLET)
    by_id(tablet, "credit-session").click()
    words = wait(tablet, "counted", lambda d: by_id(d, "programme-credit").text.startswith("Counted as session 1")
                 and by_id(d, "programme-credit").text, timeout_s=15)
    assert words.startswith(f"Counted as session 1 of the programme {TITLE}: "), words
    tablet.save_screenshot(str(shots / "not-counted-then-counted-tablet.png"))
    doc = api(tablet, "GET", f"/api/assignments/{assigned['body']['id']}")["body"]
    assert doc["sessions"][0]["status"] == "done" and doc["sessions"][0]["source"] == "measured"
    # the visit's results say which programme session the walk was (review s24 F11: "Session 5" there, "session 1"
    # on the programme, nowhere said to be the same walk)
    tablet.get(f"{url}/sessions/{opened['body']['run']['session_id']}")
    counted = wait(tablet, "the programme session beside the trial", lambda d: css(d, "#results .programme-session")
                   and css(d, "#results .programme-session")[0].text, timeout_s=20)
    assert counted == "· programme session 1", counted
    assert css(tablet, "#results .programme-session a")[0].get_attribute("href").endswith(f"/assignments/{assigned['body']['id']}")
    for size, name in ((TABLET, "tablet"), (PHONE, "phone")):
        set_size(tablet, size)
        css(tablet, "#results .programme-session")[0].location_once_scrolled_into_view
        tablet.save_screenshot(str(shots / f"results-programme-session-{name}.png"))
    assert api(tablet, "POST", "/api/station/close")["status"] == 200  # the station free for the file's other test
