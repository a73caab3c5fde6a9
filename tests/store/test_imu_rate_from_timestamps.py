"""An IMU recording without a sidecar ``rate_hz`` takes its rate from all its timestamps, not from
1 / the median step: 320-Hz times rounded to 1 ms step by 3 or 4 ms (median 3 ms: 333 Hz, 4 % off,
and every cadence and step time with it). Gaps are found as before; the sidecar's rate and its 2 %
agreement rule are unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from station.commands.gait import analyse_file
from station.store.imu_recording import read_imu_recording
from station.store.trialfile import TrialFileError

WALK = Path(__file__).resolve().parents[3] / "shared" / "data" / "gait" / "HA001-Test5-Trial1.csv"
STEP_S = 0.55  # one step every 0.55 s: 109.09 steps/min


def recording(path: Path, time_s: np.ndarray, true_hz: float, *, rate_hz: float | None = None, lost=()) -> Path:
    """A walk-like recording (x up, z toward the toes) sampled at ``true_hz``, written at the times
    ``time_s``, rows ``lost`` left out; a sidecar with ``rate_hz`` when given."""
    phase = 2 * np.pi * np.arange(time_s.shape[0]) / true_hz / STEP_S
    acc = np.column_stack((9.81 + 2.0 * np.cos(phase), 0.3 * np.sin(phase / 2), 0.8 * np.sin(phase)))
    rows = np.delete(np.column_stack((time_s, acc)), list(lost), axis=0)
    np.savetxt(path, rows, delimiter=",", fmt="%.6f", header="time_s,ax_m_s2,ay_m_s2,az_m_s2", comments="")
    if rate_hz is not None:
        path.with_suffix(".json").write_text(json.dumps({"rate_hz": rate_hz}))
    return path


def rounded_320(seconds: float = 20.0) -> np.ndarray:
    return np.round(np.arange(int(seconds * 320)) / 320, 3)  # a sensor's times, rounded to 1 ms


def gait(path: Path) -> dict:
    return analyse_file(str(path), sensor_height_m=None, mounting=(None, None), default_mounting=("+x", "+z"),
                        version="test")


def test_rounded_320_hz_timestamps_give_320_hz_and_the_true_cadence(tmp_path):
    path = recording(tmp_path / "r320.csv", rounded_320(), 320)
    rec = read_imu_recording(path)
    assert rec.fs_hz == pytest.approx(320.0, rel=1e-3)  # was 333.333 (1 / the median step, 3 ms)
    assert rec.samples == 6400 and rec.gap_summary() is None
    result = gait(path)
    assert result["fs_hz"] == rec.fs_hz
    assert result["metrics"]["cadence_steps_min"] == pytest.approx(60 / STEP_S, rel=0.01)
    assert result["metrics"]["step_time_s"] == pytest.approx(STEP_S, rel=0.01)


def test_jittered_100_hz_timestamps_give_100_hz(tmp_path):
    n = 3000
    jitter = np.clip(np.random.default_rng(7).normal(0.0, 0.002, n), -0.0045, 0.0045)
    rec = read_imu_recording(recording(tmp_path / "j100.csv", 50.0 + np.arange(n) / 100 + jitter, 100))
    assert rec.fs_hz == pytest.approx(100.0, rel=1e-3) and rec.gap_summary() is None


def test_a_real_gap_is_still_found_and_left_out_of_the_rate(tmp_path):
    path = recording(tmp_path / "gap.csv", rounded_320(), 320, lost=range(2000, 2010))  # 10 samples lost
    rec = read_imu_recording(path)
    assert rec.fs_hz == pytest.approx(320.0, rel=1e-3)
    summary = rec.gap_summary()
    assert summary["samples_lost"] == 10 and summary["gaps"] == 1 and rec.samples == 6400
    assert summary["longest_gap_s"] == pytest.approx(10 / 320, rel=1e-3)
    # a gap too long to bridge is refused in the words it was before (from the steps, at 1 / the median step)
    path = recording(tmp_path / "long.csv", rounded_320(), 320, lost=range(2000, 2200))
    with pytest.raises(TrialFileError, match=r"IMU data missing for 0\.6\d* s after time_s 6\.247 s \(line 2001\)"):
        read_imu_recording(path)


def test_the_sidecar_rate_and_its_two_percent_rule_are_unchanged(tmp_path):
    path = recording(tmp_path / "side.csv", rounded_320(), 320, rate_hz=320.0)
    assert read_imu_recording(path).fs_hz == 320.0
    path.with_suffix(".json").write_text('{"rate_hz": 333.3}')  # the median step's rate: 4 % off the file's
    with pytest.raises(TrialFileError, match=r"sidecar rate_hz 333\.3 disagrees with the time steps: time_s holds 320"):
        read_imu_recording(path)


def test_exact_timestamps_give_the_rate_the_median_gave(tmp_path):
    if not WALK.is_file():
        pytest.skip("shared gait data not found")
    shutil.copy(WALK, tmp_path / "with.csv")
    shutil.copy(WALK.with_suffix(".json"), tmp_path / "with.json")
    shutil.copy(WALK, tmp_path / "without.csv")  # no rate_hz: the rate from time_s (0.0100 steps)
    meta = json.loads(WALK.with_suffix(".json").read_text())
    (tmp_path / "without.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "rate_hz"}))
    rec = read_imu_recording(tmp_path / "without.csv")
    assert rec.fs_hz == 100.0 and rec.gap_summary() is None
    assert gait(tmp_path / "without.csv")["metrics"] == gait(tmp_path / "with.csv")["metrics"]
    n = 4000
    assert read_imu_recording(recording(tmp_path / "e320.csv", np.arange(n) / 320, 320)).fs_hz == 320.0
