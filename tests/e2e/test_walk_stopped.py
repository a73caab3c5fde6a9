"""A walk test the patient does not finish, in headless Chromium at tablet size against the real
station (scenario ``walk-stop``: in the standing-start 3-metre backward walk the virtual patient
stops for good 3 s into the first attempt).

The attempt ends soon after the last step (not at the 60 s limit); the live view says the patient
stopped and shows no time as if it were a result; the visit results read "walk not completed"; the attempt's page shows the steps up to where the patient stopped and
no sway plots.
"""

from __future__ import annotations

import time

import pytest

from test_dashboard import ADMIN, PHONE, api, at, by_id, css, setup_admin, sign_in, wait

pytestmark = pytest.mark.e2e


def test_a_patient_who_stops_on_the_way_is_described_as_such(station_for, browsers):
    station = station_for("walk-stop")
    tablet, _downloads = browsers("tablet")
    tablet.set_script_timeout(15)
    url = station.url
    setup_admin(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "STOP-001", "birth_year": 1941, "sex": "F"})
    assert created["status"] == 201, created
    patient_id = created["body"]["id"]

    tablet.get(f"{url}/live?patient={patient_id}")
    wait(tablet, "the live stream", lambda d: by_id(d, "conn").text == "live")
    from selenium.webdriver.support.ui import Select

    Select(by_id(tablet, "protocol-select")).select_by_value("backward-walk-3m")
    by_id(tablet, "open-run").click()
    wait(tablet, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    # (a false start, from the station's own events, is in tests/e2e/test_walk.py: scenario walk-false-start)

    # on a phone the walk timer comes first, above the words to read and the controls
    phone, _ = browsers("phone", PHONE)
    phone.get(f"{url}/login")
    sign_in(phone, url, ADMIN)
    wait(phone, "the phone's patients page", at("/patients"))
    phone.get(f"{url}/live?patient={patient_id}")
    wait(phone, "the live stream on the phone", lambda d: by_id(d, "conn").text == "live")
    wait(phone, "the walk panel on the phone", lambda d: by_id(d, "walk-card").is_displayed(), timeout_s=20)
    timer_y = by_id(phone, "walk-timer").rect["y"]
    assert timer_y < by_id(phone, "btn-start").rect["y"] and timer_y < by_id(phone, "run-title").rect["y"]
    assert timer_y + by_id(phone, "walk-timer").rect["height"] < PHONE[1]  # on the first screen
    phone.quit()
    by_id(tablet, "btn-start").click()
    started = time.monotonic()
    wait(tablet, "the attempt judged", lambda d: "invalid" in by_id(d, "trial-list").text, timeout_s=50)
    assert time.monotonic() - started < 40, "the attempt must end soon after the last step, not at the 60 s limit"
    assert "stopped walking" in by_id(tablet, "walk-result").text
    assert by_id(tablet, "walk-timer").text == "–"  # no time reads as a result

    wait(tablet, "the results link", lambda d: by_id(d, "results-link").is_displayed(), timeout_s=30)
    tablet.get(by_id(tablet, "results-link").get_attribute("href"))
    wait(tablet, "the glance", lambda d: "walk not completed (1 attempt)" in by_id(d, "results").text, timeout_s=20)
    # the figure of the test: the attempt's steps, said to be a walk not completed (not "No valid trial to plot")
    wait(tablet, "the attempt's steps on the results", lambda d: len(css(d, "#results svg.steps-trace circle.ic")) >= 3,
         timeout_s=20)
    assert "Walk not completed: no time to plot. The steps of attempt #" in by_id(tablet, "results").text
    assert "No valid trial to plot" not in by_id(tablet, "results").text
    trial_href = [a.get_attribute("href") for a in css(tablet, "a") if "/trials/" in (a.get_attribute("href") or "")][0]

    tablet.get(trial_href)
    wait(tablet, "the steps up to the stop", lambda d: len(css(d, "svg.steps-trace circle.ic")) >= 3, timeout_s=20)
    assert "No walk measures" in by_id(tablet, "measures").text
    assert "Stabilogram" not in by_id(tablet, "plots").text
