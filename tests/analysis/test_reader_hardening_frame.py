"""The sensor frame on attacked input (DESIGN.md §11): a spike of 1e200 m/s² is said in words, not in
numpy's warnings; a gyroscope's dropout (rows of NaN, left by the reader past its bridge) passes
through the rotation without stopping the acceleration's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from station.analysis.imu_frame import align_to_body, check_mounting


def test_a_huge_spike_is_said_without_a_runtime_warning():
    acc = np.tile([9.81, 0.0, 0.0], (1000, 1))
    acc[700, 0] = 1e200
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in dot" would raise here
        reason = check_mounting(acc, up_axis="+x", toes_axis="+z")
    assert reason.startswith("mean acceleration is inf m/s², not gravity's 9.81")


def test_gyroscope_rows_of_nan_stay_nan_and_the_rest_is_rotated():
    n = 400
    acc = np.tile([9.81, 0.0, 0.0], (n, 1))
    gyro = np.tile([0.0, 0.0, 10.0], (n, 1))  # 10 deg/s about the toes axis
    gyro[100:150] = np.nan
    acc_body, gyro_body = align_to_body(acc, gyro, up_axis="+x", toes_axis="+z", fs_hz=100.0)
    assert np.isfinite(acc_body).all() and np.isnan(gyro_body[100:150]).all()
    np.testing.assert_allclose(gyro_body[np.r_[0:100, 150:n]], np.tile([0.0, 10.0, 0.0], (n - 50, 1)), atol=1e-9)
    gyro[10, 0] = np.nan  # one axis missing: not a dropout, a broken row
    with pytest.raises(ValueError, match="gyro_deg_s contains infinite values or rows partly NaN"):
        align_to_body(acc, gyro, up_axis="+x", toes_axis="+z")
