"""The header's health chip says why on a touch screen: a tablet or phone has no hover, so the
chip's title (the health document's reason) was out of reach and a clinician read only "Station
degraded", now "Needs attention" (words read in a second; the health document's state stays "degraded"). Tapped, the chip shows the reason under the header (what happened, what to do), kept up
to date; tapped again, it hides. The station is made degraded the way a clinic's would be: its
scheduled backup refused for lack of space (``<data_dir>/backup-refused.json``, as
``balance-station backup --if-due`` leaves it; removed at the test's end). The tests read pages only: they share the
station and browsers of ``reading_pages`` (tests/e2e/conftest.py). Screenshots in the test's shots folder."""

from __future__ import annotations

import json

import pytest

from e2e_support import set_size
from station.acquire.loop import NOT_CALIBRATED_WORDS, PLATE_NOT_ANSWERING_WORDS, sensor_problem_words
from station.acquire.source import STARTING_WORDS, no_frames_words, not_responding_words
from station.store.backup import REFUSAL_FILENAME
from web.health import GAVE_UP_CODE, GAVE_UP_WORDS
from test_dashboard import PHONE, TABLET, by_id, wait

pytestmark = pytest.mark.e2e

WITHIN_THE_SCREEN = """
const b = document.getElementById('health-reason').getBoundingClientRect();
return b.height > 0 && b.left >= 0 && b.right <= document.documentElement.clientWidth
  && document.documentElement.scrollWidth <= document.documentElement.clientWidth;"""

STATE_COLOURS = """const strip = document.getElementById('h-state'), chip = document.getElementById('health-chip');
return {words: strip.textContent, state: strip.dataset.state || null, chip: chip.dataset.state,
  colour: getComputedStyle(strip).color, dot: getComputedStyle(chip, '::before').backgroundColor};"""
"""The live page's status strip (its words, state and colour) and the header chip's state and dot colour."""

AMBER_WORDS, AMBER_DOT = "rgb(154, 100, 0)", "rgb(224, 161, 0)"
"""dashboard.css .station-state: --amber #9a6400 (words on white), the chip's dot #e0a100."""


def _backup_refused(data_dir):
    """The station's scheduled backup refused for lack of space, as ``backup --if-due`` records it: the file."""
    refused = data_dir / REFUSAL_FILENAME
    refused.write_text(json.dumps({"refused_at": "2026-12-06T02:00:00Z", "needed_bytes": 900_000_000,
                                   "free_bytes": 400_000_000}))
    return refused


def test_a_tap_on_the_health_chip_says_why_the_station_is_degraded(reading_pages, shots):
    _tablet, phone, refused = reading_pages.tablet_and_phone(_backup_refused)
    try:
        _degraded_chip_says_why(phone, reading_pages.station.url, shots)
    finally:  # the shared station healthy again for the tests after this one
        refused.unlink()


def _degraded_chip_says_why(phone, url, shots):
    phone.get(url + "/patients")
    chip, reason = by_id(phone, "health-chip"), by_id(phone, "health-reason")
    wait(phone, "the chip to say degraded", lambda d: chip.get_attribute("data-state") == "degraded", timeout_s=30)
    assert chip.text == "Needs attention" and not reason.is_displayed()  # was "Station degraded"

    chip.click()
    words = wait(phone, "the reason under the header", lambda d: reason.is_displayed() and reason.text, timeout_s=5)
    # two sentences: it read "Needs attention: The ..." (a capital after a colon)
    assert words.startswith("Needs attention. ") and "backup" in words and "refused" in words, words
    assert "copy the backups off the card" in words, words  # what to do, not only what happened
    assert "at 2026-12-06 02:00 UTC was refused" in words and not words.endswith(".."), words  # the station's zone
    assert chip.get_attribute("aria-expanded") == "true"
    assert phone.execute_script(WITHIN_THE_SCREEN), "the reason runs off a phone's screen"
    phone.save_screenshot(str(shots / "health-reason-390x844.png"))

    set_size(phone, TABLET)
    assert phone.execute_script(WITHIN_THE_SCREEN)
    phone.save_screenshot(str(shots / "health-reason-1180x820.png"))

    chip.click()
    wait(phone, "the reason to hide", lambda d: not reason.is_displayed(), timeout_s=5)
    assert chip.get_attribute("aria-expanded") == "false"

    # the live page's status strip says it in the chip's words and colour: amber, as the chip's dot (it was red, the
    # colour of a station that cannot measure, for every state but "ok": live.js showStationState)
    phone.get(url + "/live")
    strip = wait(phone, "the live page's strip to say degraded",
                 lambda d: (lambda r: r if r["words"] == "Needs attention" else None)(d.execute_script(STATE_COLOURS)),
                 timeout_s=30)
    assert strip == {"words": "Needs attention", "state": "degraded", "chip": "degraded", "colour": AMBER_WORDS,
                     "dot": AMBER_DOT}, strip
    phone.save_screenshot(str(shots / "live-strip-degraded-1180x820.png"))
    set_size(phone, PHONE)
    assert phone.execute_script(STATE_COLOURS) == strip
    phone.save_screenshot(str(shots / "live-strip-degraded-390x844.png"))
    phone.get(url + "/patients")  # (the chip the live page's stream feeds no longer)
    chip, reason = by_id(phone, "health-chip"), by_id(phone, "health-reason")

    # A station that cannot measure says so in words a clinician reads in a second (they read "Station no data" and
    # "Station down"); the tap says why, in the station's reasons, and what to do. The chip is given the health
    # documents the station serves (station/acquire/source.py, the page's own when /healthz does not answer) as the
    # live page gives it its stream's (Station.followHealth: no poll draws over them).
    said = {}
    for size in (TABLET, PHONE):
        set_size(phone, size)
        for state, why in (("nodata", no_frames_words(4.0)), ("down", not_responding_words(5.0)),
                           ("down", "the station does not answer"), ("starting", STARTING_WORDS)):
            phone.execute_script("Station.followHealth(); Station.showHealth({state: arguments[0], reason: arguments[1]});",
                                 state, why)
            chip.click()
            said[why] = (chip.text, wait(phone, "the reason", lambda d: reason.is_displayed() and reason.text, timeout_s=5))
            assert phone.execute_script(WITHIN_THE_SCREEN), f"the reason runs off the screen at {size}"
            phone.save_screenshot(str(shots / f"health-{state}-{size[0]}x{size[1]}.png"))
            chip.click()
    no_frames, not_responding, no_answer, starting = said.values()
    # what happened in the station's words a clinician reads (station/acquire/source.py; they said "The acquisition
    # has sent no frames for 4 s", "Acquisition not responding (last report 5 s ago)"), then what to do
    assert no_frames == ("No readings", "No readings. The station has measured nothing for 4 s: its measuring program "
                         "is held up. A trial cannot be started until readings come back (usually within a minute, by "
                         "themselves); if they do not, check the plate's cable and restart the station."), no_frames
    assert not_responding[0] == no_answer[0] == "Cannot measure", said
    assert not_responding[1].startswith("Cannot measure. The station's measuring program has not answered for 5 s. "
                                        "No trial can be recorded now. If this lasts more than a minute, check the "
                                        "plate's cable and restart the station."), not_responding
    assert no_answer[1].startswith("Cannot measure. The station does not answer. No trial can be recorded now."), no_answer
    # an acquisition (re)started, no frame yet (s33: the chip said "Station OK" for a plate that had read nothing)
    assert starting == ("Plate starting…", "Plate starting… The station's measuring program is starting: no readings "
                        "yet. A trial can be started once this says Station OK (within seconds)."), starting


