"""Initial contacts and walking bouts from the lower back's acceleration: the detection pipeline.

Input is the body-frame acceleration of :func:`station.analysis.imu_frame.align_to_body`
(columns v up, ap toward the toes, ml toward the right; m/s², gravity included). The
vertical acceleration gives the events (the medio-lateral one only tells steps from strides, by
its periodicity, whatever its sign), so the same code serves forward and backward walking (an
antero-posterior method flips sign when the person walks backward).

Method
------
1. **Initial contacts** (McCamley et al. 2012, as modified by Paraschiv-Ionescu et al. 2020): the
   vertical acceleration is band-passed to the gait band :data:`BAND_HZ` (0.15-3.14 Hz, the band of
   Paraschiv-Ionescu's pre-filter: it keeps the step fundamental, 0.7-2.5 Hz, and drops the heel
   impact's harmonics and the slow drift). Integrating and differentiating with a Gaussian wavelet,
   as McCamley does, is a smoothing of the acceleration itself; the band-pass does that job. The
   band-passed signal has one positive lobe per step: the trunk is pushed up while the leading leg
   takes the weight, just after the foot lands. The initial contact is the maximum of each positive
   lobe.
2. **Walking, not fidgeting**: a lobe counts as a step only when its peak reaches
   :data:`MIN_STEP_PEAK_M_S2` and it lies at least :data:`MIN_STEP_S` after the previous step
   (cadence below 240 steps/min); steps closer than :data:`MAX_STEP_S` belong to the same bout,
   and a bout needs :data:`MIN_BOUT_STEPS` steps (two strides; both as the Mobilise-D consensus
   definition of a walking bout, Kluge et al. 2021). An interval of about two steps whose middle
   holds a prominent peak of the band (a step too weak for a lobe of its own) gets that step back.
3. **Strides are not steps; steps alternate sides and come at the step period**: given the
   medio-lateral acceleration, a bout whose events repeat on one side (the weaker leg's steps
   left no lobe) takes the band's prominent peaks instead, two consecutive contacts on one side
   have an extra contact dropped or a missed step taken back, and an interval that holds three
   or more of the bout's median steps gets its lost steps back (:mod:`station.analysis.gait_sides`,
   whose notes give the rules and their references).
4. **Impact**: each step's contact is then moved back from the lobe's peak to the foot's impact,
   the steepest rise of the vertical acceleration (low-passed at :data:`IMPACT_CUTOFF_HZ`) between
   the trough before the peak and the peak; where an earlier rise is about as steep (the trunk
   starts rising as the body falls onto the leading leg), the later one, the heel's impact
   (:data:`~station.analysis.gait_band.IMPACT_TIE_FRACTION`). This is the derivative step of
   Paraschiv-Ionescu's variant (a Gaussian-derivative wavelet) taken at a band wide enough not to
   smear the impact.

The signal pieces of items 1, 2 and 4 are in :mod:`station.analysis.gait_band`, with the constants
these notes name and this module does not define (:data:`~station.analysis.gait_band.BAND_HZ`,
:data:`~station.analysis.gait_band.MIN_STEP_S`, :data:`~station.analysis.gait_band.IMPACT_CUTOFF_HZ`).
Times are s from the first sample; internally sample indices.

References
----------
McCamley J, Donati M, Grimpampi E, Mazzà C (2012) An enhanced estimate of initial contact and
final contact instants of time using lower trunk inertial sensor data. Gait Posture 36:316-318.
Paraschiv-Ionescu A, Soltani A, Aminian K (2020) Real-world speed estimation using single trunk
IMU: methodological challenges for impaired gait patterns. Proc IEEE EMBC 2020:4596-4599.
Kluge F, Del Din S, Cereatti A, et al. (2021) Consensus based framework for digital mobility
monitoring. PLoS One 16:e0256541.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from .gait_band import MIN_STEP_PEAK_M_S2, _band, _lobe_peaks, _merge_close, _recover_missed, _refine
from .gait_checks import _check_body, _check_rate, _check_vertical
from .gait_sides import _alternate, _same_side, _side_band, _sides_alternate, _take_back_steps

MAX_STEP_S = 3.0
"""Longest interval between two initial contacts inside one bout, s: a longer break ends the
walking bout (the Mobilise-D consensus, Kluge et al. 2021). Shorter hesitations stay inside the
bout but their intervals are not steps
(:data:`~station.analysis.gait_band.STEP_TIME_RANGE`)."""
MIN_BOUT_STEPS = 4
"""Fewest initial contacts of a walking bout: two strides (Kluge et al. 2021)."""


def _steps_and_bouts(acc_v: np.ndarray, fs: float, acc_ml: np.ndarray | None = None
                     ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Initial-contact sample indices and the bouts (arrays of positions into them)."""
    x = _band(acc_v, fs)
    idx, height = _lobe_peaks(x)
    strong = height >= MIN_STEP_PEAK_M_S2
    idx = _merge_close(idx[strong], height[strong], fs)
    runs: list[np.ndarray] = []
    if idx.size:
        breaks = np.flatnonzero(np.diff(idx) > MAX_STEP_S * fs) + 1
        runs = [idx[run] for run in np.split(np.arange(idx.size), breaks) if run.size >= MIN_BOUT_STEPS]
    if acc_ml is not None and runs:
        ml = _band(acc_ml, fs)
        peaks, props = signal.find_peaks(x, prominence=MIN_STEP_PEAK_M_S2)
        for k, run in enumerate(runs):
            if not _same_side(ml, run):
                continue
            # The weaker leg's steps left no lobe of their own (a strongly asymmetric gait): take
            # every prominent peak of the band instead, within half a stride of the bout.
            half = int(np.median(np.diff(run)) // 2)
            inside = (peaks >= run[0] - half) & (peaks <= run[-1] + half)
            found = _merge_close(peaks[inside], props["prominences"][inside], fs)
            if found.size > run.size and not _same_side(ml, found):
                runs[k] = found
        del ml  # its band is not needed again: one signal's length less at the peaks below
    if runs:
        peaks, props = signal.find_peaks(x, prominence=MIN_STEP_PEAK_M_S2)
        runs = [_recover_missed(run, peaks, props["prominences"]) for run in runs]
    if acc_ml is not None and runs:
        side_ml = _side_band(acc_ml, fs)
        readable = [_sides_alternate(run, side_ml) for run in runs]  # its transforms before the sums are held
        side_sum = np.empty(side_ml.shape[0] + 1)  # 0, then the cumulative sum, written in place
        side_sum[0] = 0.0
        np.cumsum(side_ml, out=side_sum[1:])
        maxima, _ = signal.find_peaks(x)
        runs = [_take_back_steps(_alternate(run, maxima, side_ml, side_sum, fs), maxima, side_ml, side_sum, fs)
                if sides else run for run, sides in zip(runs, readable)]
        runs = [run for run in runs if run.size >= MIN_BOUT_STEPS]
        del side_ml, side_sum, maxima  # not needed by the impact's filter below
    ics = np.concatenate(runs) if runs else np.zeros(0, dtype=np.int64)
    ics = _refine(acc_v, x, ics, fs)
    renumbered, start = [], 0
    for run in runs:
        renumbered.append(np.arange(start, start + run.size))
        start += run.size
    return ics, renumbered


def detect_initial_contacts(acc_v_m_s2, fs_hz: float, *, acc_ml_m_s2=None) -> np.ndarray:
    """Initial contacts (heel strikes) of walking, from the vertical acceleration of the lower back.

    Direction-independent: forward, backward and treadmill walking give the same events.

    Parameters
    ----------
    acc_v_m_s2 : array_like, shape (N,)
        Vertical acceleration of the lower back, m/s² (gravity included or not: the band-pass
        removes it), e.g. ``align_to_body(...)[0][:, 0]``.
    fs_hz : float
        Sample rate, Hz (at least :data:`~station.analysis.gait_checks.MIN_RATE_HZ`).
    acc_ml_m_s2 : array_like, shape (N,), optional
        Medio-lateral acceleration, m/s² (either sign convention: only its periodicity is used).
        Given, it tells steps from strides in a strongly asymmetric gait, where the weaker leg's
        steps leave no lobe of their own: the medio-lateral sway swings once per stride, so
        events that repeat on one side are strides, and the band's prominent peaks are taken
        instead (see :data:`~station.analysis.gait_sides.SAME_SIDE_CORRELATION`); and consecutive
        contacts on the same side have an extra contact dropped or a missed one taken back (module
        notes, item 3).
        :func:`station.analysis.gait.gait_metrics` always uses it.

    Returns
    -------
    ndarray of float
        Times of the initial contacts, s from the first sample, increasing; only those inside
        walking bouts (at least :data:`MIN_BOUT_STEPS` steps, gaps under :data:`MAX_STEP_S`).

    Raises
    ------
    ValueError
        Bad rate, not 1-D, non-finite values, or shorter than :data:`~station.analysis.gait_checks.MIN_DURATION_S`.

    References
    ----------
    McCamley et al. (2012) Gait Posture 36:316-318; Paraschiv-Ionescu et al. (2020) IEEE EMBC
    4596-4599. See the module notes for the method.

    Examples
    --------
    Ten seconds of walking at 100 steps/min (a step every 0.6 s), standing still before and after:

    >>> fs = 100.0
    >>> t = np.arange(0, 14, 1 / fs)
    >>> walking = (t >= 2) & (t < 12)
    >>> acc_v = 9.81 + np.where(walking, 2.0 * np.cos(2 * np.pi * (t - 2) / 0.6), 0.0)
    >>> ics = detect_initial_contacts(acc_v, fs)
    >>> round(float(np.median(np.diff(ics))), 2)
    0.6
    >>> bool(ics[0] >= 1.9 and ics[-1] <= 12.1)
    True
    """
    fs = _check_rate(fs_hz)
    acc = _check_vertical(acc_v_m_s2, fs)
    ml = None
    if acc_ml_m_s2 is not None:
        ml = _check_vertical(acc_ml_m_s2, fs, "medio-lateral acceleration")
        if ml.shape != acc.shape:
            raise ValueError(f"acc_ml_m_s2 has {ml.shape[0]} samples, acc_v_m_s2 {acc.shape[0]}: one per sample for both")
    ics, _ = _steps_and_bouts(acc, fs, ml)
    return ics / fs


def detect_steps(acc_v_m_s2, fs_hz: float) -> np.ndarray:
    """Every step the lower back shows, in a walking bout or not: to tell a walk of one to three
    steps, which no bout holds, from standing still.

    The lobes of the gait band that count as steps (items 1, 2 and 4 of the module notes: peak at
    least :data:`~station.analysis.gait_band.MIN_STEP_PEAK_M_S2`, at least
    :data:`~station.analysis.gait_band.MIN_STEP_S` apart, moved back to the foot's impact), without
    the bout rule (:data:`MIN_BOUT_STEPS` contacts, breaks under :data:`MAX_STEP_S`) and without the
    side rules, which need a bout's rhythm. Gait measures come from :func:`detect_initial_contacts`;
    this only says whether, and when, the person stepped (a patient who took a few steps and stopped
    is not one who never started).

    Parameters
    ----------
    acc_v_m_s2 : array_like, shape (N,)
        Vertical acceleration of the lower back, m/s² (gravity included or not).
    fs_hz : float
        Sample rate, Hz.

    Returns
    -------
    ndarray of float
        Times of the steps, s from the first sample, increasing.

    Raises
    ------
    ValueError
        As :func:`detect_initial_contacts`.

    Examples
    --------
    Three steps (a step every 0.6 s from 2 s), standing still before and after: too few for a
    walking bout, but three steps.

    >>> fs = 100.0
    >>> t = np.arange(0, 10, 1 / fs)
    >>> stepping = (t >= 2) & (t < 3.8)
    >>> acc_v = 9.81 + np.where(stepping, 2.0 * np.sin(2 * np.pi * (t - 2) / 0.6), 0.0)
    >>> detect_initial_contacts(acc_v, fs).size, detect_steps(acc_v, fs).size
    (0, 3)
    """
    fs = _check_rate(fs_hz)
    acc = _check_vertical(acc_v_m_s2, fs)
    x = _band(acc, fs)
    idx, height = _lobe_peaks(x)
    strong = height >= MIN_STEP_PEAK_M_S2
    idx = _merge_close(idx[strong], height[strong], fs)
    return _refine(acc, x, idx, fs) / fs


def walking_bouts(acc_body_m_s2, fs_hz: float) -> list[tuple[float, float]]:
    """Walking bouts: from the first to the last initial contact of each, s.

    Parameters
    ----------
    acc_body_m_s2 : array_like, shape (N, 3)
        Body-frame acceleration (v, ap, ml), m/s² (:func:`station.analysis.imu_frame.align_to_body`).
    fs_hz : float
        Sample rate, Hz.

    Returns
    -------
    list of (float, float)
        ``(start_s, end_s)`` of each bout, s from the first sample, in time order.

    Raises
    ------
    ValueError
        Bad shape, rate or values (see :func:`detect_initial_contacts`).

    Examples
    --------
    Two walks of 8 s at a step every 0.55 s, separated by 6 s of standing:

    >>> fs = 100.0
    >>> t = np.arange(0, 26, 1 / fs)
    >>> walking = ((t >= 2) & (t < 10)) | ((t >= 16) & (t < 24))
    >>> acc = np.zeros((t.size, 3))
    >>> acc[:, 0] = 9.81 + np.where(walking, 2.0 * np.cos(2 * np.pi * t / 0.55), 0.0)
    >>> [(round(a), round(b)) for a, b in walking_bouts(acc, fs)]
    [(2, 10), (16, 24)]
    """
    fs = _check_rate(fs_hz)
    acc = _check_body(acc_body_m_s2, fs)
    ics, bouts = _steps_and_bouts(acc[:, 0], fs, acc[:, 2])
    return [(float(ics[b[0]] / fs), float(ics[b[-1]] / fs)) for b in bouts]


def _given_contacts(contacts_s, n: int, fs: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Initial contacts given by the caller (s from the first sample) as sample indices, grouped
    into bouts as detected ones are (breaks longer than :data:`MAX_STEP_S`, at least
    :data:`MIN_BOUT_STEPS` contacts)."""
    t = np.asarray(contacts_s, dtype=np.float64)
    if t.ndim != 1 or not np.isfinite(t).all():
        raise ValueError("initial_contacts_s must be a 1-D list of finite times in s from the first sample")
    idx = np.unique(np.round(t * fs).astype(np.int64))
    if idx.size and (idx[0] < 0 or idx[-1] >= n):
        raise ValueError(f"initial_contacts_s must lie inside the recording (0 to {n / fs:.2f} s)")
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > MAX_STEP_S * fs) + 1) if idx.size else []
    runs = [r for r in runs if r.size >= MIN_BOUT_STEPS]
    ics = np.concatenate(runs) if runs else np.zeros(0, dtype=np.int64)
    bouts, start = [], 0
    for r in runs:
        bouts.append(np.arange(start, start + r.size))
        start += r.size
    return ics, bouts
