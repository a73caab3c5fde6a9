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
