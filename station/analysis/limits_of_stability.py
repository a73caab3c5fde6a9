"""Limits of stability (LOS): the NeuroCom-style leaning test, measured from a COP (or COG) trace.

The patient stands on the plate and, on each go signal, leans toward one of eight targets
(``f, fr, r, br, b, bl, l, fl``: forward, forward-right, ... forward-left) as quickly and as far as
possible without stepping, and holds. This module measures each lean and the test as a whole; it
does no I/O and imports nothing else of the project but :mod:`.filters` (DESIGN.md §2).

Frame and angles
----------------
Positions are in the plate frame of DESIGN.md §4 (cm): +AP toward the toes, +ML toward the
person's right. The eight directions are unit vectors ``(ap, ml)`` in that frame: ``f`` = (1, 0),
``r`` = (0, 1), ``b`` = (-1, 0), ``l`` = (0, -1), the diagonals at 45° between them
(:data:`DIRECTION_VECTORS`).

The body is taken as an inverted pendulum pivoting at the ankles (Nashner's model behind the
NeuroCom measures): a horizontal displacement ``D`` (cm) of the COG from the start position is a
sway angle of ``atan(|D| / h)`` degrees in the direction of ``D``, with ``h`` the height of the COG
above the ankles, ``h = 0.5527 x body height`` (:data:`COG_HEIGHT_FRACTION`, the NeuroCom
convention as stated in the task; not verified against the NeuroCom manual, see below). The start
position is the mean position over the :data:`BASELINE_S` before the go signal (the ankles are not
at the plate centre, so the plate origin is not used). With a COP trace the angle is that of the
COP, which leads the COG during a lean; the measures are those of whatever trace is given.

Each trial's angle trace is split into its component toward the target (``on-axis``, degrees,
positive toward the target) and across it (``off-axis``). Velocities are first differences of the
on-axis angle (sample ``n`` holds ``(p[n+1] - p[n]) * fs``), after an optional zero-phase
Butterworth low-pass (:func:`.filters.lowpass_butterworth`, default :data:`DEFAULT_LOWPASS_HZ`)
that keeps sensor noise from triggering the onset. The filter is zero-phase, hence non-causal: on
a lean that starts abruptly (a ramp at 4 deg/s) it moves the detected onset 40 ms earlier; on a
smooth (minimum-jerk, 1.5 s) lean the reaction time, velocity and endpoint do not change at 10 ms,
0.001 deg/s and 0.01 % resolution. Pass ``lowpass_hz=None`` for the unfiltered definitions.

Measures (per direction)
------------------------
* ``los_reaction_time_s``: go signal -> movement onset, s. The onset is found in two steps, with
  ``v`` the on-axis velocity after the go and ``peak`` its maximum:

  1. *Detection*: sustained runs (at least :data:`ONSET_SUSTAIN_S`) where ``v`` is at or above
     ``max(10 % of peak, quiet floor)`` (:data:`ONSET_FRACTION`). The quiet floor is the velocity
     quiet stance reaches by chance, ``mean + 3 SD`` of the absolute on-axis velocity over the
     :data:`PRE_GO_S` before the go (:func:`quiet_velocity_floor_deg_s`; the baseline rule of
     onset detection, Hodges & Bui 1996, applied to velocity), capped at
     :data:`QUIET_FLOOR_MAX_FRACTION` of the peak so that an unquiet pre-go window cannot hide
     the lean. A velocity threshold held for a while is the usual movement-onset rule (Teasdale et
     al. 1993; Botzer & Karniel 2009), and an onset is only detectable once the movement is
     clearly larger than the noise (Oostwoud Wijdenes et al. 2014): on a slow lean 10 % of the
     peak is below what sway reaches, so 10 % alone read sway right after the go as the onset.
  2. *The primary movement*: each detected run is widened to its stretch of ``v >= 10 % of
     peak``; the primary movement is the first such stretch covering at least
     :data:`MAIN_MOVEMENT_FRACTION` of the largest one's on-axis distance (smaller ones are sway,
     or the COP's counter-movement before a lean). Its onset is the last crossing of 10 % of the
     peak before it, its end where ``v`` falls below 10 % of the peak.

  On a lean without sway both steps give the plain 10 %-of-peak onset. With sway, no lean is
  read as "moved before the go" by it; the onset of a lean whose velocity is comparable to the
  sway's is uncertain by the time the lean takes to outrun the sway (about ±0.5 s for a 1.5-2.5
  deg/s lean on 0.8 deg/s sway, tested). The NeuroCom manual defines the reaction time only as
  "time between the signal to move and the patient's first movement" and does not publish its
  threshold; the floor's 3 SD and the 25 % are our choices.
* ``los_movement_velocity_deg_s``: average on-axis velocity between 5 % and 95 % of the distance
  from the onset position to the endpoint, deg/s: ``0.9 x distance / (t95 - t5)``, crossing times
  linearly interpolated between samples (the NeuroCom definition as described in the task; the corpus searched held no
  primary source for the 5-95 % window, see below).
* ``los_endpoint_excursion_pct``: on-axis angle at the end of the primary movement (above), % of
  the direction's limit (the first movement toward the target, before any correction).
* ``los_max_excursion_pct``: largest on-axis angle during the trial, % of the limit.
* ``los_directional_control_pct``: ``(on - off) / on x 100`` along the path of the primary movement
  (onset -> endpoint), with ``on`` the progress toward the target (the on-axis distance covered,
  degrees; it only grows there, since the primary movement ends when the on-axis velocity drops
  below the threshold) and ``off`` the extraneous movement (the summed absolute off-axis steps,
  degrees). A straight lean toward the target scores 100 %; a straight lean at an angle ``a`` from
  the target direction scores ``100 x (1 - tan a)``; it can be negative.

Composite (key without suffix): the plain mean over the directions where the measure is defined.
NeuroCom's software reports a composite per measure, but its weighting could not be verified from
a primary source, so no weighting is invented.

Theoretical limits
------------------
Defaults (:data:`THEORETICAL_LIMITS_DEG`): 8° forward, 4.5° backward, 8° to each side, the
theoretical limits used by commercial LOS protocols (PhysioSensing, "Limits of Stability > The most
used protocol for balance assessment", 2024: "8° left, right and front, and 4.5° back", targets
from the height of the patient's centre of gravity); their sum, 12.5° front-to-back and 16° side to
side, is the "cone of stability" of the LOS literature (Nashner; e.g. Wikipedia "Limits of
stability"). The task quoted 8.5° forward: no source found says so, and 8.5 + 4.5 would not give
the 12.5° sagittal cone, so 8° is the default; any limits (from a clinician, or a previous test)
can be passed instead. Diagonal limits lie on the ellipse through the four cardinal limits
(semi-axes forward/backward and lateral), at 45°: ``1 / sqrt(cos²45/a² + sin²45/b²)`` (our choice,
stated; NeuroCom draws its diagonal targets on such an outline but does not publish the formula).

Quality checks
--------------
Pure functions returning a code or ``None``: :func:`check_stepping` (``"stepping"``: a COP jump
faster than a lean can move it, or one side of the plate unloaded), :func:`check_moved_before_go`
(``"moved_before_go"``: moving during the second before the go, or an onset sooner than a
visual reaction allows), :func:`check_no_movement` (``"no_movement"``), :func:`check_load_off_plate`
(``"load_off_plate"``). A trial with ``moved_before_go`` loses its reaction time only; any other
code makes all its measures undefined (``None``, never NaN, as :func:`.metrics.compute_metrics`).

What was verified
-----------------
Read in stored public pages: the 8°/4.5°/8° limits and targets from the COG height (PhysioSensing
2024); the 12.5° x 16° cone (Wikipedia, "Limits of stability"); the five NeuroCom variables and
their names (Lininger et al. 2018); Teasdale et al. 1993 as a reference for onset detection (cited
so in Oostwoud Wijdenes et al. 2014, doi:10.3758/s13428-013-0349-7, which also states that an
onset is detected only once the response is clearly larger than the noise); the velocity
threshold as the conventional onset rule (Botzer & Karniel 2009). Hodges & Bui 1996 (baseline
mean + k SD) is cited as commonly used, not read here. Not found, so taken as stated
in the task or chosen here and marked so: the 0.5527 COG-height factor, the 5-95 % window of the
movement velocity, NeuroCom's onset and endpoint thresholds and its composite weighting, the
diagonal limits, and the page-level content of Nashner 1997, Clark & Rose 2001 and Pickerill &
Harter 2011 (cited for the test and its variables as commonly used, not read here).

References
----------
Nashner LM (1997). Computerized dynamic posturography. In: Jacobson GP, Newman CW, Kartush JM (eds)
Handbook of Balance Function Testing. Singular, San Diego, pp 280-307.
NeuroCom International. Balance Master / SMART EquiTest System Operator's Manual: Limits of
Stability (reaction time, movement velocity, endpoint and maximum excursion, directional control).
Clark S, Rose DJ (2001). Evaluation of dynamic balance among community-dwelling older adult fallers:
a generalizability study of the limits of stability test. Arch Phys Med Rehabil 82(4):468-474.
Pickerill ML, Harter RA (2011). Validity and reliability of limits-of-stability testing: a
comparison of 2 postural stability evaluation devices. J Athl Train 46(6):600-606.
Lininger MR, Leahy TE, Haug EC, Bowman TG (2018). Test-retest reliability of the limits of stability
test performed by young adults using NeuroCom VSR Sport. Int J Sports Phys Ther 13(5):800-807.
Teasdale N, Bard C, Fleury M, Young DE, Proteau L (1993). Determining movement onsets from temporal
series. J Mot Behav 25(2):97-106.
Hodges PW, Bui BH (1996). A comparison of computer-based methods for the determination of onset of
muscle activity using surface electromyography. Electroencephalogr Clin Neurophysiol 101(6):511-519.
Botzer L, Karniel A (2009). A simple and accurate onset detection method for a measured bell-shaped
speed profile. Front Neurosci 3:61, doi:10.3389/neuro.20.002.2009.
Oostwoud Wijdenes L, Brenner E, Smeets JBJ (2014). Analysis of methods to determine the latency of
online movement adjustments. Behav Res Methods 46(3):782-794, doi:10.3758/s13428-013-0349-7.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from .filters import lowpass_butterworth

DIRECTIONS = ("f", "fr", "r", "br", "b", "bl", "l", "fl")
"""The eight target directions, clockwise from forward, seen from above."""
_H = math.sqrt(0.5)
DIRECTION_VECTORS: dict[str, tuple[float, float]] = {
    "f": (1.0, 0.0), "fr": (_H, _H), "r": (0.0, 1.0), "br": (-_H, _H),
    "b": (-1.0, 0.0), "bl": (-_H, -_H), "l": (0.0, -1.0), "fl": (_H, -_H),
}
"""Unit vector (ap, ml) of each direction in the plate frame (+AP toes, +ML right)."""

THEORETICAL_LIMITS_DEG = {"forward": 8.0, "backward": 4.5, "lateral": 8.0}
"""Theoretical limits of stability, degrees of sway about the ankles (module docstring)."""
COG_HEIGHT_FRACTION = 0.5527
"""Height of the centre of gravity above the ankles as a fraction of body height (NeuroCom)."""

MEASURES = (
    "los_reaction_time_s",
    "los_movement_velocity_deg_s",
    "los_endpoint_excursion_pct",
    "los_max_excursion_pct",
    "los_directional_control_pct",
)
"""The five measures; each is reported per direction (``_<dir>``) and as a composite (no suffix)."""
LOS_KEYS: tuple[str, ...] = tuple(
    key for measure in MEASURES for key in (measure, *(f"{measure}_{d}" for d in DIRECTIONS))
)
"""Every metric key, in output order: per measure the composite, then f, fr, ..., fl."""

TRIAL_DURATION_S = 8.0
"""Time allowed per lean after the go signal, s (8 s, as NeuroCom and PhysioSensing)."""
BASELINE_S = 0.5
"""The start position is the mean position over this long before the go, s."""
PRE_GO_S = 1.0
"""Moving during this long before the go counts as moving before the go, s."""
DEFAULT_LOWPASS_HZ = 5.0
"""Low-pass cut-off applied before differentiating, Hz (None in the call: no filter)."""
ONSET_FRACTION = 0.10
"""Onset threshold as a fraction of the trial's peak on-axis velocity."""
ONSET_SUSTAIN_S = 0.10
"""The on-axis velocity must stay above the threshold this long for an onset, s."""
QUIET_SD_K = 3.0
"""The onset threshold is at least the quiet-stance velocity before the go, mean + this many SD."""
QUIET_FLOOR_MAX_FRACTION = 0.5
"""The quiet-stance part of the threshold is capped at this fraction of the trial's peak on-axis
velocity (a pre-go window that was not quiet must not hide the lean itself)."""
MAIN_MOVEMENT_FRACTION = 0.25
"""The primary movement is the first sustained run toward the target covering at least this
fraction of the largest such run's on-axis distance (smaller runs are sway)."""
MIN_REACTION_S = 0.10
"""A reaction faster than this is an anticipation (moved before the go), s."""
MOVED_BEFORE_GO_DEG = 1.0
"""Largest angular distance from the start position allowed in the second before the go, deg."""
NO_MOVEMENT_PCT = 10.0
"""A trial whose maximum excursion stays below this % of the limit has no movement."""
STEP_JUMP_CM = 4.0
"""A COP displacement larger than this within :data:`STEP_JUMP_WINDOW_S` is a step, cm (80 cm/s:
faster than a whole-body lean moves the COP, as fast as a foot leaving the plate makes it jump)."""
STEP_JUMP_WINDOW_S = 0.05
"""Window of the COP jump test, s."""
ONE_SIDE_UNLOADED_PCT = 3.0
"""A side (left or right corners) carrying less than this % of the total load is unloaded: a foot off."""
LOAD_OFF_FRACTION = 0.7
"""Total force below this fraction of the trial's median total force: load off the plate."""
NOBODY_N = 50.0
"""A median total force below this (N) means nobody stands on the plate."""

