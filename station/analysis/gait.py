"""Gait from a lower-back IMU: the gait keys of DESIGN.md §8 for a walk, or minute by minute.

The station's gait analysis is called here: :func:`gait_metrics` gives every key of a recording
(or of a time window of it), :func:`gait_by_minute` one row a minute of a treadmill or long
session. The steps of the method live in modules of their own, whose public functions and
constants this module re-exports (:data:`__all__`), so callers import everything from
``station.analysis.gait``:

=========================================  =======================================================
module                                     job
=========================================  =======================================================
:mod:`~station.analysis.gait_checks`       checks of rate, acceleration, sensor height, window
:mod:`~station.analysis.gait_band`         gait band of the vertical acceleration, its step lobes,
                                           a missed lobe taken back, contacts moved to the impact
:mod:`~station.analysis.gait_sides`        steps or strides, sides alternate, steps at the period
:mod:`~station.analysis.gait_contacts`     initial contacts and walking bouts (the pipeline:
                                           :func:`detect_initial_contacts`, :func:`walking_bouts`;
                                           :func:`detect_steps` outside bouts too)
:mod:`~station.analysis.gait_step_length`  inverted-pendulum step length
                                           (:func:`pendulum_step_lengths`)
:mod:`~station.analysis.gait_regularity`   autocorrelation, step and stride regularity
:mod:`~station.analysis.gait_measures`     the walk analysed once; temporal and spatial keys
=========================================  =======================================================

Input is the body-frame acceleration of :func:`station.analysis.imu_frame.align_to_body`
(columns v up, ap toward the toes, ml toward the right; m/s², gravity included). The events come
from the vertical acceleration, whatever the walking direction (the medio-lateral acceleration
only tells steps from strides and the steps' sides, by its sign's alternation), so forward,
backward and treadmill walking are measured alike.

Method, in order (each module's notes give the details, the constants and the references)
------------------------------------------------------------------------------------------
1. Initial contacts: maxima of the positive lobes of the vertical acceleration in the gait band
   (McCamley et al. 2012 as modified by Paraschiv-Ionescu et al. 2020).
2. Walking, not fidgeting: peaks strong enough and a shortest step apart, grouped into bouts
   (the Mobilise-D consensus, Kluge et al. 2021); a step too weak for a lobe taken back.
3. Strides are not steps; steps alternate sides and come at the step period (McCamley's
   left/right rule on the medio-lateral acceleration, Ullrich et al. 2021's band).
4. Impact: each contact moved back from the lobe's peak to the steepest rise of the acceleration.
5. Temporal keys from the bouts' contacts: cadence over the strides of Mobilise-D's stride
   selection, step time and the variabilities over single steps, leaving out those next to a gap
   the caller filled in (``bridged_s``: their contacts' times are uncertain).
6. Regularity and symmetry from the autocorrelation of each bout (Moe-Nilssen & Helbostad 2004,
   Tura et al. 2010), averaged over bouts weighted by their length (here, in :func:`gait_metrics`).
7. Step length and speed: inverted pendulum (Zijlstra & Hof 2003) with the Soltani et al. (2021)
   processing and Mobilise-D's correction factor (Küderle et al. 2024).

Undefined values (no walking, too few steps, no sensor height) are ``None``, never NaN.

References
----------
Cited in full in the modules above: McCamley et al. (2012) Gait Posture 36:316-318;
Paraschiv-Ionescu et al. (2020) IEEE EMBC 4596-4599; Kluge et al. (2021) PLoS One 16:e0256541;
Ullrich et al. (2021) IEEE EMBC (Xplore 9630653); Moe-Nilssen & Helbostad (2004) J Biomech
37:121-126; Tura et al. (2010) J Neuroeng Rehabil 7:4; Zijlstra & Hof (2003) Gait Posture
18(2):1-10; Soltani et al. (2021) IEEE TNSRE 29:1955-1964; Salis et al. (2023) Front Bioeng
Biotechnol 11:1143248; Küderle et al. (2024) mobgap (github.com/mobilise-d/mobgap).
"""

