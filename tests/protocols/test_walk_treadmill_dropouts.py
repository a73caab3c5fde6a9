"""A treadmill session with lower-back IMU dropouts too long to bridge is measured in the parts
between them (station/protocols/walk_parts.py): the minutes walked, steps and pauses of the
measured time, the time not measured said in words; only a session mostly unmeasured is invalid."""

from __future__ import annotations

import numpy as np

from station.protocols.walk import WalkSettings
from station.protocols.walk_parts import MIN_MEASURED_FRACTION

from station.protocols.machine import TrialState

from tests.protocols.test_walk_imu_gaps import _lose_imu
from tests.protocols.walk_support import go_s, match, run_walk

SETTINGS = WalkSettings(belt_speed_m_s=0.5, planned_min=0.5, sensor_height_m=0.98)


def _session(after_frames: int, frames: int, seed: int = 12):
    """A session whose frames arrive without the sensor's readings for a while (a sensor dropout;
    frames that never arrive are a station stall: tests/protocols/test_walk_station_faults.py)."""
    return run_walk("backward-treadmill", seed=seed, settings=SETTINGS,
                    on_runner=lambda r: _no_imu_after_the_go(r, after_frames=after_frames, frames=frames))


def test_a_quarter_second_dropout_keeps_the_session_and_says_what_was_not_measured():
    run = _session(after_frames=1000, frames=25)  # 0.25 s, 10 s after the go (100 Hz)
    result = run.runner.records[0].result
    assert result.valid, [i.message for i in result.issues]
    walk = result.walk
    assert walk["imu"] is None and walk["imu_dropouts"] == 1 and walk["imu_stalls"] == 0
    assert abs(walk["imu_not_measured_s"] - 0.25) < 0.02
    assert len(walk["imu_parts"]) == 2 and abs(walk["imu_parts"][1][0] - walk["imu_parts"][0][1] - 0.25) < 0.02
    # the minutes walked are the measured walking: close to the 30 s planned, less the gap
    assert 0.40 <= walk["walking_min"] <= 0.5
    metrics = result.metrics["metrics"]
    assert metrics["steps"] > 30 and metrics["cadence_steps_min"] and metrics["stride_time_cv_pct"] is not None
    # the steps either side of the gap are found at their true times (not shifted by the lost time)
    trial, plan = run.patient.walks[0]
    go = go_s(run, 0)
    found = np.array(walk["initial_contacts_s"]) + go
    truth = plan.initial_contacts_s[(plan.initial_contacts_s > go + 1.0) & (plan.initial_contacts_s < go + 29.0)]
    truth = truth[np.abs(truth - (go + 10.1)) > 0.6]  # a step inside or at the edge of the gap cannot be found
    f1, timing_s = match(truth, found[(found > go + 1.0) & (found < go + 29.0)])
    assert f1 >= 0.95 and timing_s < 0.05
    # minute rows: each within one part, in session time
    rows = result.metrics["by_minute"]
    assert [r["part"] for r in rows] == sorted(r["part"] for r in rows) and {r["part"] for r in rows} == {1, 2}
    assert rows[1]["start_s"] >= walk["imu_parts"][1][0] - 1e-6
    said = walk["imu_gaps"]
    assert said["gait_valid"] is True and said["words"].startswith("0.25 s not measured (1 sensor dropout)")
    assert any(w.startswith("0.25 s not measured") for w in result.warnings)


def _no_imu_after_the_go(runner, after_frames: int, frames: int):
    """Frames keep coming but without an IMU reading (the sensor's bus failing) for ``frames`` frames."""
    holder = {}

    def nan(seq):
        machine = getattr(runner, "machine", None)
        if "at" not in holder and machine is not None and machine.state == TrialState.RECORDING and seq.size:
            holder["at"] = int(seq[0]) + after_frames
        at = holder.get("at")
        return np.zeros(seq.shape, dtype=bool) if at is None else (seq >= at) & (seq < at + frames)

    _lose_imu(runner, drop=lambda s: np.zeros(s.shape, dtype=bool), nan=nan)


def test_a_session_mostly_unmeasured_is_invalid_with_the_reason():
    run = run_walk("backward-treadmill", seed=12, settings=SETTINGS,
                   on_runner=lambda r: _no_imu_after_the_go(r, after_frames=500, frames=2000))  # 20 of 30 s lost
    records = run.runner.records
    assert records and not records[0].result.valid
    reason = " ".join(i.message for i in records[0].result.issues)
    assert "the lower-back sensor's readings missing for 20 of 30 s" in reason and "IMU" not in reason
    assert f"at least {100 * MIN_MEASURED_FRACTION:.0f} % of a session must be measured" in reason
    assert "entered by hand" in reason
    assert records[0].result.issues[0].code == "imu_missing"
