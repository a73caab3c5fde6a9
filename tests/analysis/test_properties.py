"""Invariances and scaling laws of the sway metrics (hypothesis), DESIGN.md §5."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _sway_signals import sway
from station.analysis.metrics import METRIC_KEYS, compute_metrics

FS_HZ = 50.0
DURATION_S = 24.0
PROP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

RADIAL = (
    "ellipse_area_cm2", "ellipse_major_cm", "ellipse_minor_cm", "path_length_cm", "mean_velocity_cm_s",
    "mean_distance_cm", "rms_distance_cm", "max_distance_cm", "range_cm", "confidence_circle_area_cm2",
    "sway_area_per_s_cm2_s", "mean_frequency_hz", "fractal_dimension_cc", "fractal_dimension_ce",
    "sda_critical_time_r_s", "sda_critical_msd_r_cm2", "sda_d_short_r_cm2_s", "sda_d_long_r_cm2_s",
    "sda_h_short_r", "sda_h_long_r", "sway_density_mean_peak_s", "sway_density_mean_distance_cm",
)
LENGTHS = (
    "ellipse_major_cm", "ellipse_minor_cm", "path_length_cm", "path_length_ap_cm", "path_length_ml_cm",
    "mean_velocity_cm_s", "mean_velocity_ap_cm_s", "mean_velocity_ml_cm_s", "mean_distance_cm",
    "mean_distance_ap_cm", "mean_distance_ml_cm", "rms_distance_cm", "rms_ap_cm", "rms_ml_cm",
    "max_distance_cm", "range_ap_cm", "range_ml_cm", "range_cm", "sway_density_mean_distance_cm",
)
AREAS = (
    "ellipse_area_cm2", "confidence_circle_area_cm2", "sway_area_per_s_cm2_s", "total_power_ap_cm2",
    "total_power_ml_cm2", *(f"sda_{kind}_{side}_{unit}" for kind, unit in (
        ("critical_msd", "cm2"), ("d_short", "cm2_s"), ("d_long", "cm2_s")) for side in ("ap", "ml", "r")),
)
UNCHANGED = tuple(k for k in METRIC_KEYS if k not in LENGTHS + AREAS and not k.startswith("weight_"))


def _close(a, b, rel=1e-6, abs_=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def _metrics(ap, ml, profile, **kw):
    return compute_metrics(ap, ml, FS_HZ, profile, **kw)["metrics"]


seeds = st.integers(0, 2**32 - 1)
profiles = st.sampled_from(["raw", "station"])


@PROP
@given(seed=seeds, profile=profiles, dx=st.floats(-50, 50), dy=st.floats(-50, 50))
def test_every_metric_is_translation_invariant(seed, profile, dx, dy):
    ap, ml = sway(DURATION_S, FS_HZ, seed)
    base = _metrics(ap, ml, profile)
    moved = _metrics(ap + dx, ml + dy, profile)
    bad = {k: (base[k], moved[k]) for k in METRIC_KEYS if not _close(base[k], moved[k])}
    assert not bad


@PROP
@given(seed=seeds, profile=profiles, angle=st.floats(-math.pi, math.pi))
def test_radial_metrics_are_rotation_invariant(seed, profile, angle):
    ap, ml = sway(DURATION_S, FS_HZ, seed)
    c, s = math.cos(angle), math.sin(angle)
    base = _metrics(ap, ml, profile)
    turned = _metrics(c * ap - s * ml, s * ap + c * ml, profile)
    bad = {k: (base[k], turned[k]) for k in RADIAL if not _close(base[k], turned[k])}
    assert not bad
    # the ellipse turns with the signal
    expected = (base["ellipse_angle_deg"] + math.degrees(angle) + 90.0) % 180.0 - 90.0
    got = turned["ellipse_angle_deg"]
    assert min(abs(got - expected), 180.0 - abs(got - expected)) < 1e-6


@PROP
@given(seed=seeds, profile=profiles, k=st.floats(0.05, 20.0))
def test_scaling_lengths_k_areas_k2_frequencies_unchanged(seed, profile, k):
    ap, ml = sway(DURATION_S, FS_HZ, seed)
    base = _metrics(ap, ml, profile, sway_density_radius_cm=0.3)
    scaled = _metrics(k * ap, k * ml, profile, sway_density_radius_cm=0.3 * k)
    bad = {}
    for key in METRIC_KEYS:
        factor = k if key in LENGTHS else k * k if key in AREAS else 1.0
        expected = None if base[key] is None else base[key] * factor
        if not _close(scaled[key], expected, rel=1e-6, abs_=1e-12 * factor):
            bad[key] = (expected, scaled[key])
    assert not bad
    assert set(UNCHANGED) >= {"mean_power_frequency_hz", "f50_ap_hz", "sda_h_long_r", "fractal_dimension_cc"}


def _smooth(t):
    """A smooth sway-like path (cm): a few sines below 1.5 Hz."""
    ap = 0.8 * np.sin(2 * np.pi * 0.13 * t) + 0.3 * np.sin(2 * np.pi * 0.7 * t + 1.0) + 0.05 * np.sin(2 * np.pi * 1.4 * t)
    ml = 0.5 * np.cos(2 * np.pi * 0.21 * t + 0.3) + 0.2 * np.sin(2 * np.pi * 0.9 * t)
    return ap, ml


@pytest.mark.parametrize("profile", ["raw", "station"])
def test_velocity_is_consistent_across_sample_rates_on_a_smooth_signal(profile):
    velocities = {}
    for fs in (25.0, 50.0, 100.0, 200.0, 1000.0):
        t = np.arange(int(30 * fs)) / fs
        ap, ml = _smooth(t)
        velocities[fs] = compute_metrics(ap, ml, fs, profile)["metrics"]["mean_velocity_cm_s"]
    reference = velocities[1000.0]
    for fs, v in velocities.items():
        assert v == pytest.approx(reference, rel=5e-3), (fs, v, reference)


def test_results_never_contain_nan_and_are_json_serialisable():
    import json

    for seed in range(5):
        ap, ml = sway(DURATION_S, FS_HZ, seed)
        result = compute_metrics(ap, ml, FS_HZ, "station", corners_n=np.full((ap.size, 4), 150.0))
        json.dumps(result, allow_nan=False)
        assert list(result["metrics"]) == list(METRIC_KEYS)