from __future__ import annotations

import math

import numpy as np

from .gait_band import (
    BAND_HZ,
    FILTER_ORDER,
    IMPACT_CUTOFF_HZ,
    MIN_STEP_PEAK_M_S2,
    MIN_STEP_S,
    RISE_MAX_S,
    STEP_TIME_RANGE,
)
from .gait_checks import (
    MIN_DURATION_S,
    MIN_RATE_HZ,
    SENSOR_HEIGHT_RANGE_M,
    _check_body,
    _check_bridged,
    _check_height,
    _check_rate,
    _check_window,
)
from .gait_contacts import MAX_STEP_S, MIN_BOUT_STEPS, detect_initial_contacts, detect_steps, walking_bouts
from .gait_measures import (
    STRIDE_TIME_RANGE_S,
    _analyse,
    _cadence_strides,
    _spatial,
    _temporal,
    contacts_near_gaps,
    gap_margin_s,
)
from .gait_keys import GAIT_KEYS, MINUTE_KEYS
from .gait_regularity import _regularity
from .gait_sides import SAME_SIDE_CORRELATION, SIDE_BAND_HZ, SIDE_CONFIDENCE
from .gait_step_length import DRIFT_CUTOFF_HZ, PENDULUM_CORRECTION, VELOCITY_CUTOFF_HZ, pendulum_step_lengths

__all__ = [
    "BAND_HZ",
    "DRIFT_CUTOFF_HZ",
    "FILTER_ORDER",
    "GAIT_KEYS",
    "IMPACT_CUTOFF_HZ",
    "MAX_STEP_S",
    "MINUTE_KEYS",
    "MIN_BOUT_STEPS",
    "MIN_DURATION_S",
    "MIN_MINUTE_STEPS",
    "MIN_RATE_HZ",
    "MIN_STEP_PEAK_M_S2",
    "MIN_STEP_S",
    "PAUSE_MIN_S",
    "PENDULUM_CORRECTION",
    "RISE_MAX_S",
    "SAME_SIDE_CORRELATION",
    "SENSOR_HEIGHT_RANGE_M",
    "SIDE_BAND_HZ",
    "SIDE_CONFIDENCE",
    "STEP_TIME_RANGE",
    "STRIDE_TIME_RANGE_S",
    "VELOCITY_CUTOFF_HZ",
    "contacts_near_gaps",
    "detect_initial_contacts",
    "detect_steps",
    "gait_by_minute",
    "gait_metrics",
    "gap_margin_s",
    "pendulum_step_lengths",
    "walking_bouts",
]

MIN_MINUTE_STEPS = 4
"""Fewest steps (intervals between contacts, ending in the minute) a row of :func:`gait_by_minute`
measures: below, its cadence, step time, variabilities, step length and speed are None (the
minute's ``steps`` and ``walking_s`` are still given). Before, a minute into which a session's last
step fell read a cadence, a step length and a speed from that one step. Four steps are a walking
bout's contacts (:data:`MIN_BOUT_STEPS`, Kluge et al. 2021) plus the step into the minute."""
PAUSE_MIN_S = 3.0
"""A gap without steps of at least this length is a pause (the Mobilise-D break of a walking bout)."""

