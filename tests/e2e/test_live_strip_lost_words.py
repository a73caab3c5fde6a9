"""The live page's strip says a healthy station's readings lost as nothing lost (P6's five-second read, session 27):
it said "not measured 0 s", a failure's words, on a station that had lost nothing. Now "readings lost none"; a loss
in seconds as before, red only while recent. The station's health events are given to the page as the stream
gives them (its EventSource's "health" event), so what the page says of each is read, not what a busy machine
happened to lose."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, by_id, wait

pytestmark = pytest.mark.e2e

KEEP_SOURCES = """window.__p7Sources = [];
const Real = window.EventSource;
const Kept = function (...args) { const s = new Real(...args); window.__p7Sources.push(s); return s; };
Kept.prototype = Real.prototype; Kept.CONNECTING = 0; Kept.OPEN = 1; Kept.CLOSED = 2;
window.EventSource = Kept;"""
"""Before the page's scripts: each EventSource the page opens kept, to give it a health event."""

SAY = """const s = window.__p7Sources[window.__p7Sources.length - 1];
s.dispatchEvent(new MessageEvent("health", {data: JSON.stringify({health: arguments[0]})}));
const lost = document.getElementById('h-lost');
return {text: lost.textContent, label: lost.parentElement.textContent, bad: lost.className === 'bad',
        title: document.getElementById('h-lost-item').title};"""
"""A health event given to the page's stream, and the strip's words for it read at once."""


def health(lost: int, recent_lost: int) -> dict:
    return {"state": "ok", "frames": 60000, "frames_lost": lost, "rate_hz": {"configured": 100.0, "measured": 100.0},
            "frames_recent": {"window_s": 10, "frames": 1000 - recent_lost, "frames_lost": recent_lost},
            "sensors": {"plate": {"status": "ok"}}}


def test_the_strip_says_nothing_lost_as_none(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, _ = reading_pages.tablet_and_phone(lambda data_dir: None)
    for driver, name in ((tablet, "tablet"), (phone, "phone")):
        added = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": KEEP_SOURCES})
        try:
            driver.get(f"{station.url}/live")
            wait(driver, "the live stream", lambda d: by_id(d, "conn").text == "live", timeout_s=20)
            healthy = driver.execute_script(SAY, health(0, 0))
            assert (healthy["text"], healthy["label"], healthy["bad"]) == ("none", "readings lost none", False), healthy
            assert healthy["title"].startswith("0 frames lost since the station started. "), healthy
            driver.save_screenshot(str(shots / f"strip-nothing-lost-{name}.png"))
            stalled = driver.execute_script(SAY, health(306, 300))  # a 3-s stall just now: in seconds, red
            assert stalled["text"] == "3.06 s (0.51 %), 3 s of the last 10 s" and stalled["bad"], stalled
            assert stalled["label"] == f"readings lost {stalled['text']}", stalled
            old = driver.execute_script(SAY, health(306, 0))  # long ago: neutral
            assert old["text"] == "3.06 s (0.51 %), none of the last 10 s" and not old["bad"], old
        finally:
            driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]})
        assert driver.execute_script("return document.documentElement.scrollWidth") <= (TABLET if driver is tablet else PHONE)[0]