QUALITY_CODES = ("stepping", "moved_before_go", "no_movement", "load_off_plate")


class LimitsOfStabilityError(ValueError):
    """The recording or the test description cannot be analysed; the message says why (one line)."""


# ----------------------------------------------------------------------------- limits and angles


def cog_height_cm(height_cm: float) -> float:
    """Height of the centre of gravity above the ankles, cm: ``0.5527 x body height``.

    Examples
    --------
    >>> round(cog_height_cm(175.0), 2)
    96.72
    """
    height = float(height_cm)
    if not (math.isfinite(height) and 50.0 <= height <= 250.0):
        raise LimitsOfStabilityError(f"body height must be between 50 and 250 cm, got {height_cm!r}")
    return COG_HEIGHT_FRACTION * height


def direction_limits_deg(
    forward_deg: float = THEORETICAL_LIMITS_DEG["forward"],
    backward_deg: float = THEORETICAL_LIMITS_DEG["backward"],
    lateral_deg: float = THEORETICAL_LIMITS_DEG["lateral"],
) -> dict[str, float]:
    """Limit of stability of each direction, degrees, from the cardinal limits.

    Cardinal directions take their limit; a diagonal takes the point at 45° of the ellipse whose
    semi-axes are the forward (or backward) and the lateral limit.

    Examples
    --------
    >>> limits = direction_limits_deg()
    >>> limits["f"], limits["b"], limits["r"], round(limits["br"], 3)
    (8.0, 4.5, 8.0, 5.547)
    """
    values = {"forward": forward_deg, "backward": backward_deg, "lateral": lateral_deg}
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value < 45):
            raise LimitsOfStabilityError(f"{name} limit must be between 0 and 45 degrees, got {value!r}")

    def diagonal(a: float, b: float) -> float:
        return 1.0 / math.sqrt(0.5 / a**2 + 0.5 / b**2)

    f, b, lat = float(forward_deg), float(backward_deg), float(lateral_deg)
    return {"f": f, "fr": diagonal(f, lat), "r": lat, "br": diagonal(b, lat),
            "b": b, "bl": diagonal(b, lat), "l": lat, "fl": diagonal(f, lat)}


