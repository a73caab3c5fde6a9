"""The header's health chip says why on a touch screen: a tablet or phone has no hover, so the
chip's title (the health document's reason) was out of reach and a clinician read only "Station
degraded", now "Needs attention" (words read in a second; the health document's state stays "degraded"). Tapped, the chip shows the reason under the header (what happened, what to do), kept up
to date; tapped again, it hides. The station is made degraded the way a clinic's would be: its
scheduled backup refused for lack of space (``<data_dir>/backup-refused.json``, as
``balance-station backup --if-due`` leaves it). Screenshots in the test's shots folder."""

from __future__ import annotations

import json

import pytest

from e2e_support import set_size
from station.acquire.source import no_frames_words, not_responding_words
from test_dashboard import PHONE, TABLET, by_id, setup_admin, wait

pytestmark = pytest.mark.e2e

WITHIN_THE_SCREEN = """
const b = document.getElementById('health-reason').getBoundingClientRect();
return b.height > 0 && b.left >= 0 && b.right <= document.documentElement.clientWidth
  && document.documentElement.scrollWidth <= document.documentElement.clientWidth;"""


def test_a_tap_on_the_health_chip_says_why_the_station_is_degraded(station_for, browsers, shots):
    station = station_for("patient")
    (station.data_dir / "backup-refused.json").write_text(json.dumps(
        {"refused_at": "2026-12-06T02:00:00Z", "needed_bytes": 900_000_000, "free_bytes": 400_000_000}))
    phone, _ = browsers("phone", PHONE)
    setup_admin(phone, station.url)
    chip, reason = by_id(phone, "health-chip"), by_id(phone, "health-reason")
    wait(phone, "the chip to say degraded", lambda d: chip.get_attribute("data-state") == "degraded", timeout_s=30)
    assert chip.text == "Needs attention" and not reason.is_displayed()  # was "Station degraded"

    chip.click()
    words = wait(phone, "the reason under the header", lambda d: reason.is_displayed() and reason.text, timeout_s=5)
    assert words.startswith("Needs attention: ") and "backup" in words and "refused" in words, words
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

    # A station that cannot measure says so in words a clinician reads in a second (they read "Station no data" and
    # "Station down"); the tap says why, in the station's reasons, and what to do. The chip is given the health
    # documents the station serves (station/acquire/source.py, the page's own when /healthz does not answer) as the
    # live page gives it its stream's (Station.followHealth: no poll draws over them).
    said = {}
    for size in (TABLET, PHONE):
        set_size(phone, size)
        for state, why in (("nodata", no_frames_words(4.0)), ("down", not_responding_words(5.0)),
                           ("down", "the station does not answer")):
            phone.execute_script("Station.followHealth(); Station.showHealth({state: arguments[0], reason: arguments[1]});",
                                 state, why)
            chip.click()
            said[why] = (chip.text, wait(phone, "the reason", lambda d: reason.is_displayed() and reason.text, timeout_s=5))
            assert phone.execute_script(WITHIN_THE_SCREEN), f"the reason runs off the screen at {size}"
            phone.save_screenshot(str(shots / f"health-{state}-{size[0]}x{size[1]}.png"))
            chip.click()
    no_frames, not_responding, no_answer = said.values()
    # what happened in the station's words a clinician reads (station/acquire/source.py; they said "The acquisition
    # has sent no frames for 4 s", "Acquisition not responding (last report 5 s ago)"), then what to do
    assert no_frames == ("No readings", "No readings: The station has measured nothing for 4 s: its measuring program "
                         "is held up. A trial cannot be started until readings come back (usually within a minute, by "
                         "themselves); if they do not, check the plate's cable and restart the station."), no_frames
    assert not_responding[0] == no_answer[0] == "Cannot measure", said
    assert not_responding[1].startswith("Cannot measure: The station's measuring program has not answered for 5 s. "
                                        "No trial can be recorded now. If this lasts more than a minute, check the "
                                        "plate's cable and restart the station."), not_responding
    assert no_answer[1].startswith("Cannot measure: The station does not answer. No trial can be recorded now."), no_answer
