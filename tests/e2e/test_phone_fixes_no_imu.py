"""A walk recorded without the lower-back IMU, on the visit's results and the trial's page, on a phone
(390×844) and a tablet, in headless Chromium against the real station: the words saying there is no
acceleration are whole on the screen (outside review, item 7).

Before, they were SVG text drawn across the middle of a chart 390+ px wide in the drawing's units and
scaled to the phone's width, cut at both ends ("…o acceleration recorded (was the IMU worn and
connected?"). Now they are HTML text that wraps inside its figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_dashboard import PHONE, TABLET, page_width, wait
from test_phone_fixes_walk_rows import RATE_HZ, frames_of, in_store

pytestmark = pytest.mark.e2e

WORDS = "no acceleration recorded"


def _store(data_dir, identifier: str = "NO-IMU") -> tuple[int, int]:
    """A 10-metre walk recorded for 12 s with no IMU data (the sensor not worn) of the patient ``identifier``:
    (session id, trial id)."""
    return in_store(data_dir, lambda store, actor: _fill(store, actor, identifier))


def _fill(store, actor, identifier: str) -> tuple[int, int]:
    from station.acquire.frame import IMU_FIELDS

    patient = store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "M"}, actor=actor)
    session = store.sessions.create(patient["id"], {"label": "10mwt"}, actor=actor)
    writer = store.trials.start_trial(session["id"], "ten-metre-walk", "comfortable", {"method": "nominal"}, RATE_HZ,
                                      actor=actor)
    frames = frames_of(12.0)
    for field in IMU_FIELDS:
        frames[field] = np.nan
    writer.append(frames)
    walk = {"setting": "overground", "initial_contacts_s": [], "walk_time_s": 6.1, "walk_distance_m": 6.0,
            "walk_speed_m_s": 6.0 / 6.1}
    outcome = {"protocol": "ten-metre-walk", "condition": "comfortable", "label": "Comfortable pace", "trial": 1,
               "attempt": 1, "valid": True, "end_reason": "gate_reached", "issues": [], "hold_end": None, "warnings": [],
               "completed": True, "duration_s": 12.0, "time_held_s": None, "walk": walk}
    trial = writer.finish({"kind": "walk", "fs_hz": RATE_HZ, "samples": len(frames), "profile": "walk", "version": "test",
                           "metrics": {"walk_time_s": 6.1, "walk_speed_m_s": 6.0 / 6.1}, "trial": outcome}, valid=True)
    return session["id"], trial["id"]


MEASURE = """
const W = innerWidth; const out = [];
const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (!n.textContent.toLowerCase().includes(arguments[0])) continue;
  const e = n.parentElement, r = e.getBoundingClientRect();
  if (!r.width) continue;
  // the boxes it must stay in: the viewport, and each box that clips (an svg, a figure, a card)
  const boxes = [];
  for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    if (a.tagName.toLowerCase() === 'svg' || getComputedStyle(a).overflowX !== 'visible' || a.tagName === 'FIGURE') {
      const b = a.getBoundingClientRect(); boxes.push([a.tagName, Math.round(b.left), Math.round(b.right)]);
    }
  }
  out.push({tag: e.tagName, text: e.textContent.trim(), left: Math.round(r.left), right: Math.round(r.right),
            top: Math.round(r.top + scrollY), W, boxes});
}
return out;"""
"""Where the words saying there is no acceleration are (px), with the boxes around them that clip."""


def _check(driver, url: str, width: int, shot: Path) -> list[dict]:
    driver.get(url)
    # the page filled in (its trials' blocks opened: a phone shows them closed)
    wait(driver, "the page filled in", lambda d: d.execute_script(
        "document.querySelectorAll('main details').forEach((x) => x.open = true);"
        "return arguments[0].some((w) => document.querySelector('main').innerText.toLowerCase().includes(w))",
        [WORDS, "no acceleration trace"]), timeout_s=20)
    found = wait(driver, "the words saying there is no acceleration", lambda d: d.execute_script(MEASURE, WORDS), timeout_s=20)
    driver.execute_script("window.scrollTo(0, arguments[0] - 200)", found[0]["top"])
    driver.save_screenshot(str(shot))
    found = driver.execute_script(MEASURE, WORDS)  # where they are once the page is still
    for f in found:
        assert 0 <= f["left"] and f["right"] <= width, f  # on the screen
        for tag, left, right in f["boxes"]:
            assert left - 1 <= f["left"] and f["right"] <= right + 1, f  # inside each box that clips it
        assert f["tag"].lower() != "text", f  # HTML text that wraps, not fixed-width SVG text
    assert page_width(driver) <= width
    return found


def test_no_acceleration_words_whole_on_a_phone_and_a_tablet(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (session_id, trial_id) = reading_pages.tablet_and_phone(_store)
    for driver, size, name in ((phone, PHONE, "phone"), (tablet, TABLET, "tablet")):
        for page, path in (("visit", f"/sessions/{session_id}"), ("trial", f"/trials/{trial_id}")):
            found = _check(driver, station.url + path, size[0], shots / f"no-imu-{name}-{page}.png")
            print(name, page, found)
