"""A visit of several treadmill sessions on the visit results (R's review, session 24, L8): the glance's
pauses said of every session ("no pause in any of the 3 sessions"; it was a lone "no pause" beside three
sessions' chips: for which?), and "Minute by minute" names the session its minutes are of (it showed the
last one's without saying so). Frames a busy station lost, filled in and not touching the result, are one small grey
line in the trial list, as the visit PDF says them (trial #35 carried the whole paragraph, "(it woke late: a busy
station, not the sensor) ... so no step was missed: the gait measures are valid."). The trial's own page says the
whole words under the tag "gait measures valid", without saying it again at their end (s30 P16)."""

from __future__ import annotations

import pytest

from test_dashboard import PHONE, TABLET, css, wait
from test_walk_minute_words import _row
from test_walk_words_on_pages import text_of

pytestmark = pytest.mark.e2e


def _visit(data_dir) -> tuple[int, list[int]]:
    """Three 1-minute sessions at 1.8 km/h, no pause: (the last session's id, the trials' ids)."""
    from station.protocols.walk_words import imu_gaps_summary
    from station.store.audit import Actor
    from station.store.store import Store

    store = Store.open(data_dir)
    actor = Actor(None, "test")
    patient = store.patients.create({"identifier": "TM-NAMES", "birth_year": 1950, "sex": "F"}, actor=actor)
    trials = []
    # the middle session: 6 frames a busy station lost in 2 short gaps, filled in (walk.py stores these words)
    lost = {"imu_bridged_frames": 6, "imu_bridged_gaps": 2, "imu_longest_gap_s": 0.05, "imu_bridged_sensor_frames": 0,
            "imu_bridged_sensor_gaps": 0, "imu": None, "setting": "treadmill"}
    lost["imu_gaps"] = imu_gaps_summary(lost, samples=6000, fs_hz=100.0)
    for minute in (0, 10, 20):
        session = store.sessions.create(patient["id"], {"label": "treadmill",
                                                        "started_at": f"2026-12-05T20:{minute:02d}:00+00:00"}, actor=actor)
        writer = store.trials.start_trial(session["id"], "backward-treadmill", "session", {"method": "nominal"}, 100.0,
                                          actor=actor)
        metrics = {"walking_min": 1.0, "planned_min": 1.0, "pauses": 0, "pause_s": 0.0, "steps": 95,
                   "cadence_steps_min": 95.0, "stride_time_cv_pct": 3.0, "walk_time_s": 60.0, "walk_speed_m_s": 0.5,
                   "belt_speed_m_s": 0.5, "walk_distance_m": 30.0}
        outcome = {"protocol": "backward-treadmill", "condition": "session", "label": "session", "trial": 1, "attempt": 1,
                   "valid": True, "end_reason": "duration", "issues": [], "hold_end": None, "warnings": [],
                   "completed": True, "duration_s": 60.0, "time_held_s": None,
                   "walk": {"setting": "treadmill", "belt_speed_m_s": 0.5, "walking_min": 1.0, "planned_min": 1.0,
                            **(lost if minute == 10 else {})}}
        trials.append(writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 0, "profile": "walk", "version": "test",
                                     "metrics": metrics, "trial": outcome, "by_minute": [_row(1, 95, 60.0, 95.0)]},
                                    valid=True)["id"])
    store.close()
    return session["id"], trials


def test_a_visits_treadmill_sessions_say_which_session_their_words_are_of(reading_pages, shots):
    station = reading_pages.station
    tablet, phone, (last, trials) = reading_pages.tablet_and_phone(_visit)
    section = '.protocol-results[data-protocol="backward-treadmill"]'
    for driver, size in ((tablet, TABLET), (phone, PHONE)):
        driver.get(f"{station.url}/sessions/{last}")
        glance = wait(driver, "the treadmill's glance", lambda d: text_of(css(d, f"{section} .card.condition > .actions .tag")))
        assert "no pause in any of the 3 sessions" in glance, glance
        heading = wait(driver, "the minute by minute", lambda d: text_of(css(d, f"{section} .walk-minutes-block h3")), timeout_s=20)
        # named as the trial list names it (it said "trial #3 (06:09 AM)", the trial's clock, beside "Test 3 (08:20 PM)")
        listed = text_of(css(driver, f'{section} li[data-trial-id="{trials[-1]}"] > div > a'))
        assert listed.startswith("Test 3 ("), listed
        assert heading == f"Minute by minute: {listed} · #{trials[-1]}, the last of 3", (heading, listed)
        # the frames the station lost: a small grey line, not the trial page's paragraph (nothing in it touched the result)
        line = css(driver, f'{section} li[data-trial-id="{trials[1]}"] .imu-gaps')
        assert len(line) == 1 and "muted" in line[0].get_attribute("class").split(), line
        assert text_of(line) == ("Station (busy, not the sensor): 2 short gaps (≤ 0.1 s; 6 frames) filled by "
                                 "interpolation; gait measures valid."), text_of(line)
        assert "woke late" not in text_of(css(driver, f"{section} .trial-list")), text_of(css(driver, f"{section} .trial-list"))
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0], size
        driver.execute_script("document.querySelectorAll('details').forEach((d) => { d.open = true; });"
                              "arguments[0].scrollIntoView({block: 'center'})", line[0])
        driver.save_screenshot(str(shots / f"treadmill-frames-lost-{size[0]}.png"))
        driver.execute_script("document.querySelectorAll('details').forEach((d) => { d.open = true; });"
                              "arguments[0].scrollIntoView({block: 'start'})", css(driver, f"{section} .walk-minutes-block")[0])
        driver.save_screenshot(str(shots / f"treadmill-minutes-{size[0]}.png"))
        # the trial's own page gives the whole words under one tag: valid said once (s30 P16, item 4: the words ended
        # "...: the gait measures are valid." after the tag "gait measures valid")
        driver.get(f"{station.url}/trials/{trials[1]}")
        note = wait(driver, "the trial's sensor note", lambda d: text_of(css(d, "#walk-imu-gaps")))
        assert note.startswith("gait measures valid The station lost 6 frames") and note.count("valid") == 1, note
        assert note.endswith("so no step was missed."), note
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0], size
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", css(driver, "#walk-imu-gaps")[0])
        driver.save_screenshot(str(shots / f"treadmill-trial-gaps-{size[0]}.png"))
