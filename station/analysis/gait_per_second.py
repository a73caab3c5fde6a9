"""Bout cadence, stride length and walking speed the Mobilise-D way: per-step values made robust,
averaged per second, then per stride, then over the bout.

The station's own gait keys (:mod:`station.analysis.gait`, DESIGN.md §8) keep their clinical
definitions: cadence is the mean of 120 / stride time over the strides made of two single steps
(intervals that are not single steps are left out). In a bout with turns, hesitations and
shuffling, the steps the trunk signal resolves are uneven, and one missed or extra contact changes
a stride time by half. Mobilise-D's pipeline (Micó-Amigo et al. 2023; Kirk et al. 2024; mobgap,
Küderle et al. 2024) reports a bout's values through a robust per-second series instead, and its
published errors are computed from that series; this module gives the station the same
aggregation, written from the method's description:

1. One value per step (step time = interval to the next contact, or step length), the last step's
   value repeated for the last contact, so that every contact carries one.
2. **Hampel filter** (half-window 2 steps, 3 scaled median absolute deviations): a value further
   than 3 × 1.4826 × MAD from the median of its 5-step window is replaced by that median (Hampel
   1974; Pearson 2002). A missed contact (a doubled step time) or a split one is an outlier of its
   neighbours and is replaced instead of averaged in.
3. **Per second**: seconds are counted from the bout's first contact; each second ``[k, k + 1]``
   gets the mean of the filtered values of the contacts inside it; the per-second series is
   Hampel-filtered again; seconds without a contact are linearly interpolated between their
   neighbours when the gap is at most :data:`MAX_INTERPOLATION_GAP_S` seconds, else left
   undefined.
4. Cadence per second = 60 / step time per second; stride length per second = 2 × step length per
   second; walking speed per second = stride length × cadence / 120 (mobgap ``WsNaive``).
5. **Per stride** (contact ``i`` to contact ``i + 2``): the mean of the per-second values over the
   stride's time span (each second's value holds over ``[k, k + 1)``). Strides shorter than
   0.2 s or longer than 3 s, or shorter than 0.15 m, are left out (Mobilise-D's stride selection).
   A stride over an undefined second is left out of that measure.
6. **Bout** = the mean over its selected strides.

Everything is in seconds from the first contact of the bout, steps/min, m and m/s. No I/O.

References
----------
Hampel FR (1974) The influence curve and its role in robust estimation. J Am Stat Assoc
69:383-393. Pearson RK (2002) Outliers in process modeling and identification. IEEE Trans Control
Syst Technol 10:55-63.
Micó-Amigo ME, Bonci T, Paraschiv-Ionescu A, et al. (2023) Assessing real-world gait with digital
technology? Validation, insights and recommendations from the Mobilise-D consortium. J Neuroeng
Rehabil 20:78.
Kirk C, Küderle A, Micó-Amigo ME, et al. (2024) Mobilise-D insights to estimate real-world walking
speed in multiple conditions with a wearable device. Sci Rep 14:1754.
Küderle A, Ullrich M, Micó-Amigo ME, et al. (2024) mobgap: the Mobilise-D gait analysis pipeline
(github.com/mobilise-d/mobgap: ``CadFromIc``, ``SlZijlstra``, ``robust_step_para_to_sec``,
``naive_sec_paras_to_regions``, ``StrideSelection``).
"""

from __future__ import annotations

import math

import numpy as np

HAMPEL_HALF_WINDOW = 2
"""Half-window of the Hampel filter, in values (steps or seconds): 5 values in all (mobgap default)."""
HAMPEL_SIGMAS = 3.0
"""Outlier threshold of the Hampel filter, in scaled median absolute deviations."""
MAD_TO_SD = 1.4826
"""Scale from median absolute deviation to standard deviation for normally distributed values."""
MAX_INTERPOLATION_GAP_S = 3
"""Longest run of seconds without a contact that is interpolated, s (mobgap default; the
Mobilise-D break that ends a walking bout is 3 s)."""
STRIDE_TIME_RANGE_S = (0.2, 3.0)
"""Stride times kept for a bout's values, s (Mobilise-D stride selection)."""
MIN_STRIDE_LENGTH_M = 0.15
"""Shortest stride kept for a bout's values when stride lengths are known, m (Mobilise-D stride
selection)."""

BOUT_KEYS = ("strides", "cadence_steps_min", "stride_length_m", "walking_speed_m_s")
"""Keys of :func:`bout_measures_per_second`."""


