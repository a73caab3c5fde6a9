"""Known answers: sinusoid, circle, Brownian motion, no sway; reference implementations of the fast
algorithms (hull diameter, stay counts, MSD, Welch); validation of the input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal as sps
from scipy import special

from _sway_signals import brute_stay_counts, sway
from station.analysis import density
from station.analysis.diffusion import mean_square_displacement
from station.analysis.filters import lowpass_butterworth
from station.analysis.metrics import MIN_DURATION_S, METRIC_KEYS, SignalError, compute_metrics, min_samples
from station.analysis.spectral import welch_psd
from station.analysis.sway import max_pairwise_distance


def test_pure_sinusoid_centroid_frequency_is_its_frequency_and_dispersion_near_zero():
    fs, f0, amp = 100.0, 1.0, 0.8
    t = np.arange(6000) / fs
    ap = 3.0 + amp * np.sin(2 * np.pi * f0 * t)
    ml = np.full_like(t, -2.0)
    m = compute_metrics(ap, ml, fs, "raw")["metrics"]
    assert m["centroid_frequency_ap_hz"] == pytest.approx(f0, rel=0.01)
    assert m["frequency_dispersion_ap"] < 0.08
    assert m["f50_ap_hz"] == pytest.approx(f0, abs=0.05)
    assert m["f95_ap_hz"] == pytest.approx(f0, abs=0.1)
    assert m["mean_power_frequency_hz"] == pytest.approx(f0, rel=0.01)
    assert m["mean_velocity_ap_cm_s"] == pytest.approx(4 * amp * f0, rel=1e-3)
    assert m["rms_ap_cm"] == pytest.approx(amp / math.sqrt(2), rel=1e-6)
    assert m["range_cm"] == pytest.approx(2 * amp, rel=1e-9)
    # a line: no ML sway, so ML frequencies are undefined and the ellipse is degenerate along AP
    for key in ("mean_frequency_ml_hz", "f50_ml_hz", "centroid_frequency_ml_hz", "frequency_dispersion_ml"):
        assert m[key] is None
    assert m["total_power_ml_cm2"] == 0.0
    assert m["ellipse_minor_cm"] == 0.0 and m["ellipse_area_cm2"] == 0.0
    assert m["ellipse_angle_deg"] == pytest.approx(0.0, abs=1e-9)


def test_circle_path_area_distances():
    fs, f, r = 100.0, 0.5, 1.5
    n = 6000
    theta = 2 * np.pi * f * np.arange(n) / fs
    m = compute_metrics(r * np.cos(theta), r * np.sin(theta), fs, "raw")["metrics"]
    step = 2 * np.pi * f / fs
    assert m["path_length_cm"] == pytest.approx((n - 1) * 2 * r * math.sin(step / 2), rel=1e-9)
    assert m["mean_velocity_cm_s"] == pytest.approx(m["path_length_cm"] / (n / fs), rel=1e-12)
    assert m["mean_distance_cm"] == pytest.approx(r, rel=1e-9)
    assert m["rms_distance_cm"] == pytest.approx(r, rel=1e-9)
    assert m["max_distance_cm"] == pytest.approx(r, rel=1e-9)
    assert m["range_cm"] == pytest.approx(2 * r, rel=1e-9)
    assert m["range_ap_cm"] == pytest.approx(2 * r, rel=1e-9)
    c = special.fdtri(2, n - 2, 0.95) * 2 * (n - 1) * (n + 1) / (n * (n - 2))
    assert m["ellipse_area_cm2"] == pytest.approx(math.pi * (r * r / 2) * n / (n - 1) * c, rel=1e-9)
    assert m["ellipse_angle_deg"] is None  # a circle has no main direction
    assert m["confidence_circle_area_cm2"] == pytest.approx(math.pi * r * r, rel=1e-6)
    assert m["sway_area_per_s_cm2_s"] == pytest.approx((n - 1) * r * r * math.sin(step) / (2 * n / fs), rel=1e-9)
    # MVELO / (2 pi MDIST): f, less the chord/arc and (N-1)/N steps-per-duration factors
    assert m["mean_frequency_hz"] == pytest.approx(f * (n - 1) / n * math.sin(step / 2) / (step / 2), rel=1e-9)


def test_brownian_motion_has_hurst_exponent_one_half():
    # 1000 s random walks: the short-term exponent is sharp; the long-term one (lags up to 10 s)
    # varies from walk to walk, so it is checked on average
    long_term = []
    for seed in range(6):
        walk = np.cumsum(np.random.default_rng(seed).normal(0, 0.02, size=(2, 100_000)), axis=1)
        m = compute_metrics(walk[0], walk[1], 100.0, "raw")["metrics"]
        for side in ("ap", "ml", "r"):
            assert m[f"sda_h_short_{side}"] == pytest.approx(0.5, abs=0.05)
            assert m[f"sda_h_long_{side}"] == pytest.approx(0.5, abs=0.15)
            long_term.append(m[f"sda_h_long_{side}"])
        # diffusion coefficient: <dx^2> = 2 D dt with <dx^2> = 0.02^2 cm^2 per 0.01 s
        assert m["sda_d_short_ap_cm2_s"] == pytest.approx(0.02**2 / 0.01 / 2, rel=0.1)
    assert np.mean(long_term) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("profile", ["raw", "station"])
def test_no_sway_is_analysed_with_undefined_metrics_null(profile):
    n = 3000
    result = compute_metrics(np.full(n, 1.234), np.full(n, -5.678), 100.0, profile)
    m = result["metrics"]
    assert m["path_length_cm"] == 0.0 and m["ellipse_area_cm2"] == 0.0 and m["range_cm"] == 0.0
    for key in (
        "mean_frequency_hz", "mean_power_frequency_hz", "f50_ap_hz", "centroid_frequency_ml_hz",
        "fractal_dimension_cc", "fractal_dimension_ce", "ellipse_angle_deg", "sda_critical_time_r_s",
        "sda_h_short_ap", "sway_density_mean_peak_s", "sway_density_mean_distance_cm",
    ):
        assert m[key] is None, key
    assert all(v is None or math.isfinite(v) for v in m.values())


def test_weight_bearing_from_corner_forces():
    ap, ml = sway(20, 50, seed=4)
    n = ap.size
    corners = {"fl_n": np.full(n, 100.0), "bl_n": np.full(n, 200.0), "fr_n": np.full(n, 150.0), "br_n": np.full(n, 150.0)}
    m = compute_metrics(ap, ml, 50.0, "raw", corners_n=corners)["metrics"]
    assert m["weight_left_pct"] == pytest.approx(50.0)
    assert m["weight_front_pct"] == pytest.approx(250 / 600 * 100)
    assert m["weight_back_pct"] == pytest.approx(350 / 600 * 100)
    assert m["weight_symmetry_index_pct"] == pytest.approx(0.0)
    table = np.column_stack([np.full(n, v) for v in (300.0, 100.0, 300.0, 100.0)])  # FL FR BL BR
    m = compute_metrics(ap, ml, 50.0, "raw", corners_n=table)["metrics"]
    assert m["weight_left_pct"] == pytest.approx(75.0)
    assert m["weight_right_pct"] == pytest.approx(25.0)
    assert m["weight_symmetry_index_pct"] == pytest.approx(100.0 * (600 - 200) / 400)
    without = compute_metrics(ap, ml, 50.0, "raw")["metrics"]
    assert without["weight_left_pct"] is None


def test_romberg_quotient_of_area_and_velocity():
    from station.analysis.romberg import romberg_quotient

    ap, ml = sway(20, 50, seed=1)
    eo = compute_metrics(ap, ml, 50.0, "station")
    ec = compute_metrics(2 * ap, 2 * ml, 50.0, "station")  # twice the sway: 4x area, 2x velocity
    q = romberg_quotient(ec, eo)
    assert q["romberg_quotient_area"] == pytest.approx(4.0, rel=1e-6)
    assert q["romberg_quotient_velocity"] == pytest.approx(2.0, rel=1e-6)
    assert romberg_quotient(3.0, 1.5) == 2.0
    assert romberg_quotient(3.0, 0.0) is None
    raw = compute_metrics(ap, ml, 50.0, "raw")
    with pytest.raises(ValueError, match="different profile"):
        romberg_quotient(raw, eo)


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(st.tuples(st.integers(-20, 20), st.integers(-20, 20)), min_size=1, max_size=60),
    scale=st.sampled_from([1.0, 0.1, 1e-3]),
)
def test_range_equals_brute_force_diameter(points, scale):
    p = np.array(points, dtype=float) * scale
    brute = np.sqrt(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1)).max()
    assert max_pairwise_distance(p[:, 0], p[:, 1]) == pytest.approx(brute, rel=1e-12, abs=1e-15)


def test_range_on_many_hull_vertices():
    theta = np.sort(np.random.default_rng(0).uniform(0, 2 * np.pi, 5000))
    x, y = 2.0 * np.cos(theta), 1.0 * np.sin(theta)  # all points on the hull
    brute = max(np.sqrt((x - xi) ** 2 + (y - yi) ** 2).max() for xi, yi in zip(x[::7], y[::7]))
    assert max_pairwise_distance(x, y) >= brute
    assert max_pairwise_distance(x, y) == pytest.approx(4.0, abs=1e-5)


@pytest.mark.parametrize(
    "case",
    ["sway", "noise_blob", "random_walk", "tiny_circle", "no_sway", "steps"],
)
def test_stay_counts_equal_brute_force(case):
    rng = np.random.default_rng(7)
    n = 1500
    if case == "sway":
        x, y = sway(15, 100, seed=3)
    elif case == "noise_blob":
        x, y = rng.normal(0, 0.05, (2, n))
    elif case == "random_walk":
        x, y = np.cumsum(rng.normal(0, 0.01, (2, n)), axis=1)
    elif case == "tiny_circle":  # diameter just under the radius: the whole trial is one stay
        t = np.arange(n) / 100
        x, y = 0.145 * np.cos(2 * np.pi * 0.5 * t), 0.145 * np.sin(2 * np.pi * 0.5 * t)
    elif case == "no_sway":
        x, y = np.zeros(n), np.zeros(n)
    else:  # jumps larger than the radius
        x, y = np.repeat(rng.normal(0, 1, 30), 50), np.repeat(rng.normal(0, 1, 30), 50)
    np.testing.assert_array_equal(density.stay_counts(x, y, 0.3), brute_stay_counts(x, y, 0.3))


def test_polygon_fallback_lies_between_inscribed_and_circumscribing_radius(monkeypatch):
    monkeypatch.setattr(density, "MAX_ROUNDS", 0)  # every sample goes through the guaranteed path
    rng = np.random.default_rng(11)
    x, y = np.cumsum(rng.normal(0, 0.02, (2, 1200)), axis=1)
    got = density.stay_counts(x, y, 0.3)
    inner = brute_stay_counts(x, y, 0.3 * math.cos(math.pi / density.POLYGON_SIDES))
    outer = brute_stay_counts(x, y, 0.3)
    assert np.all(inner <= got) and np.all(got <= outer)
    assert np.mean(got == outer) > 0.9


def test_sway_density_peaks_known_pattern():
    # dwell 2 s at four spots 1 cm apart, moving quickly between them: four peaks of about 2 s
    fs = 100.0
    spots = [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0), (1, 0)]
    x = np.concatenate([np.full(200, sx, float) for sx, _ in spots])
    y = np.concatenate([np.full(200, sy, float) for _, sy in spots])
    out = density.sway_density(x, y, fs)
    assert out["sway_density_mean_peak_s"] == pytest.approx(1.99, abs=0.011)
    assert out["sway_density_mean_distance_cm"] == pytest.approx(1.0)


def test_msd_equals_direct_computation():
    x = np.cumsum(np.random.default_rng(5).normal(size=(2, 2000)), axis=1)
    fast = mean_square_displacement(x, 300)
    direct = np.array([[np.mean((row[m:] - row[:-m]) ** 2) for m in range(1, 301)] for row in x])
    np.testing.assert_allclose(fast, direct, rtol=1e-9)


@pytest.mark.parametrize("nperseg,noverlap,detrend", [(1000, 500, "linear"), (1501, 375, "constant"), (1500, 750, "constant")])
def test_welch_equals_scipy(nperseg, noverlap, detrend):
    x = np.random.default_rng(2).normal(size=(2, 3003))
    f, p = welch_psd(x, 100.0, nperseg, noverlap, detrend)
    f2, p2 = sps.welch(x, 100.0, "hann", nperseg, noverlap, nperseg, detrend)
    np.testing.assert_allclose(f, f2, rtol=1e-12)
    np.testing.assert_allclose(p, p2, rtol=1e-10)


def test_lowpass_is_zero_phase_and_attenuates_above_cutoff():
    fs = 100.0
    t = np.arange(4000) / fs
    slow = np.sin(2 * np.pi * 1.0 * t)
    fast = np.sin(2 * np.pi * 25.0 * t)
    out = lowpass_butterworth(slow + fast, fs)
    middle = slice(500, 3500)
    np.testing.assert_allclose(out[middle], slow[middle], atol=2e-3)  # no delay, no gain change
    with pytest.raises(ValueError, match="Nyquist"):
        lowpass_butterworth(slow, 18.0)


def test_input_validation_says_what_the_metrics_need():
    ap, ml = sway(30, 100, seed=1)
    short = min_samples(100.0) - 1
    with pytest.raises(SignalError, match=rf"at least {MIN_DURATION_S:g} s \({short + 1} samples\)"):
        compute_metrics(ap[:short], ml[:short], 100.0)
    with pytest.raises(SignalError, match="too low for the station profile"):
        compute_metrics(ap[:2000], ml[:2000], 20.0, "station")
    with pytest.raises(SignalError, match="more than 10 Hz"):
        compute_metrics(ap[:2000], ml[:2000], 8.0, "raw")
    with pytest.raises(SignalError, match="unknown processing profile"):
        compute_metrics(ap, ml, 100.0, "smooth")
    bad = ap.copy()
    bad[17] = np.nan
    with pytest.raises(SignalError, match="sample 17"):
        compute_metrics(bad, ml, 100.0)
    with pytest.raises(SignalError, match="equal length"):
        compute_metrics(ap, ml[:-1], 100.0)
    assert len(METRIC_KEYS) == len(set(METRIC_KEYS))
