"""What the live page says about the test that is open, in headless Chromium against the real station
(scenario ``patient``: a virtual patient follows every protocol), after a clinician's review (session 22):

- opened for one patient (``/live?patient=``, "New test" on a patient's page) while another patient's
  test is open, the page says so above everything, with the way to end that test (its Start was ready
  for the other patient, said only by a small grey line);
- a walk test opened after another one ended reads "Read the instructions, then start" (it read
  "Test finished", the previous test's words, until a reload);
- a finished test that is still open says it is finished, its trials saved, and how to start another
  (the "Another test" of the visit's results led back to it with no form and no word why);
- on a phone the walk timer and Stop are on the screen when a walk test opens and at Start (the page
  kept the scroll of the Open-test button: the timer above the screen);
- a treadmill session ended with Stop says first that it was stopped early, and when ("Trial complete"
  read as if the planned minutes were walked);
- the greyed-out Open test says why (no patient chosen);
- a long identifier wraps on a phone (the patient's heading and the patients list clipped it), and the
  Add-patient form says which characters an identifier takes, in the browser's refusal too.

The checks are gathered and reported together, so one run on the old code shows each one failing.
"""

from __future__ import annotations

import re

import pytest

from test_dashboard import PHONE, TABLET, api, by_id, css, select_protocol, signed_in_again, wait
from e2e_support import set_size

pytestmark = pytest.mark.e2e

IN_VIEW = """
const el = document.getElementById(arguments[0]);
const r = el.getBoundingClientRect();
const controls = document.getElementById('controls');
const bottom = getComputedStyle(controls).position === 'fixed' && arguments[0] !== 'btn-stop'
  ? controls.getBoundingClientRect().top : innerHeight;
return el.offsetParent !== null && r.top >= 0 && r.bottom <= bottom + 0.5;
"""
"""Whether the element is on the screen (above the phone's bar of controls, unless it is in it)."""


def in_view(driver, element_id: str) -> bool:
    return bool(driver.execute_script(IN_VIEW, element_id))


def message_lines(driver) -> list[str]:
    return [d.text for d in css(driver, "#message > div")]


