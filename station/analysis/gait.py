"""Gait from a lower-back IMU: initial contacts, walking bouts and the gait keys of DESIGN.md §8.

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
3. **Strides are not steps**: in a strongly asymmetric gait (a hemiparetic leg that loads the
   trunk half as much) the weaker leg's steps may leave no lobe of their own, so one lobe per
   stride is found. The medio-lateral acceleration swings once per stride: consecutive steps
   anti-correlate it, events of one leg correlate it. When the detected events of a bout correlate
   it, every prominent peak of the band (prominence :data:`MIN_STEP_PEAK_M_S2`) is taken instead.
   **Steps alternate sides** (McCamley et al. 2012's left/right rule; Ullrich et al. 2021's
   band :data:`SIDE_BAND_HZ`): the trunk sways toward the stance leg, so the medio-lateral
   acceleration averaged over the step after a contact has the stance side's sign, and
   consecutive steps have opposite signs. Two consecutive contacts on the same side are not two
   steps: when one side is doubtful (:data:`SIDE_CONFIDENCE`: a contact inside a stance averages
   two stances) and dropping it leaves one step, it is an extra contact and is dropped; when both
   are trusted, a step between them was missed, and the band's peak nearest the sway's change of
   side between them is taken back. **Steps come at the step period**: an interval between two
   trusted contacts that holds three or more of the bout's median steps (rounded to the parity
   the two sides demand: odd apart on opposite sides, even on the same side) has lost that many
   steps less one (a turn's or a shuffle's weak steps in a row), and each is taken back at the
   band's peak within half a step of its place. Each contact taken back this way must itself have
   a trusted side of the expected sign (the trunk swayed onto that leg), so standing still inside
   a bout, which leaves no sway, gets no steps (the single missed step above is sought only in
   intervals shorter than three median steps); a pause longer than :data:`MAX_STEP_S` has ended
   the bout anyway. Only the sign's alternation is used, never which side is
   left, so the mounting's sign and the walking direction do not matter. McCamley reads the side
   from the yaw rate at the contact; the medio-lateral acceleration over the step needs no
   gyroscope and, measured once on the shared recordings' matched contacts, gives the reference's
   side for 100 % of the straight walks' and 94-100 % of the daily activities' contacts (per
   person), where the yaw rate at the contact gives 89-100 % and 66-90 %.
4. **Impact**: each step's contact is then moved back from the lobe's peak to the foot's impact,
   the steepest rise of the vertical acceleration (low-passed at :data:`IMPACT_CUTOFF_HZ`) between
   the trough before the peak and the peak. This is the derivative step of Paraschiv-Ionescu's
   variant (a Gaussian-derivative wavelet) taken at a band wide enough not to smear the impact.
5. **Temporal keys** from the initial contacts of each bout: step times are the intervals between
   consecutive contacts that lie within :data:`STEP_TIME_RANGE` of the bout's median (others hold
   a missed or split contact, or a hesitation); stride times for variability span two such
   steps. Cadence is the mean of 120 / stride time over every stride of the bout (contact to the
   next but one) of :data:`STRIDE_TIME_RANGE_S`, 0.2-3 s: Mobilise-D's stride selection (mobgap
   ``StrideSelection``) and the stride-by-stride definition of its reference system (INDIP, Salis
   et al. 2023; on the shared straight walks this definition on the reference's own contacts
   reproduces the reference cadence exactly). A hesitation inside a bout lowers it, as it lowers
   the reference's; variability is the coefficient of variation (SD / mean, %).
6. **Regularity and symmetry** (Moe-Nilssen & Helbostad 2004): the unbiased autocorrelation of the
   vertical acceleration of each bout (mean removed), normalised by the zero-lag value; its peak
   near one step lag is ``step_regularity``, near two step lags ``stride_regularity``;
   ``step_symmetry`` is their ratio (Tura et al. 2010: 1 means both steps alike). Bouts are
   averaged weighted by their length.
7. **Step length and speed** (Zijlstra & Hof 2003): the vertical displacement of the trunk is the
   doubly integrated vertical acceleration (Soltani et al. 2021 processing: acceleration
   high-passed at 0.1 Hz, velocity at 1 Hz, 4th-order zero-phase Butterworth, to remove drift);
   with h the trunk's rise during a step and l the sensor height, the inverted pendulum gives step
   length ``K·2·sqrt(2·l·h − h²)``. In the pendulum the trunk is lowest at each contact (double
   support) and highest at mid-stance, so its rise from one contact and its fall to the next are
   the same h. Zijlstra & Hof (and Mobilise-D's ``SlZijlstra``) take h as the displacement's range
   between the two contacts; where the trunk's height at consecutive contacts differs (slow,
   shuffling and turning steps rock the trunk once per stride, sit and stand, step up), that range
   adds the difference to the pendulum's rise. h is therefore the step's top less the *higher* of
   its two lows (the smaller of rise and fall: the part of the excursion that is a pendulum's), each
   low being the lowest point between the tops of the steps either side of a contact. A walk's
   first and last steps are measured by the side facing the other steps (the other side is
   standing). For steady steps rise and fall agree and h is the range, as in the original model:
   on the shared straight walks the factor that fits best this way is 1.16 against Mobilise-D's
   1.147 (measured, not used). The bare model underestimates step length (the trunk is not a point
   mass on a stiff leg, and double support adds length), so a correction factor K multiplies it:
   Zijlstra & Hof used 1.25 with their processing; with the Soltani processing we use Mobilise-D's
   K = 4.587/4 = 1.147 (:data:`PENDULUM_CORRECTION`, published with mobgap's ``SlZijlstra``,
   trained on the MS Project cohort, none of whom is in the shared data). Walking speed is the mean
   over strides of (two step lengths) / stride time.

Undefined values (no walking, too few steps, no sensor height) are ``None``, never NaN.

References
----------
McCamley J, Donati M, Grimpampi E, Mazzà C (2012) An enhanced estimate of initial contact and
final contact instants of time using lower trunk inertial sensor data. Gait Posture 36:316-318.
Paraschiv-Ionescu A, Soltani A, Aminian K (2020) Real-world speed estimation using single trunk
IMU: methodological challenges for impaired gait patterns. Proc IEEE EMBC 2020:4596-4599.
Zijlstra W, Hof AL (2003) Assessment of spatio-temporal gait parameters from trunk accelerations
during human walking. Gait Posture 18(2):1-10.
Moe-Nilssen R, Helbostad JL (2004) Estimation of gait cycle characteristics by trunk
accelerometry. J Biomech 37:121-126.
Tura A, Raggi M, Rocchi L, Cutti AG, Chiari L (2010) Gait symmetry and regularity in transfemoral
amputees assessed by trunk accelerations. J Neuroeng Rehabil 7:4.
Kluge F, Del Din S, Cereatti A, et al. (2021) Consensus based framework for digital mobility
monitoring. PLoS One 16:e0256541.
Soltani A, Aminian K, Mazzà C, et al. (2021) Algorithms for walking speed estimation using a
lower-back-worn inertial sensor: a cross-validation on speed ranges. IEEE TNSRE 29:1955-1964.
Ullrich M, Küderle A, Reggi L, Cereatti A, Eskofier BM, Kluge F (2021) Machine learning-based
distinction of left and right foot contacts in lower back inertial sensor gait data. Annu Int Conf
IEEE Eng Med Biol Soc 2021 (IEEE Xplore 9630653; as in mobgap ``LrcMcCamley``: 0.5-2 Hz, 4th order).
Salis F, Bertuletti S, Bonci T, et al. (2023) A multi-sensor wearable system for the assessment of
diseased gait in real-world conditions (INDIP). Front Bioeng Biotechnol 11:1143248.
Küderle A, Ullrich M, Micó-Amigo ME, et al. (2024) mobgap: the Mobilise-D gait analysis pipeline
(github.com/mobilise-d/mobgap; ``SlZijlstra`` step-length scaling factor 4.587/4; ``StrideSelection``
preset ``mobilised``: strides of 0.2-3.0 s; ``WbAssembly``: a break of at most 3 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
RISE_MAX_S = 0.6
"""Longest rise of the vertical acceleration from its trough to the step's peak, s (half of a
1.2 s step, the step time at 50 steps/min)."""
MIN_STEP_S = 0.25
"""Shortest step, s (cadence 240 steps/min, beyond the fastest walking)."""
MAX_STEP_S = 3.0
"""Longest interval between two initial contacts inside one bout, s: a longer break ends the
walking bout (the Mobilise-D consensus, Kluge et al. 2021). Shorter hesitations stay inside the
bout but their intervals are not steps (:data:`STEP_TIME_RANGE`)."""
SAME_SIDE_CORRELATION = 0.2
"""Medio-lateral autocorrelation at the detected step interval above which the detected events
are strides of one leg, not alternating steps (real steps give about −0.1 to −0.8)."""
SIDE_BAND_HZ = (0.5, 2.0)
"""Band of the medio-lateral acceleration that tells the side of a step, Hz: the smoothing
band-pass Ullrich et al. (2021) put on McCamley's left/right rule (mobgap ``LrcMcCamley``, 4th
order, 0.5-2 Hz). It keeps the stride's swing from one stance leg to the other and drops the slow
drift of turns and leaning, and the impacts."""
SIDE_CONFIDENCE = 0.5
"""A contact's side is trusted when the medio-lateral acceleration averaged over the step after it
(in :data:`SIDE_BAND_HZ`) is at least this fraction of the bout's median of that average. A
contact detected inside a stance (an extra one) averages over the end of one stance and the start
of the next, so its value is near zero; a contact at a step's start averages one stance. A round
value, not a published one: on the shared recordings 0.3 to 0.7 give the same gains for the
alternation rule alone (README, "Steps alternate sides"); with the steps taken back at the step
period, 0.4 to 0.6 do (README, "Steps at the step period")."""
MIN_BOUT_STEPS = 4
"""Fewest initial contacts of a walking bout: two strides (Kluge et al. 2021)."""
PAUSE_MIN_S = 3.0
"""A gap without steps of at least this length is a pause (the Mobilise-D break of a walking bout)."""
STEP_TIME_RANGE = (0.6, 1.6)
"""A step time counts for cadence, variability, length and speed when it lies within this range
of its bout's median step time; outside, the interval holds a missed contact (about 2×) or a
split one (about 0.5×). Even markedly asymmetric gait (hemiparesis) keeps consecutive step times
within about ±40 % of their median."""
STRIDE_TIME_RANGE_S = (0.2, 3.0)
"""Strides (initial contact to the next but one) that count for cadence, s: Mobilise-D's stride
selection, duration 0.2-3.0 s (mobgap ``StrideSelection``, preset ``mobilised``, the rules of its
walking-bout assembly, built on the consensus of Kluge et al. 2021 and normative data; Küderle et
al. 2024). Cadence is the mean of 120 / stride time over every such stride of a bout, as the
Mobilise-D reference system (INDIP) reports it: a hesitation inside a bout lowers it, as it lowers
the reference's."""
PENDULUM_CORRECTION = 4.587 / 4
"""Correction factor on the inverted-pendulum step length: 1.147, Mobilise-D's factor for the
Zijlstra & Hof model with the Soltani et al. (2021) processing (mobgap ``SlZijlstra``, trained on
the MS Project cohort). Zijlstra & Hof (2003) reported a mean factor of about 1.25 for their own
processing (drift removed at 0.1 Hz only, which leaves a larger excursion); the factor belongs to
the processing, not to the person."""
DRIFT_CUTOFF_HZ = 0.1
"""High-pass cut-off of the vertical acceleration before integration, Hz."""
VELOCITY_CUTOFF_HZ = 1.0
"""High-pass cut-off of the vertical velocity before the second integration, Hz (Soltani 2021)."""
MIN_RATE_HZ = 20.0
"""Lowest sample rate accepted, Hz (the gait band must lie well below Nyquist)."""
MIN_DURATION_S = 2.0
"""Shortest recording accepted, s."""
SENSOR_HEIGHT_RANGE_M = (0.3, 1.5)
"""Plausible heights of a lower-back sensor above the ground, m."""

