"""A walk recorded for less than the gait analysis needs (station.protocols.walk.MIN_GAIT_S) is said too short, code
``too_short`` (s29 P14, item 8): it was ``imu_misaligned``, a station fault lighting the panel's fault LED, and its
words ("the recording is too short for gait measures. Check the lower-back sensor (on the belt, its cable
connected)") sent the clinician to re-strap a sensor that was fine. The gait's words name the sensor once."""

from __future__ import annotations

from station.hw.panel import HARDWARE_FAULT_CODES
from station.protocols.walk import MIN_GAIT_S, TOO_SHORT, WalkSettings

from tests.protocols.walk_support import run_walk


def test_a_treadmill_session_too_short_for_gait_is_said_so_with_no_sensor_to_check():
    run = run_walk("backward-treadmill", seed=12,  # a session planned for 1.5 s
                   settings=WalkSettings(belt_speed_m_s=0.5, planned_min=0.025, sensor_height_m=0.98))
    result = run.runner.records[0].result
    assert result.recorded_s < MIN_GAIT_S
    assert not result.valid and [i.code for i in result.issues] == [TOO_SHORT] == ["too_short"]
    assert TOO_SHORT not in HARDWARE_FAULT_CODES  # nobody's fault: no fault LED
    assert result.issues[0].message == (
        "The session's walking could not be measured: 1.5 s recorded, under the 2 s the gait analysis needs. The "
        "recording is kept, and the minutes walked can be entered by hand as the session's dose.")
    assert "sensor" not in result.issues[0].message and "misaligned" not in result.walk["imu"]
    assert result.walk["imu_gaps"]["words"] == \
        "No gait measures from the lower-back sensor: 1.5 s recorded, under the 2 s the gait analysis needs."


def test_an_overground_walk_whose_readings_came_whole_but_showed_no_steps_says_what_is_missing_not_too_short():
    """imu_missing's fallback words (no gap in the sensor's readings longer than the bridged ones, yet under half of
    the walk measured: its steps unseen) read "the recording is too short for gait measures" (s29 P15, item 4): a
    recording too short has its own code since 580a1f3; now they say what is missing."""
    from types import SimpleNamespace

    import numpy as np

    from station.protocols.walk import WalkMachine

    machine = SimpleNamespace(rate_hz=100.0, _first_frame_s=lambda: 0.01, _silent_tail_s=lambda: 0.0, _lost_words="")
    gaps = SimpleNamespace(first_frame=0, trimmed_frames=0, long_gaps_s=[])  # no gap: every reading came
    session = SimpleNamespace(dropouts=0, stalls=0, blind=[(0.0, 9.0)], measured_s=0.0, parts=[])
    words = WalkMachine._too_little_measured(machine, gaps, session, np.arange(900), 9.0, 0)
    assert "too short" not in words, words
    # no gap, so no "part between gaps (9.0 s at 0.0 s)" (s30 P16, item 5): the whole walk held too few steps
    assert words == ("the walk's steps not found in the lower-back sensor's readings (none of them missing for longer "
                     "than 0.1 s); they show fewer than a walking bout's 4 steps in the 9.0 s from the go to the end"), words
    # with gaps, the part between them that showed no steps is still said as such
    gaps = SimpleNamespace(first_frame=0, trimmed_frames=0, long_gaps_s=[(3.0, 0.5)])
    session = SimpleNamespace(dropouts=1, stalls=0, blind=[(0.0, 3.0)], measured_s=2.0, parts=[(3.5, 5.5)])
    machine._stalled = lambda *a: False
    words = WalkMachine._too_little_measured(machine, gaps, session, np.arange(900), 9.0, 50)
    assert "; a part between gaps (3.0 s at 0.0 s) held fewer steps than a walking bout's 4" in words, words