def target_distance_cm(height_cm: float, limits_deg: Mapping[str, float] | None = None) -> dict[str, float]:
    """Distance of each target from the start position on the plate, cm: ``h x tan(limit)``.

    Examples
    --------
    >>> d = target_distance_cm(175.0)
    >>> round(d["f"], 2), round(d["b"], 2)
    (13.59, 7.61)
    """
    h = cog_height_cm(height_cm)
    limits = _limits(limits_deg)
    return {d: h * math.tan(math.radians(limits[d])) for d in DIRECTIONS}


def sway_angle_deg(ap_cm, ml_cm, cog_height: float) -> np.ndarray:
    """Sway angle about the ankles of a horizontal displacement, degrees, shape (2, N): (ap, ml).

    The angle's size is ``atan(|D| / h)`` and its direction that of the displacement ``D`` (cm),
    ``h`` the COG height in cm (:func:`cog_height_cm`).

    Examples
    --------
    >>> a = sway_angle_deg([0.0, 10.0], [0.0, 0.0], 100.0)
    >>> round(float(a[0, 1]), 4), float(a[1, 1])
    (5.7106, 0.0)
    """
    ap = np.asarray(ap_cm, dtype=np.float64)
    ml = np.asarray(ml_cm, dtype=np.float64)
    r = np.hypot(ap, ml)
    scale = np.divide(np.degrees(np.arctan2(r, cog_height)), r, out=np.full_like(r, 180.0 / math.pi / cog_height),
                      where=r > 0)
    return np.vstack((ap * scale, ml * scale))


