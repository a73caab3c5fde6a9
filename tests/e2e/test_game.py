"""A biofeedback training game end to end in headless Chromium at tablet size, against the real
station (``run --simulate --scenario patient``: the virtual patient plays, leaning toward each
target the station shows): the game is chosen on the live view, the cursor moves on the game's
plate, a target is reached and held, the clinician ends the game and the final score shows with
the per-target results; the patient page lists the game."""

from __future__ import annotations

import time

import pytest

from test_dashboard import api, by_id, css, setup_admin, wait

pytestmark = pytest.mark.e2e


def test_reach_and_hold_game_in_the_browser(station_for, browsers):
    started = time.monotonic()
    station = station_for("patient")
    tablet, _downloads = browsers("tablet")
    tablet.set_script_timeout(15)
    url = station.url
    setup_admin(tablet, url)
    created = api(tablet, "POST", "/api/patients", {"identifier": "GAME-001", "birth_year": 1952, "sex": "F",
                                                    "height_cm": 168})
    assert created["status"] == 201, created
    patient_id = created["body"]["id"]

    tablet.get(f"{url}/live?patient={patient_id}")
    wait(tablet, "the live stream", lambda d: by_id(d, "conn").text == "live")
    from selenium.webdriver.support.ui import Select

    Select(by_id(tablet, "protocol-select")).select_by_value("biofeedback-training")
    wait(tablet, "the game's settings", lambda d: by_id(d, "game-settings").is_displayed())
    Select(by_id(tablet, "game-select")).select_by_value("reach")
    Select(by_id(tablet, "game-level")).select_by_value("1")
    by_id(tablet, "game-minutes").send_keys("3")
    by_id(tablet, "open-run").click()
    wait(tablet, "the game panel in place of the plate's trace",
         lambda d: by_id(d, "game-card").is_displayed() and not css(d, ".trace-card")[0].is_displayed())
    assert "path efficiency" in by_id(tablet, "game-definition").text
    wait(tablet, "the start button", lambda d: by_id(d, "btn-start").is_enabled())
    by_id(tablet, "btn-start").click()

    # The cursor moves on the game's plate (the canvas reports where it drew it).
    first = wait(tablet, "the cursor", lambda d: by_id(d, "game-canvas").get_attribute("data-cop"))
    wait(tablet, "the cursor moving", lambda d: by_id(d, "game-canvas").get_attribute("data-cop") not in ("", first))
    # A target shows, the virtual patient leans to it: reached (and held).
    wait(tablet, "a target", lambda d: by_id(d, "game-canvas").get_attribute("data-current") != "", timeout_s=30)
    wait(tablet, "a target reached", lambda d: by_id(d, "game-card").get_attribute("data-reached") == "yes",
         timeout_s=30, poll_s=0.1)
    wait(tablet, "a target held", lambda d: " 0 held" not in by_id(d, "game-progress").text
         and "held" in by_id(d, "game-progress").text, timeout_s=20)
    # The clinician ends the game early: it is scored on what was played, with the per-target table.
    by_id(tablet, "btn-stop").click()
    wait(tablet, "the final score", lambda d: by_id(d, "game-result").is_displayed(), timeout_s=20)
    score = float(by_id(tablet, "game-card").get_attribute("data-score"))
    assert 0 < score <= 100
    assert by_id(tablet, "game-score").text == f"{score:.0f}"
    rows = css(tablet, "#game-result tbody tr")
    assert rows and any("held" in r.text for r in rows)

    # The patient page lists the game with its score.
    tablet.get(f"{url}/patients/{patient_id}")
    wait(tablet, "the training games", lambda d: css(d, ".training-table tbody tr"))
    assert "Reach and hold" in css(tablet, ".training-table tbody tr")[0].text
    assert time.monotonic() - started < 60
