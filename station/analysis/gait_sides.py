"""Which side each step is on: steps are not strides, steps alternate sides and come at the step
period (the medio-lateral rules of initial-contact detection).

Item 3 of the method of :mod:`station.analysis.gait_contacts`, which calls these rules on each
walking bout (contacts as sample indices; the medio-lateral acceleration in m/s², either sign):

**Strides are not steps**: in a strongly asymmetric gait (a hemiparetic leg that loads the trunk
half as much) the weaker leg's steps may leave no lobe of their own, so one lobe per stride is
found. The medio-lateral acceleration swings once per stride: consecutive steps anti-correlate it,
events of one leg correlate it. When the detected events of a bout correlate it, every prominent
peak of the band (prominence :data:`~station.analysis.gait_band.MIN_STEP_PEAK_M_S2`) is taken
instead. **Steps alternate sides** (McCamley et al. 2012's left/right rule; Ullrich et al. 2021's
band :data:`SIDE_BAND_HZ`): the trunk sways toward the stance leg, so the medio-lateral
acceleration averaged over the step after a contact has the stance side's sign, and consecutive
steps have opposite signs. Two consecutive contacts on the same side are not two steps: when one
side is doubtful (:data:`SIDE_CONFIDENCE`: a contact inside a stance averages two stances) and
dropping it leaves one step, it is an extra contact and is dropped; when both are trusted, a step
between them was missed, and the band's peak nearest the sway's change of side between them is
taken back. **Steps come at the step period**: an interval between two trusted contacts that holds
three or more of the bout's median steps (rounded to the parity the two sides demand: odd apart on
opposite sides, even on the same side) has lost that many steps less one (a turn's or a shuffle's
weak steps in a row), and each is taken back at the band's peak within half a step of its place.
Each contact taken back this way must itself have a trusted side of the expected sign (the trunk
swayed onto that leg), so standing still inside a bout, which leaves no sway, gets no steps (the
single missed step above is sought only in intervals shorter than three median steps); a pause
longer than :data:`~station.analysis.gait_contacts.MAX_STEP_S` has ended the bout anyway. Only the
sign's alternation is used, never which side is left, so the mounting's sign and the walking
direction do not matter. McCamley reads the side from the yaw rate at the contact; the
medio-lateral acceleration over the step needs no gyroscope and, measured once on the shared
recordings' matched contacts, gives the reference's side for 100 % of the straight walks' and
94-100 % of the daily activities' contacts (per person), where the yaw rate at the contact gives
89-100 % and 66-90 %.

References
----------
McCamley J, Donati M, Grimpampi E, Mazzà C (2012) An enhanced estimate of initial contact and
final contact instants of time using lower trunk inertial sensor data. Gait Posture 36:316-318.
Ullrich M, Küderle A, Reggi L, Cereatti A, Eskofier BM, Kluge F (2021) Machine learning-based
distinction of left and right foot contacts in lower back inertial sensor gait data. Annu Int Conf
IEEE Eng Med Biol Soc 2021 (IEEE Xplore 9630653; as in mobgap ``LrcMcCamley``: 0.5-2 Hz, 4th order).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from .gait_band import FILTER_ORDER, MIN_STEP_S, STEP_TIME_RANGE
from .gait_regularity import _unbiased_autocorrelation

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


def _same_side(ml_band: np.ndarray, events: np.ndarray) -> bool:
    """Whether consecutive events repeat on the same side: the medio-lateral acceleration, which
    swings once per stride, is positively correlated at the events' interval (consecutive steps
    alternate sides and anti-correlate it)."""
    lag = int(np.median(np.diff(events)))
    x = ml_band[int(events[0]) : int(events[-1])]
    if lag < 2 or x.shape[0] < 3 * lag:
        return False
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
    ad = _unbiased_autocorrelation(x, step)
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
    back there; a pause longer than :data:`~station.analysis.gait_contacts.MAX_STEP_S` has already
    ended the bout. The caller applies it only to bouts whose sides are readable
    (:func:`_sides_alternate`); ``run`` and ``maxima`` are sample indices; returns the bout's
    contacts, increasing.
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