# ----------------------------------------------------------------------------- quality checks


def check_stepping(ap_cm, ml_cm, fs_hz: float, corners_n=None) -> str | None:
    """``"stepping"`` if the COP jumps or one side of the plate is unloaded, else None.

    A jump is a COP displacement above :data:`STEP_JUMP_CM` within :data:`STEP_JUMP_WINDOW_S`;
    a side is unloaded when its two corners carry less than :data:`ONE_SIDE_UNLOADED_PCT` % of the
    total (corner forces ``(N, 4)`` FL, FR, BL, BR in N, or a mapping ``fl_n``... ``br_n``).

    Examples
    --------
    >>> ap = np.zeros(200); ap[100:] = 8.0          # the COP jumps 8 cm from one sample to the next
    >>> check_stepping(ap, np.zeros(200), 100.0), check_stepping(np.zeros(200), np.zeros(200), 100.0)
    ('stepping', None)
    """
    ap = np.asarray(ap_cm, dtype=np.float64)
    ml = np.asarray(ml_cm, dtype=np.float64)
    lag = max(1, int(round(STEP_JUMP_WINDOW_S * fs_hz)))
    if ap.size > 1:
        for k in range(1, min(lag, ap.size - 1) + 1):
            if np.any(np.hypot(ap[k:] - ap[:-k], ml[k:] - ml[:-k]) > STEP_JUMP_CM):
                return "stepping"
    corners = _corners(corners_n, ap.size)
    if corners is not None:
        total = corners.sum(axis=1)
        loaded = total > 0
        if loaded.any():
            left = 100.0 * (corners[loaded, 0] + corners[loaded, 2]) / total[loaded]
            if np.any(left < ONE_SIDE_UNLOADED_PCT) or np.any(left > 100.0 - ONE_SIDE_UNLOADED_PCT):
                return "stepping"
    return None


def check_moved_before_go(pre_go_angle_deg, reaction_time_s: float | None = None) -> str | None:
    """``"moved_before_go"`` if the body moved before the go, else None.

    Parameters
    ----------
    pre_go_angle_deg : array_like, shape (2, M)
        Sway angle (ap, ml) relative to the start position over the :data:`PRE_GO_S` before the go.
    reaction_time_s : float, optional
        The trial's reaction time; below :data:`MIN_REACTION_S` it is an anticipation.

    Examples
    --------
    >>> still = np.zeros((2, 100)); leaning = np.vstack((np.linspace(0, 2, 100), np.zeros(100)))
    >>> check_moved_before_go(still, 0.4), check_moved_before_go(leaning), check_moved_before_go(still, 0.05)
    (None, 'moved_before_go', 'moved_before_go')
    """
    angle = np.asarray(pre_go_angle_deg, dtype=np.float64)
    if angle.size and float(np.max(np.hypot(angle[0], angle[1]))) > MOVED_BEFORE_GO_DEG:
        return "moved_before_go"
    if reaction_time_s is not None and reaction_time_s < MIN_REACTION_S:
        return "moved_before_go"
    return None


