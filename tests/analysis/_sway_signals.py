"""Deterministic test signals for the sway-metric tests."""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter


def sway(duration_s: float, fs_hz: float, seed: int, rms_cm: float = 0.5):
    """Sway-like AP, ML (cm): two Ornstein-Uhlenbeck processes per axis (0.3 s and 5 s) + noise."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs_hz))
    out = np.zeros((2, n))
    for tau_s, share in ((0.3, 0.3), (5.0, 0.9)):
        a = math.exp(-1.0 / (fs_hz * tau_s))
        out += lfilter([1.0], [1.0, -a], rng.normal(0, rms_cm * share * math.sqrt(1 - a * a), (2, n)), axis=1)
    out += rng.normal(0, 0.002, (2, n))
    # an anisotropic, tilted cloud so that per-axis and rotation tests are not trivially symmetric
    out[1] *= 0.6
    c, s = math.cos(0.4), math.sin(0.4)
    return c * out[0] - s * out[1], s * out[0] + c * out[1]


def brute_stay_counts(ap, ml, radius):
    """Reference: for each i, consecutive samples after i within radius of sample i (O(N^2))."""
    p = np.column_stack((ap, ml))
    n = len(p)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        far = np.hypot(*(p[i + 1 :] - p[i]).T) > radius
        out[i] = int(np.argmax(far)) if far.any() else n - 1 - i
    return out