def test_the_stations_own_faults_say_what_happened_and_what_to_do_in_a_clinicians_words(reading_pages, shots):
    """A corner or the lower-back sensor not working, the plate not answering, the plate not calibrated, the
    measuring program no longer restarted: the chip's tap said 'Sensor problem: fl down, imu fault', 'No load cell
    answers; check the plate cable and the mux', 'Plate not calibrated: run `balance-station calibrate`', 'The
    acquisition process keeps dying (...)' (s26). The words are the station's (station/acquire/loop.py,
    web/health.py), given to the chip as a health document."""
    _tablet, phone, _ = reading_pages.tablet_and_phone(lambda data_dir: None)
    phone.get(reading_pages.station.url + "/patients")
    chip, reason = by_id(phone, "health-chip"), by_id(phone, "health-reason")
    faults = (("degraded", sensor_problem_words([("fl", "down"), ("imu", "fault")]), "sensor_problem"),
              ("degraded", NOT_CALIBRATED_WORDS, "plate_not_calibrated"),
              ("down", PLATE_NOT_ANSWERING_WORDS, "plate_not_answering"),
              ("down", GAVE_UP_WORDS, GAVE_UP_CODE))
    said = {}
    for size in (TABLET, PHONE):
        set_size(phone, size)
        for state, why, code in faults:
            phone.execute_script("Station.followHealth(); Station.showHealth({state: arguments[0], reason: arguments[1], "
                                 "reason_code: arguments[2]});", state, why, code)
            chip.click()
            said[code] = wait(phone, "the reason", lambda d: reason.is_displayed() and reason.text, timeout_s=5)
            assert phone.execute_script(WITHIN_THE_SCREEN), f"the reason runs off the screen at {size}"
            phone.save_screenshot(str(shots / f"health-{code}-{size[0]}x{size[1]}.png"))
            chip.click()
    for words in said.values():
        assert not any(w in words for w in ("mux", "balance-station", "`", "acquisition", "load cell", "imu")), words
    assert said["sensor_problem"] == (
        "Needs attention. The plate's front-left corner does not answer: a test on the plate recorded now would be "
        "invalid (the station keeps trying to read it); ask whoever looks after the station to check the plate's cable; "
        "the lower-back sensor is not working: a walk recorded now is timed by its light gates, without gait measures "
        "(the station keeps trying to read it); ask whoever looks after the station to check the sensor's cable."), said
    assert said["plate_not_calibrated"].startswith("Needs attention. The plate is not calibrated: the weights it "
                                                   "measures may be off by several per cent; ask whoever looks after")
    assert said["plate_not_answering"] == (
        "Cannot measure. The plate does not answer: none of its four corners can be read. No trial can be recorded "
        "now. If this lasts more than a minute, check the plate's cable and restart the station."), said
    # what to do for this one is its own, not the state's (its plate's cable is not the matter)
    assert said[GAVE_UP_CODE] == (
        "Cannot measure. The station's measuring program keeps stopping and is no longer restarted by itself. No "
        "trial can be recorded now: restart the station; if its measuring program stops again, ask whoever looks "
        "after the station to read its log."), said