GAIT_KEYS: tuple[str, ...] = (
    "steps",
    "duration_s",
    "cadence_steps_min",
    "step_time_s",
    "step_time_cv_pct",
    "stride_time_cv_pct",
    "step_regularity",
    "stride_regularity",
    "step_symmetry",
    "step_length_m",
    "walking_speed_m_s",
    "initial_contacts_s",
)
"""Every gait key of DESIGN.md §8, in output order."""

MINUTE_KEYS: tuple[str, ...] = (
    "minute",
    "start_s",
    "end_s",
    "walking_s",
    "steps",
    "cadence_steps_min",
    "step_time_s",
    "step_time_cv_pct",
    "stride_time_cv_pct",
    "step_length_m",
    "walking_speed_m_s",
    "pauses",
    "pause_s",
)
"""Keys of each row of :func:`gait_by_minute`."""


# ----------------------------------------------------------------------------------------------
# validation


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


# ----------------------------------------------------------------------------------------------
# events


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
    and the peak."""
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
        out[k] = trough + int(np.argmax(jerk[trough : c + 1]))
        previous = int(c)
    return out


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


def _same_side(ml_band: np.ndarray, events: np.ndarray) -> bool:
    """Whether consecutive events repeat on the same side: the medio-lateral acceleration, which
    swings once per stride, is positively correlated at the events' interval (consecutive steps
    alternate sides and anti-correlate it)."""
    lag = int(np.median(np.diff(events)))
    x = ml_band[int(events[0]) : int(events[-1])]
    if lag < 2 or x.shape[0] < 3 * lag:
        return False
    x = x - x.mean()
    ad = _unbiased_autocorrelation(x, lag)
    return bool(np.isfinite(ad[lag]) and ad[lag] > SAME_SIDE_CORRELATION)


def _side_band(acc_ml: np.ndarray, fs: float) -> np.ndarray:
    sos = signal.butter(FILTER_ORDER, SIDE_BAND_HZ, btype="bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, acc_ml - acc_ml.mean())


def _step_sides(side_sum: np.ndarray, events: np.ndarray, step: int) -> np.ndarray:
    """Mean of the side band of the medio-lateral acceleration over ``step`` samples after each
    event (``side_sum``: its cumulative sum, starting with 0): its sign is the side of the stance
    leg (either convention), its size how squarely the event sits at the start of one stance."""
    start = np.asarray(events, dtype=np.int64)
    stop = np.minimum(start + step, side_sum.shape[0] - 1)
    return (side_sum[stop] - side_sum[start]) / np.maximum(stop - start, 1)


def _sides_alternate(run: np.ndarray, side_ml: np.ndarray) -> bool:
    """Whether a bout's sides can be read: at least three contacts and a medio-lateral
    acceleration that alternates at the median step interval (autocorrelation below
    ``-SAME_SIDE_CORRELATION``, the mirror of :func:`_same_side`)."""
    if run.size < 3:
        return False
    step = int(np.median(np.diff(run)))
    x = side_ml[int(run[0]) : int(run[-1])]
    if step < 2 or x.shape[0] < 3 * step:
        return False
    ad = _unbiased_autocorrelation(x - x.mean(), step)
    return bool(np.isfinite(ad[step]) and ad[step] < -SAME_SIDE_CORRELATION)


def _contact_sides(run: np.ndarray, side_sum: np.ndarray) -> tuple[int, np.ndarray, float]:
    """The bout's median step (samples), each contact's side (:func:`_step_sides`) and the
    smallest trusted side's size (:data:`SIDE_CONFIDENCE` of the bout's median)."""
    step = max(int(np.median(np.diff(run))), 1)
    sides = _step_sides(side_sum, run, step)
    return step, sides, SIDE_CONFIDENCE * float(np.median(np.abs(sides)))


def _alternate(run: np.ndarray, maxima: np.ndarray, side_ml: np.ndarray, side_sum: np.ndarray, fs: float
               ) -> np.ndarray:
    """Make a bout's contacts alternate sides (McCamley et al. 2012's left/right rule: the trunk
    sways toward the stance leg, so consecutive steps sit on opposite sides).

    Each contact's side is the sign of the medio-lateral acceleration (:data:`SIDE_BAND_HZ`)
    averaged over one median step after it. Two consecutive contacts on the same side are not two
    steps:

    * one of them is *extra* when one side is doubtful (below :data:`SIDE_CONFIDENCE`): the
      doubtful one, detected inside a stance, is dropped, provided it split one step (the pair, and
      the contacts either side of it, lie within a step's longest, the upper bound of
      :data:`STEP_TIME_RANGE` times the median step);
    * a step is *missing* between them when both sides are trusted and the interval holds two
      steps (at least twice the lower bound of :data:`STEP_TIME_RANGE`, fewer than three median
      steps; longer intervals are :func:`_take_back_steps`'s): the peak of the gait band
      nearest the medio-lateral sway's change of side between them (the sway crosses the midline
      near a contact), with the other side and at least :data:`MIN_STEP_S` from both, is taken.

    The caller applies it only to bouts whose sides are readable (:func:`_sides_alternate`).
    ``run`` and ``maxima`` (every local maximum of the gait band) are
    sample indices, ``side_sum`` the cumulative sum of ``side_ml`` (starting with 0); returns the
    bout's contacts, increasing.
    """
    step, sides, trusted = _contact_sides(run, side_sum)
    longest = STEP_TIME_RANGE[1] * step
    keep = list(range(run.size))
    changed = True
    while changed:
        changed = False
        for k in range(len(keep) - 1):
            i, j = keep[k], keep[k + 1]
            if (np.sign(sides[i]) != np.sign(sides[j]) or min(abs(sides[i]), abs(sides[j])) >= trusted
                    or run[j] - run[i] >= longest):
                continue
            drop = k if abs(sides[i]) < abs(sides[j]) else k + 1
            # an extra contact splits one step: without it, its neighbours are one step apart
            if 0 < drop < len(keep) - 1 and run[keep[drop + 1]] - run[keep[drop - 1]] > longest:
                continue
            del keep[drop]
            changed = True
            break
    run, sides = run[keep], sides[keep]
    peaks = maxima[(maxima > run[0]) & (maxima < run[-1])]
    shortest = MIN_STEP_S * fs
    out = [int(run[0])]
    for k in range(run.size - 1):
        a, b = int(run[k]), int(run[k + 1])
        side = np.sign(sides[k])
        if (side == np.sign(sides[k + 1]) and min(abs(sides[k]), abs(sides[k + 1])) >= trusted
                and 2 * STEP_TIME_RANGE[0] * step <= b - a < 3 * step):  # two steps (more: _take_back_steps)
            candidates = peaks[(peaks > a + shortest) & (peaks < b - shortest)]
            if candidates.size:
                candidates = candidates[np.sign(_step_sides(side_sum, candidates, step)) == -side]
            if candidates.size:
                s = np.sign(side_ml[a:b])
                change = np.flatnonzero((s[:-1] == side) & (s[1:] != side)) + a + 1
                target = change[np.argmin(np.abs(change - (a + b) / 2))] if change.size else (a + b) / 2
                out.append(int(candidates[np.argmin(np.abs(candidates - target))]))
        out.append(b)
    return np.asarray(out, dtype=np.int64)


def _take_back_steps(run: np.ndarray, maxima: np.ndarray, side_ml: np.ndarray, side_sum: np.ndarray, fs: float
                     ) -> np.ndarray:
    """Take back the steps of an interval that holds three or more of them (the step period:
    the bout's own median step time).

    Turning and shuffling steps may each load the trunk too little for a lobe of their own, so
    two or more consecutive steps go missing and the interval between the contacts either side
    spans several steps. The number of steps it holds is its length over the bout's median step,
    rounded to the parity the sides demand (contacts on opposite sides are an odd number of
    steps apart, on the same side an even number; :func:`_alternate` handles two). Where both
    ends have trusted sides and it holds ``n >= 3`` steps, each of the ``n - 1`` missing contacts
    is sought at its expected place, ``j / n`` of the way: the gait band's local maximum nearest
    it, within half a step of it, at least :data:`MIN_STEP_S` after the contact before, whose own
    side is the expected one (steps alternate) and trusted (at least :data:`SIDE_CONFIDENCE` of
    the bout's median: the trunk did sway onto that leg). A place without such a maximum stays
    empty. Standing still between two contacts leaves no medio-lateral sway, so nothing is taken
    back there; a pause longer than :data:`MAX_STEP_S` has already ended the bout. The caller
    applies it only to bouts whose sides are readable (:func:`_sides_alternate`); ``run`` and
    ``maxima`` are sample indices; returns the bout's contacts, increasing.
    """
    if run.size < 2:
        return run
    step, sides, trusted = _contact_sides(run, side_sum)
    peaks = maxima[(maxima > run[0]) & (maxima < run[-1])]
    peak_sides = _step_sides(side_sum, peaks, step)
    sure = np.abs(peak_sides) >= trusted
    peaks, peak_sides = peaks[sure], peak_sides[sure]
    shortest = MIN_STEP_S * fs
    out = [int(run[0])]
    for k in range(run.size - 1):
        a, b = int(run[k]), int(run[k + 1])
        if min(abs(sides[k]), abs(sides[k + 1])) >= trusted:
            ratio = (b - a) / step
            n = int(round(ratio))
            if (np.sign(sides[k]) == np.sign(sides[k + 1])) != (n % 2 == 0):
                n = n + 1 if ratio > n else n - 1
            last = a
            for j in range(1, n if n >= 3 else 1):
                place = a + j * (b - a) / n
                fits = ((np.sign(peak_sides) == np.sign(sides[k]) * (-1) ** j)
                        & (np.abs(peaks - place) <= (b - a) / (2 * n)) & (peaks >= last + shortest)
                        & (peaks <= b - shortest))
                if fits.any():
                    last = int(peaks[fits][np.argmin(np.abs(peaks[fits] - place))])
                    out.append(last)
        out.append(b)
    return np.asarray(out, dtype=np.int64)


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
    if runs:
        peaks, props = signal.find_peaks(x, prominence=MIN_STEP_PEAK_M_S2)
        runs = [_recover_missed(run, peaks, props["prominences"]) for run in runs]
    if acc_ml is not None and runs:
        side_ml = _side_band(acc_ml, fs)
        side_sum = np.concatenate(([0.0], np.cumsum(side_ml)))
        maxima, _ = signal.find_peaks(x)
        runs = [_take_back_steps(_alternate(run, maxima, side_ml, side_sum, fs), maxima, side_ml, side_sum, fs)
                if _sides_alternate(run, side_ml) else run for run in runs]
        runs = [run for run in runs if run.size >= MIN_BOUT_STEPS]
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
        Sample rate, Hz (at least :data:`MIN_RATE_HZ`).
    acc_ml_m_s2 : array_like, shape (N,), optional
        Medio-lateral acceleration, m/s² (either sign convention: only its periodicity is used).
        Given, it tells steps from strides in a strongly asymmetric gait, where the weaker leg's
        steps leave no lobe of their own: the medio-lateral sway swings once per stride, so
        events that repeat on one side are strides, and the band's prominent peaks are taken
        instead (see :data:`SAME_SIDE_CORRELATION`); and consecutive contacts on the same side
        have an extra contact dropped or a missed one taken back (module notes, item 3).
        :func:`gait_metrics` always uses it.

    Returns
    -------
    ndarray of float
        Times of the initial contacts, s from the first sample, increasing; only those inside
        walking bouts (at least :data:`MIN_BOUT_STEPS` steps, gaps under :data:`MAX_STEP_S`).

    Raises
    ------
    ValueError
        Bad rate, not 1-D, non-finite values, or shorter than :data:`MIN_DURATION_S`.

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


# ----------------------------------------------------------------------------------------------
# measures


def _cv_pct(values: np.ndarray) -> float | None:
    if values.size < 2:
        return None
    mean = float(values.mean())
    if mean <= 0:
        return None
    return float(100.0 * values.std(ddof=1) / mean)


def _unbiased_autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Moe-Nilssen & Helbostad (2004): Ad(m) = [Σ x_i x_(i+m) / (N − m)] / [Σ x_i² / N]."""
    n = x.shape[0]
    nfft = 1 << int(math.ceil(math.log2(2 * n)))
    spec = np.fft.rfft(x, nfft)
    acf = np.fft.irfft(spec * np.conj(spec), nfft)[: max_lag + 1]
    zero = acf[0] / n
    if zero <= 0:
        return np.full(max_lag + 1, np.nan)
    lags = np.arange(max_lag + 1)
    return (acf / (n - lags)) / zero


def _regularity(acc_v: np.ndarray, start: int, stop: int, step_samples: float) -> tuple[float, float] | None:
    """(step, stride) regularity of one bout, or None when the bout is too short."""
    x = acc_v[start:stop]
    x = x - x.mean()
    stride = int(round(2 * step_samples))
    if x.shape[0] < 2 * stride or stride < 4:
        return None
    ad = _unbiased_autocorrelation(x, int(round(2.4 * step_samples)))
    if not np.isfinite(ad).all():
        return None
    lo1, hi1 = int(round(0.6 * step_samples)), int(round(1.4 * step_samples))
    lo2, hi2 = int(round(1.6 * step_samples)), int(round(2.4 * step_samples))
    return float(ad[lo1 : hi1 + 1].max()), float(ad[lo2 : hi2 + 1].max())


def _vertical_displacement(acc_v: np.ndarray, fs: float) -> np.ndarray:
    """Vertical trunk displacement, m (Soltani et al. 2021 processing of Zijlstra & Hof's model):
    acceleration high-passed at :data:`DRIFT_CUTOFF_HZ`, integrated, the velocity high-passed at
    :data:`VELOCITY_CUTOFF_HZ`, integrated again."""
    sos_a = signal.butter(4, DRIFT_CUTOFF_HZ, btype="highpass", fs=fs, output="sos")
    sos_v = signal.butter(4, VELOCITY_CUTOFF_HZ, btype="highpass", fs=fs, output="sos")
    a = signal.sosfiltfilt(sos_a, acc_v - acc_v.mean())
    v = signal.sosfiltfilt(sos_v, np.cumsum(a) / fs)
    return np.cumsum(v) / fs


@dataclass
class _Walk:
    """Everything the public functions report, computed once."""

    fs: float
    ics: np.ndarray  # sample indices of initial contacts in bouts
    bouts: list[np.ndarray]  # positions into ics
    steps: list[tuple[int, int]]  # valid steps: (i, i + 1) positions into ics, same bout
    step_length_m: dict[tuple[int, int], float] | None  # per valid step, or None without height


def _valid_steps(ics: np.ndarray, bouts: list[np.ndarray]) -> list[tuple[int, int]]:
    """Intervals between consecutive contacts of a bout that are single steps: within
    :data:`STEP_TIME_RANGE` of the bout's median step time (others are a missed or split step)."""
    lo, hi = STEP_TIME_RANGE
    steps = []
    for b in bouts:
        times = np.diff(ics[b])
        median = float(np.median(times))
        for k, i in enumerate(b[:-1]):
            if lo * median <= times[k] <= hi * median:
                steps.append((int(i), int(i) + 1))
    return steps


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


def _analyse(acc_body: np.ndarray, fs: float, height: float | None, contacts_s=None) -> _Walk:
    acc_v = acc_body[:, 0]
    if contacts_s is None:
        ics, bouts = _steps_and_bouts(acc_v, fs, acc_body[:, 2])
    else:
        ics, bouts = _given_contacts(contacts_s, acc_v.shape[0], fs)
    walk = _Walk(fs=fs, ics=ics, bouts=bouts, steps=_valid_steps(ics, bouts), step_length_m=None)
    if height is not None and walk.steps:
        z = _vertical_displacement(acc_v, fs)
        lengths: dict[tuple[int, int], float] = {}
        for b in bouts:
            per_step = _pendulum_lengths(z, ics[b], height)
            lengths.update({(int(i), int(i) + 1): float(v) for i, v in zip(b[:-1], per_step)})
        walk.step_length_m = {s: lengths[s] for s in walk.steps}
    return walk


def _pendulum_rises(z: np.ndarray, contacts: np.ndarray) -> np.ndarray:
    """The pendulum's rise h of each step between consecutive ``contacts`` (sample indices,
    increasing, at least two), m: the step's highest point of the vertical displacement ``z`` less
    the higher of the lows at its two contacts (module notes, item 7). The low at a contact is the
    lowest point between the tops of the steps either side of it, so it does not hang on the
    contact's exact timing. A walk's first step rises from standing and its last one sinks into
    standing: only their side facing the other steps is a pendulum phase, so the first step is
    measured by its fall, the last by its rise (a single step by its whole range)."""
    tops = np.array([a + int(np.argmax(z[a : b + 1])) for a, b in zip(contacts[:-1], contacts[1:])], dtype=np.int64)
    bounds = np.concatenate(([contacts[0]], tops, [contacts[-1]]))
    lows = np.array([float(z[a : b + 1].min()) for a, b in zip(bounds[:-1], bounds[1:])])
    if tops.size == 1:
        return np.array([max(0.0, float(z[tops[0]]) - float(lows.min()))])
    before, after = lows[:-1].copy(), lows[1:].copy()
    before[0] = after[0]
    after[-1] = before[-1]
    return np.maximum(0.0, z[tops] - np.maximum(before, after))


def _pendulum_lengths(z: np.ndarray, contacts: np.ndarray, height: float) -> np.ndarray:
    """Step length of each step between consecutive ``contacts`` (sample indices, increasing), m."""
    if contacts.size < 2:
        return np.zeros(0)
    h = np.minimum(_pendulum_rises(z, contacts), height)  # 2lh − h² is largest at h = l
    return PENDULUM_CORRECTION * 2.0 * np.sqrt(np.maximum(0.0, 2.0 * height * h - h * h))


def pendulum_step_lengths(acc_v_m_s2, fs_hz: float, initial_contacts_s, sensor_height_m: float) -> np.ndarray:
    """Length of each step between consecutive initial contacts: the inverted pendulum of Zijlstra
    & Hof (2003) with the Soltani et al. (2021) processing and :data:`PENDULUM_CORRECTION`, the
    pendulum's rise being the smaller of the trunk's rise and fall in the step, exactly as
    :func:`gait_metrics` computes ``step_length_m`` for the contacts of one bout (module notes,
    item 7). The contacts are taken as one walk: its first and last steps are measured by their
    side facing the other steps.

    Parameters
    ----------
    acc_v_m_s2 : array_like, shape (N,)
        Vertical acceleration of the lower back, m/s² (gravity included or not), e.g.
        ``align_to_body(...)[0][:, 0]``.
    fs_hz : float
        Sample rate, Hz.
    initial_contacts_s : array_like, shape (M,)
        Initial contacts, s from the first sample, increasing, inside the recording.
    sensor_height_m : float
        Height of the sensor above the ground when standing, m.

    Returns
    -------
    ndarray, shape (M - 1,)
        Step lengths, m (empty for fewer than two contacts).

    Raises
    ------
    ValueError
        Bad rate, signal, height, or contacts that are not increasing times inside the recording.

    References
    ----------
    Zijlstra & Hof (2003) Gait Posture 18(2):1-10; Soltani et al. (2021) IEEE TNSRE 29:1955-1964.

    Examples
    --------
    A trunk rising and falling 4 cm peak to peak twice a second (steps of 0.5 s), sensor at 0.95 m:

    >>> fs = 100.0
    >>> t = np.arange(0, 10, 1 / fs)
    >>> acc_v = 9.81 + 0.02 * (2 * np.pi * 2) ** 2 * np.cos(2 * np.pi * 2 * t)
    >>> lengths = pendulum_step_lengths(acc_v, fs, np.arange(2, 8.01, 0.5), 0.95)
    >>> lengths.shape, bool(np.all((lengths > 0.6) & (lengths < 0.7)))
    ((12,), True)
    """
    fs = _check_rate(fs_hz)
    acc = _check_vertical(acc_v_m_s2, fs)
    height = _check_height(sensor_height_m)
    if height is None:
        raise ValueError("sensor_height_m is needed for step lengths (the pendulum length, m)")
    t = np.asarray(initial_contacts_s, dtype=np.float64)
    if t.ndim != 1 or not np.isfinite(t).all():
        raise ValueError("initial_contacts_s must be a 1-D list of finite times in s from the first sample")
    idx = np.round(t * fs).astype(np.int64)
    if idx.size and (idx[0] < 0 or idx[-1] >= acc.shape[0] or np.any(np.diff(idx) <= 0)):
        raise ValueError(
            f"initial_contacts_s must be increasing times inside the recording (0 to {acc.shape[0] / fs:.2f} s)"
        )
    if idx.size < 2:
        return np.zeros(0)
    z = _vertical_displacement(acc, fs)
    return _pendulum_lengths(z, idx, height)


def _cadence_strides(walk: _Walk) -> list[tuple[int, int]]:
    """Every stride of every bout whose time lies within :data:`STRIDE_TIME_RANGE_S`: (i, i + 2),
    positions into ``walk.ics``."""
    lo, hi = (v * walk.fs for v in STRIDE_TIME_RANGE_S)
    strides = []
    for b in walk.bouts:
        times = walk.ics[b[2:]] - walk.ics[b[:-2]]
        starts = b[:-2][(times >= lo) & (times <= hi)].tolist()
        strides.extend(zip(starts, [i + 2 for i in starts]))
    return strides


def _temporal(walk: _Walk, steps: list[tuple[int, int]], strides: list[tuple[int, int]], n_contacts: int) -> dict:
    """Temporal keys from the valid ``steps`` (:func:`_valid_steps`) and the cadence ``strides``
    (:func:`_cadence_strides`) chosen by the caller. Cadence is the mean of 120 / stride time over
    ``strides`` (the reference's definition); step time and the variabilities use only valid steps
    and strides of two valid steps, so that a missed or split contact does not move them."""
    fs = walk.fs
    ics = walk.ics
    step_times = np.array([(ics[j] - ics[i]) / fs for i, j in steps])
    starts = {i for i, _ in steps}
    stride_times = np.array([(ics[i + 2] - ics[i]) / fs for i in sorted(starts) if (i + 1) in starts])
    cadence_strides = np.array([(ics[j] - ics[i]) / fs for i, j in strides])
    out: dict = {
        "steps": int(n_contacts),
        "cadence_steps_min": None,
        "step_time_s": None,
        "step_time_cv_pct": _cv_pct(step_times),
        "stride_time_cv_pct": _cv_pct(stride_times),
    }
    if step_times.size:
        out["step_time_s"] = float(step_times.mean())
    if cadence_strides.size:
        out["cadence_steps_min"] = float(np.mean(120.0 / cadence_strides))
    elif step_times.size:
        out["cadence_steps_min"] = float(60.0 / step_times.mean())
    return out


def _spatial(walk: _Walk, steps: list[tuple[int, int]]) -> dict:
    if walk.step_length_m is None or not steps:
        return {"step_length_m": None, "walking_speed_m_s": None}
    lengths = np.array([walk.step_length_m[s] for s in steps])
    starts = {i for i, _ in steps}
    stride_speeds = [
        (walk.step_length_m[(i, i + 1)] + walk.step_length_m[(i + 1, i + 2)]) * walk.fs / (walk.ics[i + 2] - walk.ics[i])
        for i in sorted(starts) if (i + 1) in starts
    ]
    if stride_speeds:
        speed = float(np.mean(stride_speeds))
    else:
        times = np.array([(walk.ics[j] - walk.ics[i]) / walk.fs for i, j in steps])
        speed = float(lengths.sum() / times.sum())
    return {"step_length_m": float(lengths.mean()), "walking_speed_m_s": speed}


def gait_metrics(
    acc_body_m_s2, fs_hz: float, *, sensor_height_m: float | None = None, window_s: tuple[float, float] | None = None,
    initial_contacts_s=None,
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
            :data:`STEP_TIME_RANGE` of the bout's median), s;
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
        ``sensor_height_m``, a ``window_s`` that is not a time span inside the recording, or
        ``initial_contacts_s`` that are not finite times inside it.

    References
    ----------
    See the module documentation (McCamley 2012, Paraschiv-Ionescu 2020, Moe-Nilssen &
    Helbostad 2004, Tura 2010, Zijlstra & Hof 2003).

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
    walk = _analyse(acc, fs, height, initial_contacts_s)
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


def gait_by_minute(
    acc_body_m_s2, fs_hz: float, *, sensor_height_m: float | None = None, minute_s: float = 60.0
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

    Returns
    -------
    list of dict
        One row per minute, keys :data:`MINUTE_KEYS`: ``minute`` (1, 2, ...), ``start_s``,
        ``end_s``, ``walking_s`` (time inside walking bouts, s), ``steps`` (initial contacts in
        the minute), ``cadence_steps_min``, ``step_time_s``, ``step_time_cv_pct``,
        ``stride_time_cv_pct`` (steps and strides that end in the minute), ``step_length_m`` and
        ``walking_speed_m_s`` (``None`` without a sensor height), ``pauses`` (gaps without steps of
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
    walk = _analyse(acc, fs, height)
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
        row["pauses"] = sum(1 for a, _b in pauses if lo <= a < hi)
        row["pause_s"] = float(sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in pauses))
        rows.append({key: row[key] for key in MINUTE_KEYS})
    return rows
