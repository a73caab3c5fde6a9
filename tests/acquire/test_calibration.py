"""Calibration math: nominal gain, tare refusal, least-squares gains, storage."""

import json

import numpy as np
import pytest

from station.acquire.calibration import (
    ADC_FULL_SCALE_COUNTS,
    STANDARD_GRAVITY_M_S2,
    CalibrationError,
    Placement,
    fit_gains,
    load_calibration,
    measured_calibration,
    nominal_calibration,
    nominal_n_per_count,
    save_calibration,
    steady_mean_counts,
)
from station.analysis.cop import cop_from_corners
from station.config import PlateConfig
from station.sim.loads import distribute_to_corners


def test_nominal_gain_from_datasheet_values():
    plate = PlateConfig(load_cell_capacity_kg=50.0, load_cell_rated_output_mv_v=1.0, adc_gain=128)
    # 50 kg·g at 1 mV/V → 1 mV per volt of reference; the ADC maps ±Vref/(2·128) to ±2^23 counts.
    expected = 50 * STANDARD_GRAVITY_M_S2 / (1e-3 * 2**24 * 128)
    assert nominal_n_per_count(plate) == pytest.approx(expected, rel=1e-12)
    assert nominal_calibration(plate).method == "nominal"


def test_tare_is_the_mean_of_steady_counts():
    rng = np.random.default_rng(1)
    counts = np.array([1000.0, -2000.0, 3000.0, 500.0]) + rng.normal(0, 20, size=(200, 4))
    zero = steady_mean_counts(counts, [2e-4] * 4)
    assert np.allclose(zero, counts.mean(axis=0))


def test_tare_refused_while_the_load_moves():
    counts = np.zeros((200, 4))
    counts[100:, 0] = 100_000  # ~20 N step on one corner at 2e-4 N/count
    with pytest.raises(CalibrationError, match="load is moving"):
        steady_mean_counts(counts, [2e-4] * 4)


def test_tare_refused_when_a_corner_saturates_or_is_missing():
    counts = np.zeros((50, 4))
    counts[10, 2] = ADC_FULL_SCALE_COUNTS
    with pytest.raises(CalibrationError, match="corner BL saturates"):
        steady_mean_counts(counts, [2e-4] * 4)
    counts = np.zeros((50, 4))
    counts[:, 1] = np.nan
    with pytest.raises(CalibrationError, match="corner FR did not answer"):
        steady_mean_counts(counts, [2e-4] * 4)
    with pytest.raises(CalibrationError, match="at least 10"):
        steady_mean_counts(np.zeros((3, 4)), [2e-4] * 4)


def _placements(gains, zero, masses, width, depth, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    spots = [(0, 0), (depth / 4, -width / 4), (depth / 4, width / 4), (-depth / 4, -width / 4), (-depth / 4, width / 4)]
    out = []
    for m in masses:
        for ap, ml in spots:
            forces = np.array(distribute_to_corners(m * STANDARD_GRAVITY_M_S2, ap, ml, width, depth))
            counts = forces / np.array(gains) + np.array(zero) + rng.normal(0, noise, 4)
            out.append(Placement(m, ap, ml, tuple(counts)))
    return out


def test_fit_recovers_true_gains_and_gives_accurate_cop():
    true = (2.1e-4, 2.3e-4, 1.9e-4, 2.2e-4)
    zero = (5000.0, -3000.0, 100.0, 0.0)
    placements = _placements(true, zero, [10, 20], 40, 40)
    gains, residual = fit_gains(zero, placements, 40, 40)
    assert np.allclose(gains, true, rtol=1e-9)
    assert residual < 1e-6
    # With noisy readings the residual reports it and COP stays within a millimetre.
    noisy = _placements(true, zero, [10, 20], 40, 40, noise=200.0, seed=3)
    gains, residual = fit_gains(zero, noisy, 40, 40)
    assert residual > 0.001
    f = (np.array(distribute_to_corners(700.0, 3.0, -2.0, 40, 40)) / np.array(true) + zero - zero) * gains
    ap, ml, _ = cop_from_corners(*f, 40, 40)
    assert abs(ap - 3.0) < 0.1 and abs(ml + 2.0) < 0.1


def test_fit_needs_two_masses_and_separable_positions_and_right_signs():
    true = (2e-4,) * 4
    with pytest.raises(CalibrationError, match="two different known masses"):
        fit_gains((0,) * 4, _placements(true, (0,) * 4, [10, 10], 40, 40), 40, 40)
    centre_only = [p for p in _placements(true, (0,) * 4, [10, 20], 40, 40) if p.ap_cm == 0 and p.ml_cm == 0]
    with pytest.raises(CalibrationError, match="cannot tell the four corners apart"):
        fit_gains((0,) * 4, centre_only, 40, 40)
    flipped = _placements((2e-4, -2e-4, 2e-4, 2e-4), (0,) * 4, [10, 20], 40, 40)
    with pytest.raises(CalibrationError, match="FR"):
        fit_gains((0,) * 4, flipped, 40, 40)


def test_save_and_load_round_trip_and_history(tmp_path):
    cal = measured_calibration((1, 2, 3, 4), (2e-4, 2e-4, 2e-4, 2e-4), 0.5, "hardware")
    save_calibration(tmp_path, cal)
    save_calibration(tmp_path, cal)
    assert load_calibration(tmp_path) == cal
    assert len((tmp_path / "calibration-history.jsonl").read_text().splitlines()) == 2
    assert load_calibration(tmp_path / "missing") is None


def test_corrupt_calibration_file_is_reported_with_what_to_do(tmp_path):
    (tmp_path / "calibration.json").write_text("{not json")
    with pytest.raises(CalibrationError, match="calibrate"):
        load_calibration(tmp_path)
    (tmp_path / "calibration.json").write_text(json.dumps({"zero_counts": [0, 0, 0], "n_per_count": [1, 1, 1, 1]}))
    with pytest.raises(CalibrationError, match="not valid"):
        load_calibration(tmp_path)
