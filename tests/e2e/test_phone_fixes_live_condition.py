"""The live view while a Romberg trial records, on a phone (390×844) and on a tablet watching the same
test, in headless Chromium against the real station: the condition recording ("Eyes open") is on
the screen with the count, and neither covers the plate's orientation labels (outside review, item 5).

Before, a phone showed the plate, "Recording 3 / 30 s" and Stop, but which condition was recording
only ~1100 px further down ("Eyes open, trial 1, attempt 1"); and the count sat over the plate's
"patient's right →" (drawn in the canvas, 4-20 px from its top). Now the condition and the count are
a line each above the plate.
"""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, api, by_id, page_width, wait
from test_phone_fixes_walk_rows import tablet_and_phone

pytestmark = pytest.mark.e2e

LABEL_BAND_PX = 22
"""The plate's labels ("toes ↑", "patient's right →", 12 px, baseline 16 px) fill the canvas's top 22 px."""

MEASURE = """
const box = (e) => { if (!e) return null; const r = e.getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, text: e.textContent.trim()}; };
// a phone's controls sit in a bar fixed at the bottom of the screen: the screen ends above it
let bar = null;
for (let e = document.getElementById('controls'); e && e !== document.body; e = e.parentElement)
  if (getComputedStyle(e).position === 'fixed') { bar = e.getBoundingClientRect(); break; }
return {count: box(document.getElementById('state-words')), condition: box(document.getElementById('state-condition')),
        canvas: box(document.getElementById('trace')), state: document.getElementById('trial-state').dataset.state,
        screenBottom: bar ? Math.min(innerHeight, bar.top) : innerHeight, W: innerWidth, scrollY};"""
"""Where the count, the condition line and the plate's canvas are on the screen (viewport px), and where the
screen ends above the controls' bar."""


def _check(driver, width: int) -> dict:
    m = driver.execute_script(MEASURE)
    assert m["state"] == "recording", m
    assert m["count"]["text"].startswith("Recording "), m
    band = (m["canvas"]["top"], m["canvas"]["top"] + LABEL_BAND_PX)
    for what in ("count", "condition"):
        b = m[what]
        assert b is not None, f"no {what} on the page"
        # on the screen (above a phone's bar of controls), not sideways
        assert 0 <= b["top"] and b["bottom"] <= m["screenBottom"] and b["bottom"] > b["top"], (what, m)
        assert 0 <= b["left"] and b["right"] <= width, (what, m)
        # clear of the plate's labels' band
        assert b["bottom"] <= band[0] or b["top"] >= band[1], (what, band, m)
    assert m["condition"]["text"].startswith("Eyes open"), m  # the condition, said where the count is
    assert abs(m["condition"]["bottom"] - m["count"]["top"]) < 30, m  # the condition with the count, one under the other
    return m


def test_the_condition_recording_is_on_the_screen_with_the_count(station_for, browsers, shots):
    station = station_for("patient")
    tablet, phone, _ = tablet_and_phone(station, browsers, lambda _d: None)
    phone.set_script_timeout(15)
    # the Romberg test opened for a new patient (as the live view's "Open test" does), then its live view
    created = api(phone, "POST", "/api/patients", {"identifier": "ROMB-72", "birth_year": 1954, "sex": "F"})
    opened = api(phone, "POST", "/api/station/run", {"patient_id": created["body"]["id"], "protocol": "romberg",
                                                     "conditions": ["eo", "ec"]})
    assert opened["status"] in (200, 201), opened
    for driver in (phone, tablet):
        driver.get(f"{station.url}/live")
        wait(driver, "the Start button", lambda d: by_id(d, "btn-start").is_enabled(), timeout_s=30)
    # before the start: the condition due next, on the line above the plate (checked at the end)
    next_words = phone.execute_script("const e = document.getElementById('state-condition'); return e ? e.textContent : null")
    by_id(phone, "btn-start").click()
    for driver in (phone, tablet):
        wait(driver, "a few seconds of recording", lambda d: by_id(d, "state-words").text.startswith("Recording ")
             and int(by_id(d, "state-words").text.split()[1]) >= 3, timeout_s=45)
    for driver, size, name in ((phone, PHONE, "phone"), (tablet, TABLET, "tablet")):
        driver.execute_script("window.scrollTo(0, 0)")
        if name == "tablet":
            driver.execute_script("document.querySelector('.trace-card').scrollIntoView({block: 'nearest'})")
        m = _check(driver, size[0])
        print(name, m)
        driver.save_screenshot(str(shots / f"live-condition-{name}.png"))
        assert page_width(driver) <= size[0]
    api(phone, "POST", "/api/station/close")
    assert next_words is not None and next_words.startswith("Next: Eyes open"), next_words