def gait_metrics(
    acc_body_m_s2, fs_hz: float, *, sensor_height_m: float | None = None, window_s: tuple[float, float] | None = None,
    initial_contacts_s=None, bridged_s=None,
) -> dict:
    """Every gait key of DESIGN.md §8 for a recording of walking (one or more bouts).

    Parameters
    ----------
    acc_body_m_s2 : array_like, shape (N, 3)
        Body-frame acceleration (v up, ap toward the toes, ml toward the right), m/s², gravity
        included, from :func:`station.analysis.imu_frame.align_to_body`. Standing before and after
        the walk is allowed: only walking bouts are measured.
    fs_hz : float
        Sample rate, Hz (at least :data:`MIN_RATE_HZ`).
    sensor_height_m : float, optional
        Height of the sensor above the ground when standing, m (the pendulum length of Zijlstra &
        Hof 2003). Without it ``step_length_m`` and ``walking_speed_m_s`` are ``None``.
    window_s : (float, float), optional
        Measure only the contacts and steps within ``start_s <= t <= end_s`` (s from the first
        sample), e.g. the middle 6 m of a 10-metre walk between two gate times. Detection still
        runs on the whole recording, so the window's edges do not cut the filters.
    initial_contacts_s : array_like, optional
        Initial contacts from elsewhere (s from the first sample, e.g. a reference system's):
        used instead of detecting them, grouped into bouts the same way. Every key is then
        computed from them exactly as from detected ones, which tells the error of the
        detection apart from the error of the measures themselves.
    bridged_s : list of (float, float), optional
        ``(start_s, length_s)`` of each run of samples that was filled in by interpolation (a lost
        frame, :attr:`station.analysis.imu_gaps.GapReport.bridged_s`), s from the first sample. A
        contact within such a gap or within :func:`gap_margin_s` (0.05 s) of it has an uncertain
        time (:func:`contacts_near_gaps`): the step and stride intervals it bounds are left out of
        ``step_time_s``, the two CVs, ``step_length_m`` and ``walking_speed_m_s``; it still counts
        in ``steps`` and the cadence.

    Returns
    -------
    dict
        Keys :data:`GAIT_KEYS`:

        ``steps`` (int)
            initial contacts inside walking bouts;
        ``duration_s``
            time walking, s: first to last initial contact of each bout, summed;
        ``cadence_steps_min``
            mean of 120 / stride time over every stride (contact to the next but one) of
            :data:`STRIDE_TIME_RANGE_S` (0.2-3 s, Mobilise-D's stride selection), steps/min;
        ``step_time_s``
            mean interval between consecutive initial contacts that are single steps (within
            :data:`STEP_TIME_RANGE` of the bout's median) and not next to a ``bridged_s`` gap, s;
        ``step_time_cv_pct``, ``stride_time_cv_pct``
            coefficient of variation (SD with N − 1 over mean) of step and stride times, %;
        ``step_regularity``, ``stride_regularity``
            unbiased autocorrelation of the vertical acceleration at one and two step lags
            (Moe-Nilssen & Helbostad 2004), dimensionless, 1 = perfectly regular;
        ``step_symmetry``
            ``step_regularity / stride_regularity`` (Tura et al. 2010), 1 = symmetric;
        ``step_length_m``, ``walking_speed_m_s``
            inverted pendulum (Zijlstra & Hof 2003) with Mobilise-D's correction factor
            :data:`PENDULUM_CORRECTION` (1.147) for the Soltani et al. (2021) processing, m and m/s;
        ``initial_contacts_s``
            list of the initial contacts, s from the first sample.

        Values that cannot be computed (no walking, too few steps, no sensor height) are
        ``None``; ``steps`` is then 0 and ``duration_s`` 0.0.

    Raises
    ------
    ValueError
        Bad shape, sample rate, non-finite values, too short a recording, an implausible
        ``sensor_height_m``, a ``window_s`` that is not a time span inside the recording,
        ``initial_contacts_s`` that are not finite times inside it, or ``bridged_s`` that are not
        pairs of seconds.

    References
    ----------
    See the module documentation and the notes of the modules it names (McCamley 2012,
    Paraschiv-Ionescu 2020, Moe-Nilssen & Helbostad 2004, Tura 2010, Zijlstra & Hof 2003).

    Examples
    --------
    Twelve seconds of even walking, a step every 0.5 s (120 steps/min):

    >>> fs = 100.0
    >>> t = np.arange(0, 12, 1 / fs)
    >>> acc = np.zeros((t.size, 3))
    >>> acc[:, 0] = 9.81 + 2.0 * np.cos(2 * np.pi * t / 0.5)
    >>> m = gait_metrics(acc, fs, sensor_height_m=0.95)
    >>> round(m["cadence_steps_min"]), m["step_time_cv_pct"] < 2.0   # one-sample jitter
    (120, True)
    >>> round(m["step_regularity"], 2), round(m["step_symmetry"], 2)
    (1.0, 1.0)
    >>> m["step_length_m"] > 0 and m["walking_speed_m_s"] > 0
    True
    """
    fs = _check_rate(fs_hz)
    acc = _check_body(acc_body_m_s2, fs)
    height = _check_height(sensor_height_m)
    lo, hi = _check_window(window_s, acc.shape[0] / fs)
    walk = _analyse(acc, fs, height, initial_contacts_s, _check_bridged(bridged_s))
    t = walk.ics / fs
    inside = (t >= lo) & (t <= hi)
    steps = [(i, j) for i, j in walk.steps if inside[i] and inside[j]]
    strides = [(i, j) for i, j in _cadence_strides(walk) if inside[i] and inside[j]]
    out = _temporal(walk, steps, strides, int(np.count_nonzero(inside)))
    spans = []  # (first, last) contact positions of each bout, clipped to the window
    for b in walk.bouts:
        members = b[inside[b]]
        if members.size >= 2:
            spans.append((int(members[0]), int(members[-1])))
    out["duration_s"] = float(sum((walk.ics[j] - walk.ics[i]) / fs for i, j in spans))
    reg = []
    for i, j in spans:
        mine = [(a, b) for a, b in steps if i <= a and b <= j]
        if not mine:
            continue
        step_samples = float(np.median([walk.ics[b] - walk.ics[a] for a, b in mine]))
        r = _regularity(acc[:, 0], int(walk.ics[i]), int(walk.ics[j]), step_samples)
        if r is not None:
            reg.append((walk.ics[j] - walk.ics[i], r))
    step_reg = stride_reg = symmetry = None
    if reg:
        weights = np.array([w for w, _ in reg], dtype=float)
        step_reg = float(np.average([r[0] for _, r in reg], weights=weights))
        stride_reg = float(np.average([r[1] for _, r in reg], weights=weights))
        symmetry = step_reg / stride_reg if stride_reg > 0 else None
    out.update(step_regularity=step_reg, stride_regularity=stride_reg, step_symmetry=symmetry)
    out.update(_spatial(walk, steps))
    out["initial_contacts_s"] = [float(i / fs) for i in walk.ics[inside]]
    return {k: out[k] for k in GAIT_KEYS}