def check_no_movement(max_excursion_pct: float | None) -> str | None:
    """``"no_movement"`` if the maximum excursion stays under :data:`NO_MOVEMENT_PCT` % of the limit.

    Examples
    --------
    >>> check_no_movement(4.0), check_no_movement(65.0)
    ('no_movement', None)
    """
    if max_excursion_pct is None or not math.isfinite(max_excursion_pct) or max_excursion_pct < NO_MOVEMENT_PCT:
        return "no_movement"
    return None


def check_load_off_plate(fz_n) -> str | None:
    """``"load_off_plate"`` if the total force drops below :data:`LOAD_OFF_FRACTION` of its median,
    or nobody stands on the plate (median below :data:`NOBODY_N` N).

    Examples
    --------
    >>> fz = np.full(300, 700.0); fz[150:200] = 350.0    # one foot off the plate for half a second
    >>> check_load_off_plate(fz), check_load_off_plate(np.full(300, 700.0))
    ('load_off_plate', None)
    """
    fz = np.asarray(fz_n, dtype=np.float64)
    if fz.size == 0:
        return None
    median = float(np.median(fz))
    if median < NOBODY_N or float(fz.min()) < LOAD_OFF_FRACTION * median:
        return "load_off_plate"
    return None


# ----------------------------------------------------------------------------- one lean


def _index_at(t: np.ndarray, time_s: float, fs_hz: float) -> int:
    """Index of the first sample at or after ``time_s`` (a sample within 1e-6 periods counts as at)."""
    return int(np.searchsorted(t, time_s - 1e-6 / fs_hz))


def _crossing_time(t: np.ndarray, p: np.ndarray, level: float) -> float:
    """First time p reaches ``level`` (p[0] < level <= max p), linearly interpolated."""
    k = int(np.argmax(p >= level))
    if k == 0:
        return float(t[0])
    p0, p1 = p[k - 1], p[k]
    return float(t[k - 1] + (t[k] - t[k - 1]) * (level - p0) / (p1 - p0))


def quiet_velocity_floor_deg_s(quiet_angle_deg, fs_hz: float) -> float:
    """Velocity that quiet stance reaches by chance, deg/s: ``mean + 3 SD`` of the absolute
    velocity of a still-standing angle trace (the baseline rule of movement-onset detection,
    Hodges & Bui 1996); 0 with fewer than 3 samples.

    Parameters
    ----------
    quiet_angle_deg : array_like, shape (M,)
        An angle trace (degrees) while standing still, e.g. the on-axis angle before the go.
    fs_hz : float
        Sample rate, Hz.

    Examples
    --------
    >>> t = np.arange(0, 1, 0.01)
    >>> round(quiet_velocity_floor_deg_s(0.1 * np.sin(2 * np.pi * t), 100.0), 3)   # peak 0.628 deg/s
    0.976
    >>> quiet_velocity_floor_deg_s(np.zeros(100), 100.0)
    0.0
    """
    p = np.asarray(quiet_angle_deg, dtype=np.float64)
    if p.size < 3:
        return 0.0
    speed = np.abs(np.diff(p)) * fs_hz
    return float(speed.mean() + QUIET_SD_K * speed.std())


