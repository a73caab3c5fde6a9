"""Checks of the gait functions' inputs: sample rate, acceleration, sensor height and time window.

Shared by the gait modules (:mod:`station.analysis.gait` and the modules it is built from); each
check returns the value converted for use (float, float64 array) or raises ``ValueError`` with a
one-line message that says what was wrong and what is needed. Units: Hz, m/s², m, s.
"""

from __future__ import annotations

import math

import numpy as np

MIN_RATE_HZ = 20.0
"""Lowest sample rate accepted, Hz (the gait band must lie well below Nyquist)."""
MIN_DURATION_S = 2.0
"""Shortest recording accepted, s."""
SENSOR_HEIGHT_RANGE_M = (0.3, 1.5)
"""Plausible heights of a lower-back sensor above the ground, m."""


def _check_rate(fs_hz) -> float:
    if isinstance(fs_hz, bool) or not isinstance(fs_hz, (int, float, np.integer, np.floating)):
        raise ValueError(f"sample rate must be a number of Hz, got {fs_hz!r}")
    fs = float(fs_hz)
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"sample rate must be a positive number of Hz, got {fs_hz!r}")
    if fs < MIN_RATE_HZ:
        raise ValueError(f"sample rate {fs:g} Hz is too low for gait analysis; need at least {MIN_RATE_HZ:g} Hz")
    return fs


def _check_vertical(acc_v_m_s2, fs: float, what: str = "vertical acceleration") -> np.ndarray:
    acc = np.asarray(acc_v_m_s2, dtype=np.float64)
    if acc.ndim != 1:
        raise ValueError(f"{what} must be 1-D (one value per sample, m/s²), got shape {acc.shape}")
    if not np.isfinite(acc).all():
        raise ValueError(f"{what} contains NaN or infinite values; give only measured samples")
    need = int(math.ceil(MIN_DURATION_S * fs))
    if acc.shape[0] < need:
        raise ValueError(
            f"recording too short for gait analysis: {acc.shape[0]} samples ({acc.shape[0] / fs:.2f} s at "
            f"{fs:g} Hz); need at least {MIN_DURATION_S:g} s"
        )
    return acc


def _check_body(acc_body_m_s2, fs: float) -> np.ndarray:
    acc = np.asarray(acc_body_m_s2, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise ValueError(
            f"acc_body_m_s2 must have shape (N, 3), columns v, ap, ml in m/s² (see align_to_body), got {acc.shape}"
        )
    _check_vertical(acc[:, 0], fs)
    if not np.isfinite(acc).all():
        raise ValueError("acc_body_m_s2 contains NaN or infinite values; give only measured samples")
    return acc


def _check_height(sensor_height_m) -> float | None:
    if sensor_height_m is None:
        return None
    if isinstance(sensor_height_m, bool) or not isinstance(sensor_height_m, (int, float, np.integer, np.floating)):
        raise ValueError(f"sensor_height_m must be a number of metres, got {sensor_height_m!r}")
    h = float(sensor_height_m)
    lo, hi = SENSOR_HEIGHT_RANGE_M
    if not (math.isfinite(h) and lo <= h <= hi):
        raise ValueError(
            f"sensor_height_m {sensor_height_m!r} is not a plausible height of a lower-back sensor "
            f"({lo:g} to {hi:g} m above the ground)"
        )
    return h


def _check_window(window_s, total_s: float) -> tuple[float, float]:
    if window_s is None:
        return -math.inf, math.inf
    try:
        lo, hi = (float(v) for v in window_s)
    except (TypeError, ValueError):
        raise ValueError(f"window_s must be a pair (start_s, end_s) of seconds, got {window_s!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"window_s {window_s!r} must be two finite times with start_s < end_s")
    if hi < 0 or lo > total_s:
        raise ValueError(f"window_s {window_s!r} lies outside the recording (0 to {total_s:.2f} s)")
    return lo, hi


def _check_bridged(bridged_s) -> list[tuple[float, float]]:
    """``bridged_s`` as a list of ``(start_s, length_s)`` pairs of finite seconds, lengths >= 0
    (the spans of samples filled in by interpolation, :attr:`station.analysis.imu_gaps.GapReport.bridged_s`)."""
    if bridged_s is None:
        return []
    spans = []
    try:
        for span in bridged_s:
            start, length = (float(v) for v in span)
            if not (math.isfinite(start) and math.isfinite(length) and length >= 0):
                raise ValueError
            spans.append((start, length))
    except (TypeError, ValueError):
        raise ValueError(f"bridged_s must be (start_s, length_s) pairs of seconds, lengths >= 0, got {bridged_s!r}") from None
    return spans