def test_the_live_page_says_what_is_open_for_whom(recording_station, browsers, shots):
    from selenium.webdriver.support.ui import Select

    station = recording_station.station
    driver, _downloads = browsers("tablet")
    url = station.url
    signed_in_again(driver, url)
    ids = {}
    names = ("OLD-0002", "STK-0001")
    names += ("W" * 30 + "01", "W" * 30 + "02")  # wide letters, no hyphen to wrap at (the reviewer's)
    for identifier in names:
        created = api(driver, "POST", "/api/patients", {"identifier": identifier, "birth_year": 1944, "sex": "F"})
        assert created["status"] == 201, created
        ids[identifier] = created["body"]["id"]
    problems: list[str] = []

    def check(ok, what: str) -> None:
        if not ok:
            problems.append(what)

    def soft_wait(what: str, predicate, timeout_s: float = 8.0):
        try:
            return wait(driver, what, predicate, timeout_s=timeout_s)
        except AssertionError as exc:
            problems.append(str(exc))
            return None

    def both_sizes(name: str, look_at: str | None = None) -> None:
        for size, label in ((TABLET, "tablet"), (PHONE, "phone")):
            set_size(driver, size)
            if look_at:  # the words this shot is for, on the screen
                driver.execute_script("const e = document.getElementById(arguments[0]); if (e) e.scrollIntoView({block: 'center'})",
                                      look_at)
            driver.save_screenshot(str(shots / f"{name}_{label}.png"))
        set_size(driver, PHONE)

    def open_live(patient_id=None) -> None:
        driver.get(f"{url}/live" + (f"?patient={patient_id}" if patient_id else ""))
        wait(driver, "the live stream", lambda d: by_id(d, "conn").text == "live")
        wait(driver, "the protocols", lambda d: css(d, "#protocol-select option"))

    def open_treadmill() -> None:
        select_protocol(driver, "backward-treadmill")
        wait(driver, "the belt speed and planned minutes asked", lambda d: by_id(d, "walk-treadmill").is_displayed())
        for field, value in (("walk-belt-speed", "1.8"), ("walk-planned-min", "1")):
            by_id(driver, field).clear()
            by_id(driver, field).send_keys(value)
        # the clinician scrolled down the page (to the plate's readout under the form), then tapped Open
        # test: the page keeps that scroll when the test opens
        driver.execute_script("window.scrollTo(0, document.body.scrollHeight); document.getElementById('open-run').click()")
        wait(driver, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)

    set_size(driver, PHONE)
    # -- no patient chosen: the greyed-out Open test says why ---------------------------------------
    open_live()
    check(not by_id(driver, "open-run").is_enabled(), "Open test enabled with no patient chosen")
    why = css(driver, "#open-run-why")
    check(why and why[0].is_displayed() and why[0].text == "Choose a patient first",
          f"no 'Choose a patient first' beside the greyed-out Open test: {[w.text for w in why]}")
    both_sizes("60_no_patient", "open-run")
    Select(by_id(driver, "patient-select")).select_by_value(str(ids["OLD-0002"]))
    check(by_id(driver, "open-run").is_enabled() and not (why and why[0].is_displayed()),
          "the hint stays once a patient is chosen")

    # -- a treadmill session for OLD-0002, on a phone ---------------------------------------------------
    open_live(ids["OLD-0002"])
    open_treadmill()
    soft_wait("the walk timer on the screen once the test opened (phone)",
              lambda d: in_view(d, "walk-timer") and in_view(d, "btn-stop"))
    driver.save_screenshot(str(shots / "61_opened_phone.png"))
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")  # reading the notes further down
    by_id(driver, "btn-start").click()
    soft_wait("the walk timer on the screen at Start (phone)", lambda d: in_view(d, "walk-timer") and in_view(d, "btn-stop"))
    driver.save_screenshot(str(shots / "62_started_phone.png"))
    wait(driver, "the live cadence", lambda d: re.fullmatch(r"\d+\.\d", by_id(d, "walk-cadence").text.strip()), timeout_s=40)
    by_id(driver, "btn-stop").click()
    wait(driver, "the session's result", lambda d: css(d, '#walk-result-table tr[data-metric="walking_min"]'), timeout_s=30)
    wait(driver, "the test finished", lambda d: "The test is finished: see the results." in message_lines(d), timeout_s=20)
    lines = message_lines(driver)
    recorded = by_id(driver, "walk-timer").text
    check(lines and lines[0] == f"Stopped at {recorded} of 1 min planned; what was walked is kept and analysed.",
          f"a session stopped early is not said first to be stopped early: {lines}")
    check(not any("Trial complete" in line for line in lines), f"a session stopped early reads 'Trial complete': {lines}")
    both_sizes("63_stopped", "message")
    # -- the finished test, still open, says so and how to start another --------------------------------
    hint = css(driver, "#finished-hint")
    check(hint and hint[0].is_displayed()
          and hint[0].text == "This test is finished; its trials are saved. End it to start another.",
          f"a finished test that is open does not say how to start another: {[h.text for h in hint]}")
    both_sizes("63_finished_hint", "finished-hint")
    for size in (TABLET, PHONE):  # the message under the hint as any two boxes (an empty trial name added 40 px of blank: s27 P6)
        set_size(driver, size)
        blank = driver.execute_script("return document.getElementById('message').getBoundingClientRect().top"
                                      " - document.getElementById('finished-hint').getBoundingClientRect().bottom")
        check(blank < 40, f"{blank:.0f} px of blank between the finished hint and the message at {size}")  # 71 px before

    # -- End test, then another walk test on the same page: nothing of the last one's words -------------
    by_id(driver, "btn-close").click()
    wait(driver, "the form for a new test", lambda d: by_id(d, "open-run").is_displayed() and by_id(d, "open-run").is_enabled())
    # opened by the page's own request (as from another tablet): the page learns of it from the stream
    # alone, whose "instructions" event comes before the test's status (the order that left the last
    # test's words up, as when the stream beats the Open-test reply)
    opened = api(driver, "POST", "/api/station/run", {"patient_id": ids["OLD-0002"], "protocol": "backward-treadmill",
                                                      "walk": {"belt_speed_m_s": 0.5, "planned_min": 1}})
    assert opened["status"] in (200, 201), opened
    wait(driver, "the second test open", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    phase = by_id(driver, "walk-phase").text
    check(phase == "Read the instructions, then start", f"a newly opened walk test reads {phase!r}")
    check(by_id(driver, "walk-timer").text == "0:00" and not by_id(driver, "walk-result").is_displayed(),
          "the new test shows the last one's time or result")
    driver.execute_script("window.scrollTo(0, 0)")
    both_sizes("64_second_walk_test")

    # -- "New test" from another patient's page while this one's test is open ----------------------------
    open_live(ids["STK-0001"])
    wait(driver, "the open test", lambda d: by_id(d, "run").is_displayed())
    banner = soft_wait("the words about the other patient's test", lambda d: css(d, "#other-patient")
                       and css(d, "#other-patient")[0].is_displayed() and css(d, "#other-patient"))
    if banner:
        words = by_id(driver, "other-patient-words").text
        check(re.fullmatch(r"A test for OLD-0002 is open \(opened by admin at \d{1,2}:\d\d(\s?[AP]M)?\)\. "
                           r"End it to test STK-0001 \(its trials are kept\)\.", words), f"the banner reads {words!r}")
        above = driver.execute_script(
            "return document.getElementById('other-patient').getBoundingClientRect().bottom"
            " <= document.getElementById('health-strip').getBoundingClientRect().top")
        check(above, "the banner is not above everything on the page")
        both_sizes("65_other_patient")
        end = by_id(driver, "other-patient-end")
        check(end.text == "End OLD-0002's test", f"the banner's action reads {end.text!r}")
        end.click()
    else:
        by_id(driver, "btn-close").click()
    wait(driver, "the test ended", lambda d: by_id(d, "open-run").is_displayed())
    check(Select(by_id(driver, "patient-select")).first_selected_option.get_attribute("value") == str(ids["STK-0001"]),
          "after ending the other patient's test the page is not on the patient it was opened for")
    check(not css(driver, "#other-patient") or not css(driver, "#other-patient")[0].is_displayed(),
          "the banner stays once the other patient's test has ended")
    wait(driver, "Open test for STK-0001", lambda d: by_id(d, "open-run").is_enabled())
    both_sizes("66_other_patient_ended")

    # -- a long identifier on a phone: wrapped, never clipped --------------------------------------------
    long_id = "W" * 30 + "02"
    driver.get(f"{url}/patients/{ids[long_id]}")
    wait(driver, "the patient's heading", lambda d: by_id(d, "patient-title").text.replace("\n", "") == long_id)
    # (against the phone's width: a page wider than the screen widens a phone's layout viewport, innerWidth)
    fits = driver.execute_script(
        "const h = document.getElementById('patient-title'); const r = h.getBoundingClientRect();"
        "return r.left >= 0 && r.right <= arguments[0] && h.scrollWidth <= h.clientWidth + 1", PHONE[0])
    check(fits, "the patient's heading is clipped on a phone")
    both_sizes("67_long_identifier_patient")
    driver.get(f"{url}/patients")
    # (the station's other patients too: other tests' on the shared station)
    wait(driver, "the patients", lambda d: set(names) <= {a.text.replace("\n", "") for a in css(d, "#patients tbody td:first-child a")})
    clipped = driver.execute_script(
        "return [...document.querySelectorAll('#patients tbody td:first-child a')]"
        ".filter((a) => a.getBoundingClientRect().right > arguments[0]).map((a) => a.textContent)", PHONE[0])
    check(not clipped, f"identifiers beyond the phone's screen in the patients list: {clipped}")
    both_sizes("68_patients_list")
    # -- which characters an identifier takes, on the form and in the browser's refusal --------------------
    by_id(driver, "add-patient").click()
    wait(driver, "the Add-patient form", lambda d: by_id(d, "patient-dialog").is_displayed())
    rule = "A–Z letters (no accents), digits, dot, underscore or hyphen; no spaces"
    check(rule in by_id(driver, "patient-dialog").text, "the form does not say which characters an identifier takes")
    field = css(driver, '#patient-form input[name="identifier"]')[0]
    field.send_keys("Zoë-Müller")
    refusal = driver.execute_script("return arguments[0].validationMessage", field)
    check(rule in refusal, f"the browser's refusal of 'Zoë-Müller' reads {refusal!r}")
    both_sizes("69_add_patient_rule")
    assert not problems, "\n".join(problems)
    recording_station.left_free(driver)
