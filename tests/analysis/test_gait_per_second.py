"""Mobilise-D-style bout measures (station.analysis.gait_per_second) on signals with known answers,
and the public pendulum step lengths of station.analysis.gait."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis.gait import gait_metrics, pendulum_step_lengths
from station.analysis.gait_per_second import (
    BOUT_KEYS,
    bout_measures_per_second,
    hampel_filter,
    step_values_per_second,
)


def test_hampel_replaces_only_outliers_by_their_window_median():
    x = np.array([1.0, 1.1, 0.9, 1.0, 5.0, 1.0, 1.05, 0.95])
    y = hampel_filter(x)
    assert y[4] == pytest.approx(1.0)  # median of 0.9, 1.0, 5.0, 1.0, 1.05
    assert np.array_equal(np.delete(y, 4), np.delete(x, 4))
    assert x[4] == 5.0  # the input is not changed


def test_hampel_keeps_nan_and_ignores_it_in_windows():
    y = hampel_filter([1.0, np.nan, 1.0, 9.0, 1.0, 1.0])
    assert np.isnan(y[1]) and y[3] == pytest.approx(1.0)


def test_hampel_keeps_a_real_change_of_pace():
    x = np.r_[np.full(6, 0.5), np.full(6, 0.7)]  # a person slowing down: not an outlier
    assert np.array_equal(hampel_filter(x), x)


@pytest.mark.parametrize("bad", [dict(half_window=-1), dict(half_window=1.5), dict(n_sigmas=0.0)])
def test_hampel_rejects_bad_settings(bad):
    with pytest.raises(ValueError):
        hampel_filter([1.0, 2.0, 3.0], **bad)


def test_per_second_values_interpolate_short_gaps_and_leave_long_ones_undefined():
    # second k spans [k, k + 1]: no contact in second 5, nor in seconds 9 to 12
    t = np.r_[np.arange(0, 4.01, 0.5), np.arange(6.5, 8.01, 0.5), np.arange(14.0, 16.01, 0.5)]
    steps = np.where(np.diff(t) > 1.0, 0.5, np.diff(t))
    per_second = step_values_per_second(t, steps)
    assert per_second.shape == (17,)
    assert np.allclose(per_second[:9], 0.5)  # second 5 interpolated (a 1-s gap)
    assert np.isnan(per_second[9:13]).all()  # a 4-s gap, beyond MAX_INTERPOLATION_GAP_S
    assert np.allclose(per_second[13:], 0.5)


def test_per_second_values_need_one_value_per_step():
    with pytest.raises(ValueError, match="one value per step"):
        step_values_per_second([0.0, 0.5, 1.0], [0.5])
    with pytest.raises(ValueError, match="increasing"):
        step_values_per_second([0.0, 0.5, 0.5], [0.5, 0.0])
    with pytest.raises(ValueError, match="at least 2"):
        step_values_per_second([0.0], [])


def test_bout_of_even_steps_gives_its_cadence_length_and_speed():
    t = np.arange(0, 12, 0.5)  # 120 steps/min
    m = bout_measures_per_second(t, np.full(t.size - 1, 0.7))
    assert list(m) == list(BOUT_KEYS)
    assert m["cadence_steps_min"] == pytest.approx(120.0)
    assert m["stride_length_m"] == pytest.approx(1.4)
    assert m["walking_speed_m_s"] == pytest.approx(1.4)  # 1.4 m per stride, a stride a second
    assert m["strides"] == t.size - 2


def test_bout_is_robust_to_a_missed_and_a_split_contact():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.normal(0.55, 0.01, 40))
    missed = np.delete(t, 12)
    split = np.sort(np.r_[t, t[25] + 0.27])
    truth = 60 / 0.55
    for contacts in (missed, split):
        m = bout_measures_per_second(contacts)
        assert m["cadence_steps_min"] == pytest.approx(truth, abs=1.5)
        naive = 60 / np.mean(np.diff(contacts))
        assert abs(m["cadence_steps_min"] - truth) < abs(naive - truth)


def test_bout_leaves_out_strides_too_short_or_too_slow():
    t = np.arange(0, 10, 0.5)
    lengths = np.full(t.size - 1, 0.05)  # 0.1 m strides: below the stride selection's 0.15 m
    m = bout_measures_per_second(t, lengths)
    assert m["strides"] == 0 and m["cadence_steps_min"] is None and m["stride_length_m"] is None
    slow = np.arange(0, 20, 1.6)  # 3.2-s strides: beyond 3 s
    assert bout_measures_per_second(slow)["cadence_steps_min"] is None


def test_bout_without_lengths_gives_cadence_only():
    m = bout_measures_per_second(np.arange(0, 6, 0.6))
    assert m["cadence_steps_min"] == pytest.approx(100.0)
    assert m["stride_length_m"] is None and m["walking_speed_m_s"] is None


def test_bout_rejects_lengths_that_do_not_fit():
    with pytest.raises(ValueError, match="one finite length per step"):
        bout_measures_per_second([0.0, 0.5, 1.0], [0.6])
    with pytest.raises(ValueError, match="one finite length per step"):
        bout_measures_per_second([0.0, 0.5, 1.0], [0.6, np.nan])


def _walk(fs=100.0, step_s=0.55, lift_m=0.03, seconds=14.0):
    t = np.arange(0, seconds, 1 / fs)
    acc = np.zeros((t.size, 3))
    w = 2 * np.pi / step_s
    acc[:, 0] = 9.81 + lift_m / 2 * w**2 * np.cos(w * t)
    return t, acc


def test_pendulum_step_lengths_are_the_ones_gait_metrics_averages():
    fs = 100.0
    _t, acc = _walk(fs)
    m = gait_metrics(acc, fs, sensor_height_m=0.95)
    lengths = pendulum_step_lengths(acc[:, 0], fs, m["initial_contacts_s"], 0.95)
    assert lengths.size == len(m["initial_contacts_s"]) - 1
    assert float(lengths.mean()) == pytest.approx(m["step_length_m"], rel=0.02)


def test_pendulum_step_lengths_grow_with_the_trunk_excursion():
    fs = 100.0
    contacts = np.arange(2.0, 12.0, 0.55)
    small = pendulum_step_lengths(_walk(fs, lift_m=0.015)[1][:, 0], fs, contacts, 0.95)
    large = pendulum_step_lengths(_walk(fs, lift_m=0.04)[1][:, 0], fs, contacts, 0.95)
    assert np.all(large > small)


def test_pendulum_step_lengths_reject_bad_input():
    fs = 100.0
    acc_v = _walk(fs)[1][:, 0]
    with pytest.raises(ValueError, match="sensor_height_m"):
        pendulum_step_lengths(acc_v, fs, [1.0, 1.5], None)
    with pytest.raises(ValueError, match="inside the recording"):
        pendulum_step_lengths(acc_v, fs, [1.0, 30.0], 0.95)
    with pytest.raises(ValueError, match="inside the recording"):
        pendulum_step_lengths(acc_v, fs, [2.0, 1.0], 0.95)
    assert pendulum_step_lengths(acc_v, fs, [1.0], 0.95).size == 0
