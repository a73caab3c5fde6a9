"""A treadmill session's minute table in headless Chromium (tablet), against the real station: a
minute where the walking ends, with too few steps to measure (station.analysis.gait.MIN_MINUTE_STEPS),
shows its steps, a dash for its cadence and variability, and the caption says why (before, one step
gave that minute a cadence of 94, a step length and a speed)."""

from __future__ import annotations

import pytest

from test_cutoff_population_pages import part_screenshot
from e2e_support import PHONE
from test_dashboard import css, wait
from test_walk_phone_charts import RATE_HZ, _walk_frames

pytestmark = pytest.mark.e2e


def _row(minute: int, steps: int, walking_s: float, cadence) -> dict:
    return {"minute": minute, "start_s": 60.0 * (minute - 1), "end_s": 60.0 * minute, "walking_s": walking_s,
            "steps": steps, "cadence_steps_min": cadence, "step_time_s": None if cadence is None else 60.0 / cadence,
            "step_time_cv_pct": None if cadence is None else 2.1, "stride_time_cv_pct": None if cadence is None else 1.4,
            "step_length_m": None, "walking_speed_m_s": None, "pauses": 0 if cadence else 1,
            "pause_s": 0.0 if cadence else 58.0}


def test_a_minute_with_too_few_steps_says_why_it_has_no_cadence(reading_pages, shots):
    from station.store.audit import Actor
    from station.store.store import Store

    station = reading_pages.station
    tablet, phone, _ = reading_pages.tablet_and_phone(lambda _data_dir: None)
    actor = Actor(None, "test")
    store = Store.open(station.data_dir)
    try:
        patient = store.patients.create({"identifier": "MINUTES", "birth_year": 1950, "sex": "M"}, actor=actor)
        session = store.sessions.create(patient["id"], {"label": "treadmill"}, actor=actor)
        writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, RATE_HZ,
                                          actor=actor)
        writer.append(_walk_frames(12.0))
        rows = [_row(1, 109, 59.0, 109.4), _row(2, 2, 0.9, None)]
        doc = {"kind": "walk", "fs_hz": RATE_HZ, "samples": 1200, "profile": "walk", "version": "test",
               "metrics": {"walking_min": 1.0, "steps": 111, "cadence_steps_min": 109.4, "pauses": 1},
               "initial_contacts_s": [round(1.0 + i * 0.55, 3) for i in range(19)], "by_minute": rows}
        trial_id = writer.finish(doc, valid=True)["id"]
        store.trials.judge(trial_id, {"notes": "Protocol: https://clinic.example.org/protocols/treadmill/backward-walking-"
                                               "after-stroke-week-3-progression-notes-v2.pdf"}, actor=actor)
    finally:
        store.close()

    tablet.get(f"{station.url}/trials/{trial_id}")
    wait(tablet, "the minute table", lambda d: css(d, ".walk-minutes tbody tr[data-minute]"), timeout_s=20)
    second = [td.text for td in css(tablet, '.walk-minutes tbody tr[data-minute="2"] td')]
    assert second[2] == "2" and second[3] == "–" and second[4] == "–", second  # steps counted, not measured
    caption = " ".join(f.text for f in css(tablet, ".minute-figure figcaption"))
    assert "A minute with fewer than 4 steps (where the walking starts or ends) has its steps counted but no cadence" in caption, caption
    assert "NaN" not in css(tablet, ".walk-minutes")[0].text

    # on a phone (review s21): the table's other columns a scroll away and said so (before: cut at the screen's
    # edge mid-word, "Ste tim", with no sign); a note with a long address wraps, the trial's tag stays on screen
    phone.get(f"{station.url}/trials/{trial_id}")
    wait(phone, "the minute table", lambda d: css(d, ".walk-minutes tbody tr[data-minute]"), timeout_s=20)
    scroll = phone.execute_script(
        "const s = document.querySelector('.walk-minutes-block .table-scroll');"
        "return [s.scrollWidth, s.clientWidth, getComputedStyle(s, '::before').content, s.getBoundingClientRect().right];")
    assert scroll[0] > scroll[1] and "Scroll the table sideways" in scroll[2] and scroll[3] <= PHONE[0], scroll
    part_screenshot(phone, ".walk-minutes-block", shots / "minutes-phone.png")
    phone.get(f"{station.url}/sessions/{session['id']}")
    wait(phone, "the trial list", lambda d: css(d, f'.trial-list li[data-trial-id="{trial_id}"]'), timeout_s=20)
    phone.execute_script("document.querySelectorAll('details.condition-details').forEach((d) => { d.open = true; });")
    tag = phone.execute_script(f"return document.querySelector('.trial-list li[data-trial-id=\"{trial_id}\"] > .tag')"
                               ".getBoundingClientRect().right")
    assert 0 < tag <= PHONE[0], tag
    part_screenshot(phone, ".trial-list", shots / "visit-trial-list-phone.png")
