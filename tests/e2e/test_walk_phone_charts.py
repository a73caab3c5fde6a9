"""A walk's charts on a phone (390×844), in headless Chromium against the real station: the steps on
the acceleration trace are drawn whole on the screen, without a sideways scroll, and the labels of
the trace, the walkway-free trial page and the history's walk charts stay readable (about 12 px).

Before, the trace was a 640-px drawing in a 355-px box that scrolled sideways without a sign (half
of a 7-s walk shown under a caption naming all of it), and every chart, drawn 520-720 px wide and
scaled to the phone's width, set its 12-px labels at 6-8 px."""

from __future__ import annotations

import numpy as np
import pytest

from test_dashboard import PHONE, css, wait

pytestmark = pytest.mark.e2e

RATE_HZ = 100.0
STEP_S = 0.55


def _walk_frames(seconds: float) -> np.ndarray:
    from station.acquire.frame import FRAME_DTYPE

    n = int(seconds * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    frames = np.zeros(n, dtype=FRAME_DTYPE)
    frames["seq"] = 1000 + np.arange(n)
    frames["t_ns"] = 5_000_000_000 + (t * 1e9).astype(np.int64)
    frames["ax_m_s2"] = 9.81 + np.where(t >= 1.0, 2.0 * np.cos(2 * np.pi * (t - 1.0) / STEP_S), 0.0)
    return frames


def _store_walks(data_dir) -> tuple[int, int]:
    """A patient with two visits of the 10-metre walk, the last with its recording: (patient id, trial id)."""
    from station.store.audit import Actor
    from station.store.store import Store

    actor = Actor(None, "test")
    store = Store.open(data_dir)
    try:
        patient = store.patients.create({"identifier": "PHONE-CHARTS", "birth_year": 1950, "sex": "F"}, actor=actor)
        trial_id = None
        for k, speed in enumerate((0.82, 0.97)):
            session = store.sessions.create(patient["id"], {"label": "walk", "started_at": f"2026-1{k}-02T10:00:00+00:00"},
                                            actor=actor)
            writer = store.trials.start_trial(session["id"], "ten-metre-walk", "comfortable", {"method": "nominal"},
                                              RATE_HZ, actor=actor)
            writer.append(_walk_frames(12.0))
            contacts = [round(1.0 + i * STEP_S, 3) for i in range(19)]
            doc = {"kind": "walk", "fs_hz": RATE_HZ, "samples": 1200, "profile": "walk", "version": "test",
                   "metrics": {"walk_time_s": 6.0 / speed, "walk_speed_m_s": speed, "cadence_steps_min": 109.0,
                               "steps": 19},
                   "initial_contacts_s": contacts}
            trial_id = writer.finish(doc, valid=True)["id"]
        return patient["id"], trial_id
    finally:
        store.close()


def _label_heights(driver, selector: str) -> list[float]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.getBoundingClientRect().height)"
        ".filter((h) => h > 0);", selector)


def test_a_walk_s_charts_fit_a_phone_and_their_labels_stay_readable(reading_pages):
    station = reading_pages.station
    tablet, phone, (patient_id, trial_id) = reading_pages.tablet_and_phone(_store_walks)

    phone.get(f"{station.url}/trials/{trial_id}")
    wait(phone, "the steps on the trace", lambda d: len(css(d, "svg.steps-trace circle.ic")) >= 19, timeout_s=20)
    box = phone.execute_script("""
      const svg = document.querySelector('svg.steps-trace'), r = svg.getBoundingClientRect();
      let box = svg.parentElement;
      while (box && box.scrollWidth <= box.clientWidth + 1 && box !== document.body) box = box.parentElement;
      return {left: r.left, right: r.right, page: document.documentElement.scrollWidth,
              scrolls: box !== null && box !== document.body};""")
    assert box["left"] >= 0 and box["right"] <= PHONE[0] and box["page"] <= PHONE[0], box
    assert not box["scrolls"], "the steps' trace scrolls sideways on a phone"
    dots = phone.execute_script("return [...document.querySelectorAll('svg.steps-trace circle.ic')]"
                                ".map((c) => c.getBoundingClientRect().right);")
    assert max(dots) <= PHONE[0], "the last steps are off the screen"
    heights = _label_heights(phone, "svg.steps-trace text")
    assert heights and min(heights) >= 11, heights  # 12-px labels, not 6-8 px
    top_row = phone.execute_script("""
      return [...document.querySelectorAll('svg.steps-trace text')].filter((e) => e.getAttribute('y') === '14')
        .map((e) => { const r = e.getBoundingClientRect(); return [r.left, r.right, e.textContent]; })
        .sort((a, b) => a[0] - b[0]);""")
    assert len(top_row) == 3, top_row  # unit, trace, steps (the time's words are under its axis)
    assert all(a[1] <= b[0] for a, b in zip(top_row, top_row[1:])), f"the trace's legend overlaps: {top_row}"

    phone.get(f"{station.url}/patients/{patient_id}/history")
    wait(phone, "the walk's history charts", lambda d: css(d, '.history-chart[data-metric="walk_speed_m_s"] svg'),
         timeout_s=20)
    heights = _label_heights(phone, '.history-chart[data-metric="walk_speed_m_s"] svg text')
    assert heights and min(heights) >= 11, heights
    assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
