"""Stance trials with an IMU worn get the trunk sway keys (Mancini et al. 2012) beside the COP
measures; without IMU data they get none, and unusable IMU data says why. Lost frames and missing
IMU readings are bridged with a count or leave no trunk sway with the reason (DESIGN.md §3)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

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


def swaying(seconds=30.0, seed=1):
    """Frames of quiet stance whose horizontal trunk acceleration is band-limited noise (0.1-3 Hz,
    0.1 m/s² RMS), so that a gap or a closed-up gap shows in every trunk measure."""
    f = frames(seconds=seconds)
    f["seq"] += 40_000  # the acquisition's counter, not 0 at the trial's start
    b, a = signal.butter(2, [0.1, 3.0], btype="band", fs=FS)
    sway = signal.filtfilt(b, a, np.random.default_rng(seed).normal(0.0, 1.0, (2, len(f))), axis=1)
    f["ax_m_s2"] = 0.1 * sway[0] / sway[0].std()
    f["ay_m_s2"] = 0.1 * sway[1] / sway[1].std()
    return f


def test_lost_frames_and_missing_readings_are_bridged_and_counted_not_closed_up():
    f = swaying()
    intact = trial_metrics(f, FS)
    assert "trunk_sway_gaps" not in intact
    keep = np.ones(len(f), bool)
    for start in (500, 1500):
        keep[start : start + 20] = False  # two gaps of 0.2 s: the longest a stance trial may have
    lost = f[keep].copy()
    lost["az_m_s2"][2400:2419] = np.nan  # and 19 frames without an IMU reading (59 of 3000 in all)
    result = trial_metrics(lost, FS)
    assert "trunk_sway_note" not in result
    gaps = result["trunk_sway_gaps"]
    assert {k: gaps[k] for k in ("samples_lost", "gaps", "longest_gap_s", "samples_trimmed")} == \
        {"samples_lost": 59, "gaps": 3, "longest_gap_s": 0.2, "samples_trimmed": 0}
    assert "straight line" in gaps["handling"]
    assert result["gaps"]["samples_lost"] == 40  # the COP's own count: the lost frames only
    # 2 % of the trial bridged: a straight line has no jerk and little sway area of its own, so those
    # drop by about the share bridged (2.9 % and 1.9 % here, the worst of eight seeds); the RMS and
    # ranges hardly move (bridged samples lie between measured neighbours).
    for key in TRUNK_KEYS:
        rel = 0.03 if key in ("trunk_jerk_m2_s5", "trunk_sway_area_m2_s5") else 0.015
        assert result["metrics"][key] == pytest.approx(intact["metrics"][key], rel=rel), key
        assert result["metrics"][key] <= intact["metrics"][key] * 1.001, key


def test_a_gap_too_long_to_bridge_leaves_no_trunk_sway_and_says_where():
    f = swaying()
    keep = np.ones(len(f), bool)
    keep[1200:1225] = False  # 0.25 s lost, 12 s into the trial
    keys, note, gaps = trunk_sway_metrics(f[keep], FS)
    assert keys == {} and gaps is None
    assert note == "no trunk sway: the lower-back sensor's readings were missing for 0.25 s at 12.0 s (gaps up to 0.2 s are bridged)"
    f["ay_m_s2"][600:630] = np.nan  # the IMU alone failed for 0.3 s
    assert trunk_sway_metrics(f, FS)[1] == \
        "no trunk sway: the lower-back sensor's readings were missing for 0.30 s at 6.0 s (gaps up to 0.2 s are bridged)"


def test_too_many_short_gaps_leave_no_trunk_sway():
    f = swaying()
    f["az_m_s2"][100::40] = np.nan  # one reading in 40 (75 of 3000, 2.5 %)
    keys, note, gaps = trunk_sway_metrics(f, FS)
    assert keys == {} and gaps is None
    assert note == "no trunk sway: the lower-back sensor gave no reading for 0.73 s of 30.0 s (2.4 %; up to 2 % are bridged)"


def test_readings_missing_at_the_start_are_trimmed_and_counted():
    f = swaying()
    f["ax_m_s2"][:15] = np.nan  # the IMU's first sample came 0.15 s after the plate's
    keys, note, gaps = trunk_sway_metrics(f, FS)
    assert note is None and set(keys) == set(TRUNK_KEYS)
    assert gaps["samples_trimmed"] == 15 and gaps["samples_lost"] == 0


def test_short_hold_gets_a_reason():
    keys, note, gaps = trunk_sway_metrics(frames(seconds=3.0), FS)
    assert keys == {} and "too short for trunk sway" in note and gaps is None
