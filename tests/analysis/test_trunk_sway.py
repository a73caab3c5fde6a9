"""Trunk sway in stance from the lower-back IMU (Mancini et al. 2012): known answers, tilt, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from station.analysis.imu_frame import align_to_body
from station.analysis.trunk_sway import TRUNK_KEYS, trunk_sway

from _gait_signals import rotation, to_sensor

FS = 100.0


def stance(seconds=30.0, ap_amp=0.1, ml_amp=0.05, f_hz=0.5):
    t = np.arange(int(seconds * FS)) / FS
    acc = np.zeros((t.size, 3))
    acc[:, 0] = 9.81
    acc[:, 1] = ap_amp * np.sin(2 * np.pi * f_hz * t)
    acc[:, 2] = ml_amp * np.cos(2 * np.pi * f_hz * t)
    return t, acc


def test_keys_are_prefixed_and_carry_units():
    _t, acc = stance()
    m = trunk_sway(acc, FS)
    assert list(m) == list(TRUNK_KEYS)
    assert all(k.startswith("trunk_") for k in m)
    assert all(k.endswith(("_m_s2", "_m2_s5")) for k in m)


def test_sinusoidal_sway_known_answers():
    a, b, f, seconds = 0.1, 0.05, 0.5, 30.0
    _t, acc = stance(seconds, a, b, f)
    m = trunk_sway(acc, FS)
    w = 2 * np.pi * f
    assert m["trunk_rms_ap_m_s2"] == pytest.approx(a / math.sqrt(2), rel=5e-3)
    assert m["trunk_rms_ml_m_s2"] == pytest.approx(b / math.sqrt(2), rel=5e-3)
    assert m["trunk_rms_m_s2"] == pytest.approx(math.sqrt((a * a + b * b) / 2), rel=5e-3)
    assert m["trunk_range_ap_m_s2"] == pytest.approx(2 * a, rel=5e-3)
    assert m["trunk_range_ml_m_s2"] == pytest.approx(2 * b, rel=5e-3)
    # JERK = 1/2 ∫ (dAP/dt)² + (dML/dt)² dt = 1/2 (a² + b²) w² T / 2 for whole periods
    assert m["trunk_jerk_m2_s5"] == pytest.approx(0.5 * (a * a + b * b) * w * w * seconds / 2, rel=1e-2)
    # the ellipse a·b·π is swept f times per second
    assert m["trunk_sway_area_m2_s5"] == pytest.approx(math.pi * a * b * f, rel=1e-2)


def test_more_sway_gives_larger_measures():
    _t, small = stance(ap_amp=0.05, ml_amp=0.02)
    _t, large = stance(ap_amp=0.2, ml_amp=0.08)
    s, l = trunk_sway(small, FS), trunk_sway(large, FS)
    assert all(l[k] > s[k] for k in TRUNK_KEYS)


def test_tilted_sensor_gives_the_same_sway_after_alignment():
    _t, acc = stance()
    sensor = to_sensor(acc, rotation((0, 1, 0), 35.0))
    body, _ = align_to_body(sensor, None, up_axis="+x", toes_axis="+z")  # one vertical for a stance trial
    straight, tilted = trunk_sway(acc, FS), trunk_sway(body, FS)
    for k in TRUNK_KEYS:
        assert tilted[k] == pytest.approx(straight[k], rel=0.02)


def test_still_sensor_gives_zero_sway_not_nan():
    acc = np.tile([9.81, 0.0, 0.0], (1000, 1))
    m = trunk_sway(acc, FS)
    assert all(v == pytest.approx(0.0, abs=1e-12) and math.isfinite(v) for v in m.values())


def test_high_frequency_noise_above_3_5_hz_is_filtered_out():
    t, acc = stance()
    noisy = acc.copy()
    noisy[:, 1] += 0.05 * np.sin(2 * np.pi * 20.0 * t)
    assert trunk_sway(noisy, FS)["trunk_rms_ap_m_s2"] == pytest.approx(trunk_sway(acc, FS)["trunk_rms_ap_m_s2"], rel=1e-2)


@pytest.mark.parametrize(
    "make,fs,message",
    [
        (lambda a: a, 5.0, "above 10 Hz"),
        (lambda a: a, float("nan"), "above 10 Hz"),
        (lambda a: a, "100", "number of Hz"),
        (lambda a: a[:, :2], FS, r"shape \(N, 3\)"),
        (lambda a: a[:300], FS, "too short for trunk sway"),
        (lambda a: np.where(np.arange(a.shape[0])[:, None] == 9, np.inf, a), FS, "NaN or infinite"),
    ],
)
def test_bad_input_is_refused_with_a_specific_message(make, fs, message):
    _t, acc = stance()
    with pytest.raises(ValueError, match=message):
        trunk_sway(make(acc), fs)
