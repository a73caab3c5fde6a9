"""Lost IMU samples are put back on the frame grid: short gaps bridged and counted, long ones
reported, never closed (DESIGN.md §3)."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis.gait import gait_metrics
from station.analysis.imu_gaps import MAX_BRIDGE_S, bridge_gaps


def _walk(fs=100.0, seconds=20.0, step_s=0.55):
    t = np.arange(0, seconds, 1 / fs)
    acc = np.zeros((t.size, 3))
    acc[:, 0] = 9.81 + 2.0 * np.cos(2 * np.pi * t / step_s)
    return t, acc


def test_short_gaps_are_interpolated_on_the_grid_and_counted():
    fs = 100.0
    t, acc = _walk(fs)
    seq = np.arange(t.size)
    keep = np.ones(t.size, dtype=bool)
    keep[500:505] = False  # five lost frames (0.05 s)
    acc_nan = acc.copy()
    acc_nan[900:903] = np.nan  # three frames whose IMU reading failed
    grid, report = bridge_gaps(acc_nan[keep], seq[keep], fs)
    assert grid.shape == acc.shape  # the time base is intact: nothing closed up
    assert report.bridged_frames == 8 and report.bridged_gaps == 2 and report.long_gaps_s == []
    assert report.longest_bridged_s == pytest.approx(0.05)
    assert np.isfinite(grid).all()
    assert np.abs(grid - acc).max() < 0.2  # a straight line over 0.05 s of a 0.55 s cycle


def test_closing_gaps_would_shift_the_steps_bridging_does_not():
    fs = 100.0
    t, acc = _walk(fs, seconds=20.0, step_s=0.5)
    keep = np.ones(t.size, dtype=bool)
    for start in range(300, 1700, 200):
        keep[start : start + 8] = False  # 0.08 s lost every 2 s
    truth = gait_metrics(acc, fs)["cadence_steps_min"]
    grid, report = bridge_gaps(acc[keep], np.arange(t.size)[keep], fs)
    bridged = gait_metrics(grid, fs)["cadence_steps_min"]
    closed = gait_metrics(acc[keep], fs)["cadence_steps_min"]  # what dropping the frames did
    assert report.bridged_frames == int((~keep).sum())
    assert bridged == pytest.approx(truth, abs=0.5)
    assert abs(closed - truth) > 1.5


def test_long_gaps_are_reported_and_left_missing():
    fs = 100.0
    _t, acc = _walk(fs, seconds=5.0)
    seq = np.arange(acc.shape[0])
    keep = (seq < 200) | (seq >= 230)  # 0.3 s lost
    grid, report = bridge_gaps(acc[keep], seq[keep], fs)
    assert report.long_gaps_s == [(2.0, 0.3)]
    assert report.bridged_frames == 0
    assert np.isnan(grid[200:230]).all() and np.isfinite(grid[:200]).all()
    assert MAX_BRIDGE_S < 0.3


def test_missing_readings_at_the_ends_are_trimmed_not_invented():
    x = np.array([[np.nan], [np.nan], [1.0], [2.0], [np.nan]])
    grid, report = bridge_gaps(x, np.arange(10, 15), 50.0)
    assert grid[:, 0].tolist() == [1.0, 2.0]
    assert report.first_frame == 12 and report.trimmed_frames == 3


@pytest.mark.parametrize("samples, seq, fs, message", [
    (np.zeros((3, 2)), np.array([0, 2, 1]), 100.0, "increase"),
    (np.zeros((3, 2)), np.array([0, 1]), 100.0, "one row per frame"),
    (np.full((3, 2), np.nan), np.array([0, 1, 2]), 100.0, "no IMU reading"),
    (np.zeros((3, 2)), np.array([0.0, 1.0, 2.0]), 100.0, "integer"),
    (np.zeros((3, 2)), np.array([0, 1, 2]), 0.0, "positive"),
])
def test_bad_input_is_refused_with_the_reason(samples, seq, fs, message):
    with pytest.raises(ValueError, match=message):
        bridge_gaps(samples, seq, fs)