def _sustained_runs(above: np.ndarray, sustain: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of True at least ``sustain`` long; ``end`` is the first False
    after the run (or the length)."""
    flags = np.concatenate(([False], above, [False])).astype(np.int8)
    edges = np.diff(flags)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends) if b - a >= sustain]


def _widen(above: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """The run of True in ``above`` holding ``[start, end)``: back to its first True, on to the
    first False after it (or the length)."""
    while start > 0 and above[start - 1]:
        start -= 1
    while end < above.size and above[end]:
        end += 1
    return start, end


def lean_measures(
    time_s,
    angle_deg,
    go_s: float,
    direction: str,
    limit_deg: float,
    fs_hz: float,
) -> dict[str, float | None]:
    """The five measures of one lean, from its sway-angle trace relative to the start position.

    Parameters
    ----------
    time_s : array_like, shape (N,)
        Sample times, s, uniform at ``fs_hz``, from the go (or before) to the end of the trial;
        the samples before the go (quiet stance, :data:`PRE_GO_S` in :func:`limits_of_stability`)
        set the onset threshold's quiet floor (:func:`quiet_velocity_floor_deg_s`).
    angle_deg : array_like, shape (2, N)
        Sway angle (ap, ml), degrees, relative to the start position (:func:`sway_angle_deg`),
        filtered as wanted.
    go_s : float
        Time of the go signal, s.
    direction : str
        One of :data:`DIRECTIONS`.
    limit_deg : float
        The direction's limit of stability, degrees (100 % of the excursions).
    fs_hz : float
        Sample rate, Hz.

    Returns
    -------
    dict
        ``reaction_time_s``, ``movement_velocity_deg_s``, ``endpoint_excursion_pct``,
        ``max_excursion_pct``, ``directional_control_pct`` and ``onset_s``, ``endpoint_s``; None
        where undefined (no movement toward the target).

    Examples
    --------
    A lean forward starting 0.3 s after the go at 4 deg/s, stopping at 6 deg (75 % of 8 deg):

    >>> fs = 100.0
    >>> t = np.arange(0, 8, 1 / fs)
    >>> p = np.clip((t - 0.3) * 4.0, 0.0, 6.0)
    >>> m = lean_measures(t, np.vstack((p, np.zeros_like(p))), 0.0, "f", 8.0, fs)
    >>> round(m["reaction_time_s"], 3), round(m["movement_velocity_deg_s"], 3)
    (0.3, 4.0)
    >>> round(m["endpoint_excursion_pct"], 3), round(m["max_excursion_pct"], 3), m["directional_control_pct"]
    (75.0, 75.0, 100.0)
    """
    t = np.asarray(time_s, dtype=np.float64)
    angle = np.asarray(angle_deg, dtype=np.float64)
    if direction not in DIRECTION_VECTORS:
        raise LimitsOfStabilityError(f"unknown direction {direction!r}; use one of {', '.join(DIRECTIONS)}")
    u_ap, u_ml = DIRECTION_VECTORS[direction]
    on = angle[0] * u_ap + angle[1] * u_ml
    off = -angle[0] * u_ml + angle[1] * u_ap
    undefined = dict.fromkeys(("reaction_time_s", "movement_velocity_deg_s", "endpoint_excursion_pct",
                               "max_excursion_pct", "directional_control_pct", "onset_s", "endpoint_s"))
    n_go = _index_at(t, go_s, fs_hz)
    if t.size - n_go < 3:
        return undefined
    after = on[n_go:]
    result = dict(undefined)
    result["max_excursion_pct"] = 100.0 * float(after.max()) / limit_deg
    v = np.diff(after) * fs_hz  # v[k]: from sample n_go + k to n_go + k + 1
    peak = float(v.max())
    if not peak > 0:
        return result
    low = ONSET_FRACTION * peak
    quiet = min(quiet_velocity_floor_deg_s(on[: n_go + 1], fs_hz), QUIET_FLOOR_MAX_FRACTION * peak)
    runs = _sustained_runs(v >= max(low, quiet), max(1, int(round(ONSET_SUSTAIN_S * fs_hz))))
    if not runs:
        return result
    movements = sorted({_widen(v >= low, a, b) for a, b in runs})
    progress = [float(after[b] - after[a]) for a, b in movements]
    k0, k1 = movements[next(i for i, gain in enumerate(progress) if gain >= MAIN_MOVEMENT_FRACTION * max(progress))]
    n0, n1 = n_go + k0, n_go + k1
    result["onset_s"] = float(t[n0])
    result["endpoint_s"] = float(t[n1])
    result["reaction_time_s"] = float(t[n0] - go_s)
    endpoint = float(on[n1])
    result["endpoint_excursion_pct"] = 100.0 * endpoint / limit_deg
    start = float(on[n0])
    distance = endpoint - start
    if distance > 0:
        seg_t, seg_p = t[n0:n1 + 1], on[n0:n1 + 1]
        t5 = _crossing_time(seg_t, seg_p, start + 0.05 * distance)
        t95 = _crossing_time(seg_t, seg_p, start + 0.95 * distance)
        if t95 > t5:
            result["movement_velocity_deg_s"] = 0.9 * distance / (t95 - t5)
    d_on = np.diff(on[n0:n1 + 1])
    d_off = np.diff(off[n0:n1 + 1])
    toward = float(d_on.sum())
    extraneous = float(np.abs(d_off).sum())
    if toward > 0:
        result["directional_control_pct"] = 100.0 * (toward - extraneous) / toward
    return result


# ----------------------------------------------------------------------------- the whole test


def _limits(limits_deg: Mapping[str, float] | None) -> dict[str, float]:
    limits = direction_limits_deg()
    if limits_deg is None:
        return limits
    for d, value in limits_deg.items():
        if d not in DIRECTION_VECTORS:
            raise LimitsOfStabilityError(f"unknown direction {d!r} in the limits; use one of {', '.join(DIRECTIONS)}")
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value < 45):
            raise LimitsOfStabilityError(f"limit of direction {d} must be between 0 and 45 degrees, got {value!r}")
        limits[d] = float(value)
    return limits


def _corners(corners_n, n: int) -> np.ndarray | None:
    if corners_n is None:
        return None
    if isinstance(corners_n, Mapping):
        keys = ("fl_n", "fr_n", "bl_n", "br_n")
        missing = [k for k in keys if k not in corners_n]
        if missing:
            raise LimitsOfStabilityError(f"corner forces missing: {', '.join(missing)}")
        table = np.column_stack([np.asarray(corners_n[k], dtype=np.float64) for k in keys])
    else:
        table = np.asarray(corners_n, dtype=np.float64)
    if table.ndim != 2 or table.shape != (n, 4):
        raise LimitsOfStabilityError(f"corner forces must be {n} rows of FL, FR, BL, BR, got shape {table.shape}")
    if not np.isfinite(table).all():
        raise LimitsOfStabilityError("corner forces contain NaN or infinite values")
    return table


def _check_trace(time_s, ap_cm, ml_cm) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    t = np.asarray(time_s, dtype=np.float64)
    ap = np.asarray(ap_cm, dtype=np.float64)
    ml = np.asarray(ml_cm, dtype=np.float64)
    if t.ndim != 1 or ap.shape != t.shape or ml.shape != t.shape:
        raise LimitsOfStabilityError(
            f"time, AP and ML must be 1-D arrays of equal length, got shapes {t.shape}, {ap.shape}, {ml.shape}")
    if t.size < 10:
        raise LimitsOfStabilityError(f"recording too short: {t.size} samples")
    for name, x in (("time", t), ("AP", ap), ("ML", ml)):
        bad = ~np.isfinite(x)
        if bad.any():
            raise LimitsOfStabilityError(f"{name} contains NaN or infinite values (first at sample {int(np.argmax(bad))})")
    dt = np.diff(t)
    if np.any(dt <= 0):
        raise LimitsOfStabilityError(f"time must increase (it does not at sample {int(np.argmax(dt <= 0)) + 1})")
    period = float(np.median(dt))
    gap = np.abs(dt - period) > 0.25 * period
    if gap.any():
        k = int(np.argmax(gap))
        raise LimitsOfStabilityError(
            f"the recording is not uniformly sampled: {dt[k]:.4f} s between samples at {t[k]:.3f} s "
            f"(period {period:.4f} s); bridge or cut the gap first")
    return t, ap, ml, 1.0 / period


def limits_of_stability(
    time_s,
    ap_cm,
    ml_cm,
    go_times_s: Sequence[float],
    directions: Sequence[str],
    height_cm: float,
    *,
    limits_deg: Mapping[str, float] | None = None,
    fz_n=None,
    corners_n=None,
    trial_duration_s: float = TRIAL_DURATION_S,
    lowpass_hz: float | None = DEFAULT_LOWPASS_HZ,
) -> dict:
    """Limits-of-stability measures of a whole test: per direction and composite (module docstring).

    Parameters
    ----------
    time_s, ap_cm, ml_cm : array_like, shape (N,)
        Sample times (s, uniform) and the COP (or COG) in the plate frame (cm, DESIGN.md §4).
    go_times_s : sequence of float
        Time of each go signal, s, in the same clock as ``time_s``.
    directions : sequence of str
        Target direction of each go, one of :data:`DIRECTIONS`; each at most once.
    height_cm : float
        Body height, cm (COG height ``0.5527 x height``).
    limits_deg : mapping, optional
        Limits per direction in degrees replacing the theoretical ones (e.g. from a previous test).
    fz_n : array_like, optional
        Total vertical force, N, for the load-off-the-plate check (the sum of the corner forces
        when only those are given).
    corners_n : mapping or (N, 4) array, optional
        Corner forces FL, FR, BL, BR, N, for the one-side-unloaded part of the stepping check.
    trial_duration_s : float
        Time allowed per lean after its go, s (a lean also ends at the next go).
    lowpass_hz : float or None
        Zero-phase Butterworth low-pass (4th order) of the COP before the measures, Hz; None: none.

    Returns
    -------
    dict
        ``metrics`` (every key of :data:`LOS_KEYS`, float or None), ``quality`` (direction -> list of
        codes), ``trials`` (direction -> go, onset and endpoint times, s), ``limits_deg``,
        ``cog_height_cm``, ``fs_hz``.

    Raises
    ------
    LimitsOfStabilityError
        Mismatched, non-finite or non-uniform input, unknown or repeated directions, a go outside
        the recording, an implausible height or limit (one-line message).

    Examples
    --------
    Two leans of a 175 cm person, forward then right, each to 6 degrees at 4 deg/s after 0.3 s:

    >>> fs, h = 100.0, cog_height_cm(175.0)
    >>> t = np.arange(0, 20, 1 / fs)
    >>> lean = lambda go: np.clip((t - go - 0.3) * 4.0, 0, 6) - np.clip((t - go - 5) * 4.0, 0, 6)  # back from go + 5 s
    >>> ap = h * np.tan(np.radians(lean(2.0)))
    >>> ml = h * np.tan(np.radians(lean(11.0)))
    >>> out = limits_of_stability(t, ap, ml, [2.0, 11.0], ["f", "r"], 175.0, lowpass_hz=None)
    >>> m = out["metrics"]
    >>> round(m["los_reaction_time_s_f"], 3), round(m["los_movement_velocity_deg_s_r"], 3)
    (0.3, 4.0)
    >>> round(m["los_max_excursion_pct"], 3), m["los_directional_control_pct"], m["los_reaction_time_s_b"]
    (75.0, 100.0, None)
    >>> out["quality"]
    {'f': [], 'r': []}
    """
    t, ap, ml, fs = _check_trace(time_s, ap_cm, ml_cm)
    h = cog_height_cm(height_cm)
    limits = _limits(limits_deg)
    if isinstance(directions, str):
        raise LimitsOfStabilityError(f"directions must be a list with one direction per go, got the string {directions!r}")
    gos = [float(g) for g in go_times_s]
    dirs = list(directions)
    if len(gos) != len(dirs):
        raise LimitsOfStabilityError(f"{len(gos)} go times for {len(dirs)} directions; give one direction per go")
    for d in dirs:
        if d not in DIRECTION_VECTORS:
            raise LimitsOfStabilityError(f"unknown direction {d!r}; use one of {', '.join(DIRECTIONS)}")
    repeated = sorted({d for d in dirs if dirs.count(d) > 1})
    if repeated:
        raise LimitsOfStabilityError(f"direction {', '.join(repeated)} tested more than once; give each direction once")
    for g in gos:
        if not (math.isfinite(g) and t[0] < g < t[-1]):
            raise LimitsOfStabilityError(f"go signal at {g!r} s lies outside the recording ({t[0]:g}-{t[-1]:g} s)")
    if not (isinstance(trial_duration_s, (int, float)) and trial_duration_s > 0):
        raise LimitsOfStabilityError(f"trial duration must be a positive number of seconds, got {trial_duration_s!r}")
    fz = None if fz_n is None else np.asarray(fz_n, dtype=np.float64)
    if fz is not None and (fz.shape != t.shape or not np.isfinite(fz).all()):
        raise LimitsOfStabilityError(f"total force must be {t.size} finite values, got shape {fz.shape}")
    corners = _corners(corners_n, t.size)
    if fz is None and corners is not None:
        fz = corners.sum(axis=1)

    smooth_ap, smooth_ml = ap, ml
    if lowpass_hz is not None:
        try:
            smooth_ap, smooth_ml = lowpass_butterworth(np.vstack((ap, ml)), fs, lowpass_hz, 4, axis=-1)
        except ValueError as exc:
            raise LimitsOfStabilityError(str(exc)) from None

    order = np.argsort(gos)
    per_direction: dict[str, dict] = {}
    quality: dict[str, list[str]] = {}
    trials: dict[str, dict] = {}
    for rank, i in enumerate(order):
        go, d = gos[i], dirs[i]
        end = go + trial_duration_s
        if rank + 1 < len(order):
            end = min(end, gos[order[rank + 1]])
        n_pre = _index_at(t, go - PRE_GO_S, fs)
        n_base = _index_at(t, go - BASELINE_S, fs)
        n_go = _index_at(t, go, fs)
        n_end = int(np.searchsorted(t, end, side="right"))
        base = slice(n_base, n_go) if n_go > n_base else slice(n_go, n_go + 1)
        ap0, ml0 = float(smooth_ap[base].mean()), float(smooth_ml[base].mean())
        angle = sway_angle_deg(smooth_ap[n_pre:n_end] - ap0, smooth_ml[n_pre:n_end] - ml0, h)
        m = lean_measures(t[n_pre:n_end], angle, go, d, limits[d], fs)
        codes = []
        window = slice(n_pre, n_end)
        for code in (
            check_stepping(ap[window], ml[window], fs, None if corners is None else corners[window]),
            check_moved_before_go(angle[:, : n_go - n_pre], m["reaction_time_s"]),
            check_no_movement(m["max_excursion_pct"]),
            None if fz is None else check_load_off_plate(fz[window]),
        ):
            if code is not None:
                codes.append(code)
        if any(c != "moved_before_go" for c in codes):
            m = {k: None for k in m}
        elif codes:
            m["reaction_time_s"] = None
        per_direction[d] = m
        quality[d] = codes
        trials[d] = {"go_s": go, "onset_s": m["onset_s"], "endpoint_s": m["endpoint_s"]}

    metrics = combine_directions({d: {f"los_{field}": value for field, value in m.items()}
                                  for d, m in per_direction.items()})
    return {
        "fs_hz": fs,
        "cog_height_cm": h,
        "limits_deg": limits,
        "trials": {d: trials[d] for d in dirs},
        "quality": {d: quality[d] for d in dirs},
        "metrics": metrics,
    }


def combine_directions(per_direction: Mapping[str, Mapping[str, float | None]]) -> dict[str, float | None]:
    """Every key of :data:`LOS_KEYS` from the measures of each direction (leans measured apart,
    e.g. one trial per target): per direction as given, composite the plain mean over the
    directions where the measure is defined (module docstring); missing or non-finite: None.

    Parameters
    ----------
    per_direction : mapping
        Direction (:data:`DIRECTIONS`) -> measure name (:data:`MEASURES`, e.g.
        ``los_max_excursion_pct``) -> value or None.

    Examples
    --------
    >>> m = combine_directions({"f": {"los_max_excursion_pct": 80.0}, "b": {"los_max_excursion_pct": 60.0}})
    >>> m["los_max_excursion_pct"], m["los_max_excursion_pct_f"], m["los_max_excursion_pct_r"]
    (70.0, 80.0, None)
    >>> m["los_reaction_time_s"] is None
    True
    """
    for d in per_direction:
        if d not in DIRECTION_VECTORS:
            raise LimitsOfStabilityError(f"unknown direction {d!r}; use one of {', '.join(DIRECTIONS)}")
    metrics: dict[str, float | None] = {}
    for measure in MEASURES:
        values = []
        for d in DIRECTIONS:
            value = per_direction.get(d, {}).get(measure)
            value = float(value) if value is not None and math.isfinite(value) else None
            metrics[f"{measure}_{d}"] = value
            if value is not None:
                values.append(value)
        metrics[measure] = float(np.mean(values)) if values else None
    return {key: metrics[key] for key in LOS_KEYS}
