"""Trunk sway in stance from the lower-back IMU (DESIGN.md §8: keys prefixed ``trunk_``).

The ISway measures of Mancini et al. (2012), from the horizontal acceleration of the lower back:
the antero-posterior and medio-lateral columns of the body frame
(:func:`station.analysis.imu_frame.align_to_body`: they are horizontal, so gravity is already
removed, which is the tilt correction Mancini et al. take from Moe-Nilssen 1998). As in ISway,
both are low-passed at 3.5 Hz (4th-order zero-phase Butterworth) and their mean removed. Align a
stance trial with one vertical (``align_to_body`` without ``fs_hz``: the mean of the trial), as
ISway does: the slow tilt of the swaying trunk then stays in the horizontal acceleration instead
of being followed by a moving vertical.

=============================  ===============================================================
key                            definition
=============================  ===============================================================
``trunk_rms_ap_m_s2``          root mean square of AP acceleration (1/N), m/s²
``trunk_rms_ml_m_s2``          root mean square of ML acceleration, m/s²
``trunk_rms_m_s2``             root mean square of the resultant horizontal acceleration, m/s²
``trunk_range_ap_m_s2``        max − min of AP acceleration, m/s²
``trunk_range_ml_m_s2``        max − min of ML acceleration, m/s²
``trunk_jerk_m2_s5``           JERK = ½ ∫ [(dAP/dt)² + (dML/dt)²] dt (Mancini 2012, Table 2), m²/s⁵;
                               it grows with the trial's length: compare trials of one length
``trunk_sway_area_m2_s5``      area swept by the acceleration per unit time,
                               Σ|AP[n+1]·ML[n] − AP[n]·ML[n+1]| / (2T) (Prieto 1996 AREA-SW
                               applied to acceleration, Mancini 2012 AREA), m²/s⁵
=============================  ===============================================================

References
----------
Mancini M, Salarian A, Carlson-Kuhta P, Zampieri C, King L, Chiari L, Horak FB (2012) ISway: a
sensitive, valid and reliable measure of postural control. J Neuroeng Rehabil 9:59.
Prieto TE, Myklebust JB, Hoffmann RG, Lovett EG, Myklebust BM (1996) Measures of postural
steadiness. IEEE Trans Biomed Eng 43:956-966.
Moe-Nilssen R (1998) A new method for evaluating motor control in gait under real-life
environmental conditions. Part 1: the instrument. Clin Biomech 13:320-327.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

CUTOFF_HZ = 3.5
"""Low-pass cut-off of the horizontal accelerations, Hz (Mancini et al. 2012)."""
FILTER_ORDER = 4
MIN_DURATION_S = 5.0
"""Shortest stance recording accepted, s."""
MIN_RATE_HZ = 10.0
"""Lowest sample rate accepted, Hz (the 3.5 Hz cut-off must lie below Nyquist)."""

TRUNK_KEYS: tuple[str, ...] = (
    "trunk_rms_ap_m_s2",
    "trunk_rms_ml_m_s2",
    "trunk_rms_m_s2",
    "trunk_range_ap_m_s2",
    "trunk_range_ml_m_s2",
    "trunk_jerk_m2_s5",
    "trunk_sway_area_m2_s5",
)
"""Every trunk-sway key, in output order."""


def trunk_sway(acc_body_m_s2, fs_hz: float) -> dict:
    """Trunk sway measures of a stance trial from lower-back acceleration (Mancini et al. 2012).

    Parameters
    ----------
    acc_body_m_s2 : array_like, shape (N, 3)
        Body-frame acceleration, columns v, ap, ml, m/s²
        (:func:`station.analysis.imu_frame.align_to_body`); only ap and ml are used.
    fs_hz : float
        Sample rate, Hz (above :data:`MIN_RATE_HZ`).

    Returns
    -------
    dict
        :data:`TRUNK_KEYS`, floats with the units in their names (see the module table).

    Raises
    ------
    ValueError
        Bad shape, rate, non-finite values, or shorter than :data:`MIN_DURATION_S`.

    References
    ----------
    Mancini M et al. (2012) J Neuroeng Rehabil 9:59 (ISway); Prieto TE et al. (1996) IEEE Trans
    Biomed Eng 43:956-966.

    Examples
    --------
    Thirty seconds of 0.5 Hz sway, 0.1 m/s² amplitude in AP and 0.05 m/s² in ML:

    >>> fs = 100.0
    >>> t = np.arange(0, 30, 1 / fs)
    >>> acc = np.zeros((t.size, 3))
    >>> acc[:, 0] = 9.81
    >>> acc[:, 1] = 0.1 * np.sin(2 * np.pi * 0.5 * t)
    >>> acc[:, 2] = 0.05 * np.cos(2 * np.pi * 0.5 * t)
    >>> m = trunk_sway(acc, fs)
    >>> round(m["trunk_rms_ap_m_s2"], 4), round(m["trunk_rms_ml_m_s2"], 4)
    (0.0707, 0.0354)
    >>> round(m["trunk_sway_area_m2_s5"], 4)   # ellipse 0.1 x 0.05 swept once per 2 s
    0.0079
    """
    if isinstance(fs_hz, bool) or not isinstance(fs_hz, (int, float, np.integer, np.floating)):
        raise ValueError(f"sample rate must be a number of Hz, got {fs_hz!r}")
    fs = float(fs_hz)
    if not (math.isfinite(fs) and fs > MIN_RATE_HZ):
        raise ValueError(f"sample rate must be above {MIN_RATE_HZ:g} Hz for trunk sway, got {fs_hz!r}")
    acc = np.asarray(acc_body_m_s2, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise ValueError(
            f"acc_body_m_s2 must have shape (N, 3), columns v, ap, ml in m/s² (see align_to_body), got {acc.shape}"
        )
    if not np.isfinite(acc).all():
        raise ValueError("acc_body_m_s2 contains NaN or infinite values; give only measured samples")
    n = acc.shape[0]
    if n < MIN_DURATION_S * fs:
        raise ValueError(
            f"stance recording too short for trunk sway: {n / fs:.2f} s; need at least {MIN_DURATION_S:g} s"
        )
    sos = signal.butter(FILTER_ORDER, CUTOFF_HZ, btype="lowpass", fs=fs, output="sos")
    horiz = signal.sosfiltfilt(sos, acc[:, 1:3], axis=0)
    horiz -= horiz.mean(axis=0)
    ap, ml = horiz[:, 0], horiz[:, 1]
    duration_s = n / fs
    jerk = np.diff(horiz, axis=0) * fs
    return {
        "trunk_rms_ap_m_s2": float(math.sqrt(np.mean(ap * ap))),
        "trunk_rms_ml_m_s2": float(math.sqrt(np.mean(ml * ml))),
        "trunk_rms_m_s2": float(math.sqrt(np.mean(ap * ap + ml * ml))),
        "trunk_range_ap_m_s2": float(ap.max() - ap.min()),
        "trunk_range_ml_m_s2": float(ml.max() - ml.min()),
        "trunk_jerk_m2_s5": float(0.5 * np.sum(jerk * jerk) / fs),
        "trunk_sway_area_m2_s5": float(np.sum(np.abs(ap[1:] * ml[:-1] - ap[:-1] * ml[1:])) / (2.0 * duration_s)),
    }