def gait_by_minute(
    acc_body_m_s2, fs_hz: float, *, sensor_height_m: float | None = None, minute_s: float = 60.0, bridged_s=None,
) -> list[dict]:
    """Gait minute by minute for a treadmill or long walking session.

    Parameters
    ----------
    acc_body_m_s2 : array_like, shape (N, 3)
        Body-frame acceleration (v, ap, ml), m/s², from
        :func:`station.analysis.imu_frame.align_to_body`.
    fs_hz : float
        Sample rate, Hz.
    sensor_height_m : float, optional
        Sensor height above the ground, m; gives step length and speed per minute.
    minute_s : float
        Length of a row, s (default 60; the last row may be shorter).
    bridged_s : list of (float, float), optional
        Gaps filled in by interpolation, ``(start_s, length_s)``, as in :func:`gait_metrics`: the
        step and stride times next to them are left out of the rows' step times and CVs.

    Returns
    -------
    list of dict
        One row per minute, keys :data:`MINUTE_KEYS`: ``minute`` (1, 2, ...), ``start_s``,
        ``end_s``, ``walking_s`` (time inside walking bouts, s), ``steps`` (initial contacts in
        the minute), ``cadence_steps_min``, ``step_time_s``, ``step_time_cv_pct``,
        ``stride_time_cv_pct`` (steps and strides that end in the minute), ``step_length_m`` and
        ``walking_speed_m_s`` (``None`` without a sensor height; all of these ``None`` in a minute
        with fewer than :data:`MIN_MINUTE_STEPS` steps), ``pauses`` (gaps without steps of
        at least :data:`PAUSE_MIN_S` that begin in the minute, including the time before the first
        and after the last step) and ``pause_s`` (the part of the minute spent in pauses).

    Raises
    ------
    ValueError
        As :func:`gait_metrics`, or ``minute_s`` not positive.

    Examples
    --------
    Two and a half minutes on a treadmill at 110 steps/min, with a 20 s stop from 70 s to 90 s:

    >>> fs = 100.0
    >>> t = np.arange(0, 150, 1 / fs)
    >>> walking = (t < 70) | (t >= 90)
    >>> acc = np.zeros((t.size, 3))
    >>> acc[:, 0] = 9.81 + np.where(walking, 2.0 * np.cos(2 * np.pi * t * 110 / 60), 0.0)
    >>> rows = gait_by_minute(acc, fs)
    >>> [(r["minute"], round(r["walking_s"], -1), r["pauses"]) for r in rows]
    [(1, 60.0, 0), (2, 40.0, 1), (3, 30.0, 0)]
    >>> round(rows[0]["cadence_steps_min"])
    110
    """
    fs = _check_rate(fs_hz)
    acc = _check_body(acc_body_m_s2, fs)
    height = _check_height(sensor_height_m)
    if isinstance(minute_s, bool) or not (isinstance(minute_s, (int, float)) and math.isfinite(minute_s) and minute_s > 0):
        raise ValueError(f"minute_s must be a positive number of seconds, got {minute_s!r}")
    walk = _analyse(acc, fs, height, bridged_s=_check_bridged(bridged_s))
    total_s = acc.shape[0] / fs
    ic_s = walk.ics / fs
    bout_spans = [(ic_s[b[0]], ic_s[b[-1]]) for b in walk.bouts]
    gaps = []
    edge = 0.0
    for a, b in bout_spans:
        gaps.append((edge, a))
        edge = b
    gaps.append((edge, total_s))
    pauses = [(a, b) for a, b in gaps if b - a >= PAUSE_MIN_S]
    all_strides = _cadence_strides(walk)
    rows = []
    n_rows = int(math.ceil(total_s / minute_s - 1e-9))
    for k in range(n_rows):
        lo, hi = k * minute_s, min((k + 1) * minute_s, total_s)
        steps = [(i, j) for i, j in walk.steps if lo <= ic_s[j] < hi]
        contacts = int(np.count_nonzero((ic_s >= lo) & (ic_s < hi)))
        row = {"minute": k + 1, "start_s": float(lo), "end_s": float(hi)}
        row["walking_s"] = float(sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in bout_spans))
        strides = [(i, j) for i, j in all_strides if lo <= ic_s[j] < hi]
        temporal = _temporal(walk, steps, strides, contacts)
        row.update({key: temporal[key] for key in ("steps", "cadence_steps_min", "step_time_s",
                                                   "step_time_cv_pct", "stride_time_cv_pct")})
        row.update(_spatial(walk, steps))
        if len(steps) < MIN_MINUTE_STEPS:  # a minute's walking ends or starts in it: too few steps to measure
            row.update(dict.fromkeys(("cadence_steps_min", "step_time_s", "step_time_cv_pct", "stride_time_cv_pct",
                                      "step_length_m", "walking_speed_m_s")))
        row["pauses"] = sum(1 for a, _b in pauses if lo <= a < hi)
        row["pause_s"] = float(sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in pauses))
        rows.append({key: row[key] for key in MINUTE_KEYS})
    return rows
