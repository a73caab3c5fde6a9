"""Stance trials with an IMU worn get the trunk sway keys (Mancini et al. 2012) beside the COP
measures; without IMU data they get none, and unusable IMU data says why."""

from __future__ import annotations

import numpy as np
import pytest

from station.acquire.frame import FRAME_DTYPE
from station.analysis.trunk_sway import TRUNK_KEYS
from station.protocols.results import trial_metrics, trunk_sway_metrics

FS = 100.0


def frames(seconds=30.0, imu=True, up="z", seed=0):
    n = int(seconds * FS)
    t = np.arange(n) / FS
    rng = np.random.default_rng(seed)
    f = np.zeros(n, dtype=FRAME_DTYPE)
    f["seq"] = np.arange(n)
    f["t_ns"] = (np.arange(n) * 1e9 / FS).astype(np.int64)
    f["ap_cm"] = np.cumsum(rng.normal(0, 0.01, n))
    f["ml_cm"] = np.cumsum(rng.normal(0, 0.01, n))
    for corner in ("fl_n", "fr_n", "bl_n", "br_n"):
        f[corner] = 175.0
    f["fz_n"] = 700.0
    for name in ("ax_m_s2", "ay_m_s2", "az_m_s2", "gx_deg_s", "gy_deg_s", "gz_deg_s"):
        f[name] = np.nan if not imu else 0.0
    if imu:
        # the station's IMU as worn (walk.DEFAULT_MOUNTING): +z up, +x toward the toes
        f["a" + up + "_m_s2"] = 9.81
        f["ax_m_s2"] += 0.1 * np.sin(2 * np.pi * 0.5 * t)
        f["ay_m_s2"] += 0.05 * np.cos(2 * np.pi * 0.5 * t)
    return f


def test_stance_trial_with_imu_gets_trunk_keys_beside_cop_measures():
    result = trial_metrics(frames(), FS)
    m = result["metrics"]
    assert all(k in m for k in TRUNK_KEYS)
    assert m["trunk_rms_ap_m_s2"] == pytest.approx(0.1 / np.sqrt(2), rel=1e-2)
    assert m["trunk_rms_ml_m_s2"] == pytest.approx(0.05 / np.sqrt(2), rel=1e-2)
    assert "ellipse_area_cm2" in m and "trunk_sway_note" not in result


def test_mounting_given_by_the_station_is_used():
    worn_otherwise = frames(up="x")  # gravity along +x: the IMU is worn with +x up
    assert trial_metrics(worn_otherwise, FS, mounting=("+x", "+z"))["metrics"]["trunk_rms_m_s2"] > 0
    refused = trial_metrics(worn_otherwise, FS)  # the default mounting (+z up) disagrees with gravity
    assert not any(k.startswith("trunk_") for k in refused["metrics"])
    assert refused["trunk_sway_note"].startswith("no trunk sway: IMU mounting: configured up axis +z points")


def test_no_imu_data_means_no_trunk_keys_and_no_note():
    result = trial_metrics(frames(imu=False), FS)
    assert not any(k.startswith("trunk_") for k in result["metrics"])
    assert "trunk_sway_note" not in result


def test_imu_missing_in_some_frames_is_said_not_bridged():
    f = frames()
    f["az_m_s2"][100:105] = np.nan
    keys, note = trunk_sway_metrics(f, FS)
    assert keys == {} and note == "no trunk sway: the IMU gave no sample in 5 of 3000 frames"


def test_short_hold_gets_a_reason():
    keys, note = trunk_sway_metrics(frames(seconds=3.0), FS)
    assert keys == {} and "too short for trunk sway" in note
