"""The gait band of the trunk's vertical acceleration and the steps it shows.

The signal pieces of initial-contact detection (items 1, 2 and 4 of the method in
:mod:`station.analysis.gait_contacts`, which assembles them into walking bouts), on sample indices:

* :func:`_band` band-passes the vertical acceleration to the gait band :data:`BAND_HZ`, where
  each step leaves one positive lobe;
* :func:`_lobe_peaks` finds the maximum of each positive lobe, and :func:`_merge_close` keeps the
  taller of two peaks closer than the shortest step :data:`MIN_STEP_S`;
* :func:`_recover_missed` puts back a step whose lobe is missing: a prominent peak in the middle
  of an interval of about two steps;
* :func:`_refine` moves each contact from the lobe's peak back to the foot's impact, the steepest
  rise of the vertical acceleration low-passed at :data:`IMPACT_CUTOFF_HZ` (of two about as steep,
  the later: :data:`IMPACT_TIE_FRACTION`).

Units: m/s², Hz, s (constants); sample indices (functions). The method and its references
(McCamley et al. 2012, Gait Posture 36:316-318; Paraschiv-Ionescu et al. 2020, Proc IEEE EMBC
2020:4596-4599) are in the notes of :mod:`station.analysis.gait_contacts`.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

BAND_HZ = (0.15, 3.14)
"""Gait band of the vertical acceleration used for initial contacts, Hz (Paraschiv-Ionescu 2020)."""
FILTER_ORDER = 4
MIN_STEP_PEAK_M_S2 = 0.4
"""Smallest peak (and, for the peaks of :func:`_recover_missed`, prominence) of the band-passed
vertical acceleration that counts as a step, m/s²: four times what quiet standing and sitting leave
in this band (sensor noise and postural sway stay below 0.1 m/s²). The bare pendulum of a slow
0.25 m step at one step per second moves the trunk's acceleration by only ±0.2 m/s², but the
weight acceptance after the foot lands adds a peak of its own (1-3 m/s² at comfortable speed), so
the soft steps of slow walkers still reach it."""
IMPACT_CUTOFF_HZ = 20.0
"""Low-pass cut-off for the impact of the foot on the trunk acceleration, Hz (the usual bandwidth
kept for trunk accelerations in gait; capped at 0.4 × the sample rate)."""
IMPACT_TIE_FRACTION = 0.8
"""Where two rises of the vertical acceleration before a step's peak are about as steep (the later
at least this fraction of the steeper), the later is taken as the foot's impact: the trunk's
acceleration starts rising before the contact, as the body falls onto the leading leg, and the
heel's impact comes on top of that rise, after it. Taking the steeper alone put the contact on the
earlier rise whenever it won by a little (at a fast cadence the pendulum's rise is as steep as the
impact's): 40-50 ms early, at random, which doubled a fast walk's step-time CV (8.3 % for a true
2.2 %). Measured 2026-12-05, README ("The foot's impact"): 0.7, 0.8 and 0.9 all time the held-out
people's contacts better and leave `Test5` unchanged."""
RISE_MAX_S = 0.6
"""Longest rise of the vertical acceleration from its trough to the step's peak, s (half of a
1.2 s step, the step time at 50 steps/min)."""
MIN_STEP_S = 0.25
"""Shortest step, s (cadence 240 steps/min, beyond the fastest walking)."""
STEP_TIME_RANGE = (0.6, 1.6)
"""A step time counts for cadence, variability, length and speed when it lies within this range
of its bout's median step time; outside, the interval holds a missed contact (about 2×) or a
split one (about 0.5×). Even markedly asymmetric gait (hemiparesis) keeps consecutive step times
within about ±40 % of their median."""


def _band(acc_v: np.ndarray, fs: float) -> np.ndarray:
    sos = signal.butter(FILTER_ORDER, BAND_HZ, btype="bandpass", fs=fs, output="sos")
    x = acc_v - acc_v.mean()
    return signal.sosfiltfilt(sos, x)


def _lobe_peaks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index and height of the maximum of every positive lobe of ``x``."""
    positive = x > 0
    edges = np.flatnonzero(np.diff(positive.astype(np.int8))) + 1
    bounds = np.concatenate(([0], edges, [x.shape[0]]))
    starts, ends = bounds[:-1], bounds[1:]
    keep = positive[starts]
    starts, ends = starts[keep], ends[keep]
    if starts.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    idx = np.array([s + int(np.argmax(x[s:e])) for s, e in zip(starts, ends)], dtype=np.int64)
    return idx, x[idx]


def _refine(acc_v: np.ndarray, band: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """Move each step's peak back to the foot's impact: the steepest rise of the vertical
    acceleration (low-passed at :data:`IMPACT_CUTOFF_HZ`) between the trough before the peak
    and the peak; of two rises about as steep, the later (:func:`_impact_in_rise`)."""
    if peaks.size == 0:
        return peaks
    cutoff = min(IMPACT_CUTOFF_HZ, 0.4 * fs)
    sos = signal.butter(FILTER_ORDER, cutoff, btype="lowpass", fs=fs, output="sos")
    jerk = np.gradient(signal.sosfiltfilt(sos, acc_v - acc_v.mean()))
    out = np.empty_like(peaks)
    previous = -1
    for k, c in enumerate(peaks):
        lo = max(int(c - RISE_MAX_S * fs), previous + 1, 0)
        trough = lo + int(np.argmin(band[lo : c + 1]))
        out[k] = trough + _impact_in_rise(jerk[trough : c + 1])
        previous = int(c)
    return out


def _impact_in_rise(jerk: np.ndarray) -> int:
    """Index of the foot's impact in one rise of the acceleration: the latest local maximum of
    ``jerk`` at least :data:`IMPACT_TIE_FRACTION` of the steepest, else the steepest.

    >>> _impact_in_rise(np.array([0.0, 1.0, 0.3, 0.9, 0.2]))  # the later rise is as steep
    3
    >>> _impact_in_rise(np.array([0.0, 1.0, 0.3, 0.5, 0.2]))  # a later ripple is not an impact
    1
    """
    best = int(np.argmax(jerk))
    inner = jerk[1:-1]
    peaks = np.flatnonzero((inner >= jerk[:-2]) & (inner > jerk[2:])) + 1
    later = peaks[(peaks > best) & (jerk[peaks] >= IMPACT_TIE_FRACTION * jerk[best])]
    return int(later[-1]) if later.size else best


def _merge_close(idx: np.ndarray, height: np.ndarray, fs: float) -> np.ndarray:
    """Two peaks closer than the shortest step are one step split by a ripple: keep the taller."""
    kept: list[int] = []
    for i in range(idx.size):
        if kept and (idx[i] - idx[kept[-1]]) < MIN_STEP_S * fs:
            if height[i] > height[kept[-1]]:
                kept[-1] = i
            continue
        kept.append(i)
    return idx[kept]


def _recover_missed(run: np.ndarray, peaks: np.ndarray, prominence: np.ndarray) -> np.ndarray:
    """Put back a step whose lobe was missing: an interval of about two steps (beyond
    :data:`STEP_TIME_RANGE` of the bout's median, up to 2.4 medians) with a prominent peak in its
    middle third holds a weaker step; that peak is taken."""
    median = float(np.median(np.diff(run)))
    out = [int(run[0])]
    for a, b in zip(run[:-1], run[1:]):
        gap = b - a
        if STEP_TIME_RANGE[1] * median < gap <= 2.4 * median:
            mid = (peaks > a + gap / 3) & (peaks < b - gap / 3)
            if mid.any():
                out.append(int(peaks[mid][np.argmax(prominence[mid])]))
        out.append(int(b))
    return np.asarray(out, dtype=np.int64)