def hampel_filter(values, half_window: int = HAMPEL_HALF_WINDOW, n_sigmas: float = HAMPEL_SIGMAS) -> np.ndarray:
    """Replace outliers by the median of their window (Hampel 1974).

    Parameters
    ----------
    values : array_like, shape (N,)
        Series in any unit; NaN marks a missing value (ignored in the windows, kept as NaN).
    half_window : int
        Values on each side of a value in its window (the window is truncated at the ends).
    n_sigmas : float
        A value further than ``n_sigmas × 1.4826 × MAD`` from its window's median is an outlier.

    Returns
    -------
    ndarray
        A copy of ``values`` with each outlier replaced by its window's median, same unit.

    Raises
    ------
    ValueError
        ``values`` not 1-D, ``half_window`` not a non-negative integer, ``n_sigmas`` not positive.

    Examples
    --------
    Step times of 0.5 s with one missed contact (a doubled step):

    >>> hampel_filter([0.5, 0.52, 0.49, 1.01, 0.5, 0.51, 0.5]).round(2).tolist()
    [0.5, 0.52, 0.49, 0.51, 0.5, 0.51, 0.5]
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {x.shape}")
    if isinstance(half_window, bool) or not isinstance(half_window, (int, np.integer)) or half_window < 0:
        raise ValueError(f"half_window must be a non-negative whole number of values, got {half_window!r}")
    if not (isinstance(n_sigmas, (int, float)) and math.isfinite(n_sigmas) and n_sigmas > 0):
        raise ValueError(f"n_sigmas must be a positive number, got {n_sigmas!r}")
    out = x.copy()
    n = x.shape[0]
    for i in range(n):
        if not np.isfinite(x[i]):
            continue
        window = x[max(0, i - half_window) : min(n, i + half_window + 1)]
        window = window[np.isfinite(window)]
        median = float(np.median(window))
        mad = float(np.median(np.abs(window - median)))
        if abs(x[i] - median) > n_sigmas * MAD_TO_SD * mad:
            out[i] = median
    return out


def _check_contacts(contacts_s) -> np.ndarray:
    t = np.asarray(contacts_s, dtype=np.float64)
    if t.ndim != 1 or not np.isfinite(t).all():
        raise ValueError("contacts_s must be a 1-D list of finite times in s")
    if t.size < 2:
        raise ValueError(f"a bout needs at least 2 initial contacts, got {t.size}")
    if np.any(np.diff(t) <= 0):
        raise ValueError("contacts_s must be strictly increasing (one time per initial contact)")
    return t - t[0]


def step_values_per_second(contacts_s, step_values, max_gap_s: int = MAX_INTERPOLATION_GAP_S) -> np.ndarray:
    """One robust value per second of a bout from one value per step (steps 1-3 of the module notes).

    Parameters
    ----------
    contacts_s : array_like, shape (N,)
        Initial contacts of one bout, s (any origin), strictly increasing, N ≥ 2.
    step_values : array_like, shape (N - 1,)
        One value per step (from contact ``i`` to ``i + 1``), any unit: step time in s, step
        length in m.
    max_gap_s : int
        Longest run of seconds without a contact that is interpolated, s.

    Returns
    -------
    ndarray, shape (floor(duration) + 1,)
        Value of each second ``k`` (``[k, k + 1]`` from the first contact), same unit as
        ``step_values``; NaN where undefined (a longer gap).

    Raises
    ------
    ValueError
        Contacts not increasing or fewer than 2, or ``step_values`` not one per step.

    Examples
    --------
    A step every 0.5 s for 6 s, one contact missed at 3.5 s:

    >>> t = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 4.5, 5.0, 5.5, 6.0]
    >>> step_values_per_second(t, np.diff(t)).round(2).tolist()
    [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    """
    t = _check_contacts(contacts_s)
    v = np.asarray(step_values, dtype=np.float64)
    if v.shape != (t.size - 1,):
        raise ValueError(f"step_values must hold one value per step: {t.size - 1} for {t.size} contacts, got {v.shape}")
    filtered = hampel_filter(np.append(v, v[-1]))
    n_seconds = int(math.floor(t[-1])) + 1
    starts = np.searchsorted(t, np.arange(n_seconds), side="left")
    ends = np.searchsorted(t, np.arange(n_seconds) + 1.0, side="right")
    per_second = np.full(n_seconds, np.nan)
    for k, (a, b) in enumerate(zip(starts, ends)):
        if b > a:
            per_second[k] = float(np.nanmean(filtered[a:b]))
    per_second = hampel_filter(per_second)
    known = np.flatnonzero(np.isfinite(per_second))
    for a, b in zip(known[:-1], known[1:]):
        if 1 < b - a <= max_gap_s + 1:
            per_second[a + 1 : b] = np.interp(np.arange(a + 1, b), [a, b], [per_second[a], per_second[b]])
    return per_second


def _span_mean(per_second: np.ndarray, a_s: float, b_s: float) -> float:
    """Mean of a per-second series (second k holds over [k, k + 1)) over the span [a_s, b_s]."""
    k0, k1 = int(math.floor(a_s)), min(int(math.ceil(b_s)), per_second.size)
    total = 0.0
    for k in range(k0, k1):
        overlap = min(b_s, k + 1.0) - max(a_s, float(k))
        if overlap > 0:
            if not np.isfinite(per_second[k]):
                return math.nan
            total += per_second[k] * overlap
    return total / (b_s - a_s)


def bout_measures_per_second(contacts_s, step_lengths_m=None) -> dict:
    """A walking bout's cadence, stride length and walking speed the Mobilise-D way (module notes).

    Parameters
    ----------
    contacts_s : array_like, shape (N,)
        Initial contacts of one bout, s, strictly increasing, N ≥ 2.
    step_lengths_m : array_like, shape (N - 1,), optional
        Length of each step, m (e.g. :func:`station.analysis.gait.pendulum_step_lengths`). Without
        it, stride length and walking speed are ``None``.

    Returns
    -------
    dict
        Keys :data:`BOUT_KEYS`: ``strides`` (selected strides, int), ``cadence_steps_min``,
        ``stride_length_m``, ``walking_speed_m_s`` (means over the selected strides; ``None`` when
        no stride is selected or the lengths are missing).

    Raises
    ------
    ValueError
        Contacts not increasing or fewer than 2, or ``step_lengths_m`` not one per step.

    References
    ----------
    Micó-Amigo et al. (2023) J Neuroeng Rehabil 20:78; Kirk et al. (2024) Sci Rep 14:1754; mobgap.

    Examples
    --------
    Ten seconds at 110 steps/min with 0.6 m steps, one contact missed in the middle:

    >>> t = np.arange(0, 10, 60 / 110)
    >>> t = np.delete(t, 9)
    >>> m = bout_measures_per_second(t, np.full(t.size - 1, 0.6))
    >>> round(m["cadence_steps_min"]), round(m["stride_length_m"], 2), round(m["walking_speed_m_s"], 2)
    (110, 1.2, 1.1)

    The station's own cadence leaves the doubled interval out too; a plain mean of 60 / step
    time would not:

    >>> round(float(np.mean(60 / np.diff(t))))
    107
    """
    t = _check_contacts(contacts_s)
    step_times = np.diff(t)
    cadence = 60.0 / step_values_per_second(t, step_times)
    stride_length = None
    if step_lengths_m is not None:
        lengths = np.asarray(step_lengths_m, dtype=np.float64)
        if lengths.shape != step_times.shape or not np.isfinite(lengths).all():
            raise ValueError(
                f"step_lengths_m must hold one finite length per step ({step_times.size}), got {lengths.shape}"
            )
        stride_length = 2.0 * step_values_per_second(t, lengths)
    lo, hi = STRIDE_TIME_RANGE_S
    spans = [(t[i], t[i + 2]) for i in range(t.size - 2) if lo <= t[i + 2] - t[i] <= hi]
    cad = np.array([_span_mean(cadence, a, b) for a, b in spans])
    out = {"strides": 0, "cadence_steps_min": None, "stride_length_m": None, "walking_speed_m_s": None}
    if stride_length is not None:
        sl = np.array([_span_mean(stride_length, a, b) for a, b in spans])
        speed = np.array([_span_mean(stride_length * cadence / 120.0, a, b) for a, b in spans])
        keep = ~(sl < MIN_STRIDE_LENGTH_M)  # NaN stays: an undefined length does not drop the stride's cadence
        cad, sl, speed = cad[keep], sl[keep], speed[keep]
        if np.isfinite(sl).any():
            out["stride_length_m"] = float(np.nanmean(sl))
            out["walking_speed_m_s"] = float(np.nanmean(speed))
    out["strides"] = int(cad.size)
    if np.isfinite(cad).any():
        out["cadence_steps_min"] = float(np.nanmean(cad))
    return out
